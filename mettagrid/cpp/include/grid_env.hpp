// One MettaGrid environment: state as flat arrays, step, reset, observations, rewards, stats.
//
// Contract (docs/mettagrid.md):
// * Layers: `agent_layer` holds agent index + 1, `object_layer` object index + 1 (0 = empty).
//   Both are padded by `pad` empty cells on every side so that the observation window
//   never needs a bounds check: cell (r, c) lives at (r + pad) * pw + (c + pad).
// * Buffers are borrowed from the caller (the VecEnv, which borrows them from Python) for
//   the duration of one call: `obs` (A, T, 3) uint8, `actions` (A, 2) int32, `rewards` (A,)
//   float32, `terminals`/`truncations` (A,) bytes 0/1. The env never keeps these pointers.
// * A step, in order: (1) clear rewards; (2) process building events due on this tick
//   (tick = current_step + 1); (3) agents act, in an order shuffled by the env's RNG,
//   higher priority first; inventory rewards and failure penalties accrue; (4) stat
//   rewards, then group sharing; (5) current_step advances, the episode ends at its step
//   limit; (6) observations are written; (7) a finished env stores an EpisodeResult and
//   resets at once (the observation buffer then shows the new episode); without
//   `auto_reset` it becomes *finished* instead: later steps only zero its rewards and
//   re-assert its dones, until reset() starts its next episode.
// * Teams (only in games with alignable or team_only object types): `o_team` holds each
//   object's owning group index (-1 neutral); `held` counts alignable objects per (group,
//   align slot). After the agents act in (3), each group's counts are added to its
//   `<group>/aligned.<type>.held` game stats and to every member's `aligned.<type>.held`.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "params.hpp"
#include "rng.hpp"

namespace mettagrid {

// Item counts held by buildings only grow by recipe amounts (up to INT32_MAX each, e.g. a mine
// without max_output over an unlimited episode): they stop at INT32_MAX instead of wrapping.
inline int32_t saturating_add(int32_t a, int64_t b) {
  const int64_t sum = static_cast<int64_t>(a) + b;
  return static_cast<int32_t>(sum > INT32_MAX ? INT32_MAX : sum);
}

// A validated map: cell codes, row-major (docs section 9).
struct MapData {
  int height = 0, width = 0;
  std::vector<int32_t> cells;
  // The game of the episodes played on this map (a curriculum task's rewards, objects,
  // max_steps...); null: the vector's own params. Its layout (agents, window, features,
  // actions) must equal the vector's: the Python side checks that before queueing it.
  std::shared_ptr<const GameParams> params;
};

// Checks codes and the agent count; throws std::invalid_argument.
std::shared_ptr<const MapData> make_map(const GameParams& p, int height, int width, const int32_t* cells);

struct EpisodeResult {
  int env_index = 0;
  int steps = 0;
  std::vector<float> episode_rewards;    // A
  std::vector<double> agent_stats;       // A * stat.count
  std::vector<double> building_stats;    // object_types.size() * building_stat_stride
  std::vector<double> game_stats;        // game_stat_names.size()
  std::vector<int> agent_groups;         // group ids
};

struct StepBuffers {
  uint8_t* obs = nullptr;
  const int32_t* actions = nullptr;
  float* rewards = nullptr;
  uint8_t* terminals = nullptr;
  uint8_t* truncations = nullptr;
};

enum class EventKind : uint8_t { Finish = 0, CooldownEnd = 1 };

struct Event {
  int64_t tick;
  int32_t converter;  // converter index (converters are numbered in object order)
  EventKind kind;
};

// The full mutable state of one env; copyable (a snapshot).
struct EnvState {
  Rng rng;
  int64_t episode = 0;        // episodes started so far by this env (k of the next one)
  int64_t current_step = 0;   // steps taken in this episode
  int64_t tick = 0;           // tick of the step in progress (current_step + 1), 0 at reset
  int64_t episode_limit = 0;  // step limit of this episode (0 = none)
  bool finished = false;      // episode over and not reset yet (only without auto_reset)
  uint8_t final_terminal = 0, final_truncation = 0;  // dones of the final step, while finished

  int height = 0, width = 0, pad = 0, pw = 0;
  std::vector<int32_t> agent_layer, object_layer;  // padded, see above
  std::vector<uint8_t> occupied;  // padded: 1 where either layer holds something (+16 bytes slack)

  // Agents (struct of arrays, size A; inventory A * num_items).
  std::vector<int32_t> a_row, a_col, a_frozen, a_group;  // a_group = index into groups
  std::vector<uint8_t> a_orient, a_color, a_glyph, a_last_action, a_last_arg;
  std::vector<uint8_t> a_last_success;  // 1 if the agent's action of the last step succeeded (replays)
  std::vector<int32_t> inventory;
  std::vector<float> step_reward, episode_reward;
  std::vector<float> stat_credit;  // A * max_stat_rewards
  std::vector<double> agent_stats;  // A * stat.count
  std::vector<std::vector<int32_t>> group_members;  // per group index

  // Objects (walls, blocks, converters), numbered in row-major map order.
  std::vector<int32_t> o_type, o_row, o_col, o_conv;  // o_conv = converter index or -1
  std::vector<int32_t> o_team;  // owning group index, -1 neutral (empty in games without teams)
  std::vector<int32_t> held;    // groups * alignable slots: objects of that type the group owns

  // Converters.
  std::vector<int32_t> c_obj, c_started;
  std::vector<int64_t> c_out_total;  // sum of the output inventory (each entry saturates at INT32_MAX)
  std::vector<uint8_t> c_converting, c_cooling, c_dirty;
  std::vector<int32_t> c_in, c_out;  // C * num_items
  std::vector<Event> events;         // min-heap by (tick, converter)

  std::vector<double> building_stats, game_stats;

  // Observation token cache per agent / object: little-endian words (0, feature, value, 0);
  // the writer ORs in the location byte and stores 3 of the 4 bytes.
  std::vector<uint32_t> agent_tok, obj_tok;
  std::vector<uint8_t> agent_tok_n, obj_tok_n;

  std::vector<int32_t> order;  // scratch: shuffled agent order
};

class GridEnv {
 public:
  GridEnv(const GameParams* params, int env_index, uint64_t seed);

  void set_map(std::shared_ptr<const MapData> map) { next_map_ = std::move(map); }
  bool has_map() const { return next_map_ != nullptr; }
  bool started() const { return s_.episode > 0; }
  bool episode_over() const { return s_.finished; }
  const MapData* next_map() const { return next_map_.get(); }

  // Starts a new episode and writes its first observation; clears rewards/terminals/truncations.
  void reset(const StepBuffers& b);
  // One step (see the header comment). Finished episodes are appended to finished().
  void step(const StepBuffers& b);

  std::vector<EpisodeResult>& finished() { return finished_; }
  const EnvState& state() const { return s_; }
  const GameParams& params() const { return *p_; }
  int env_index() const { return env_index_; }

 private:
  // grid_env.cpp: episode start (begin_episode runs these in order)
  void begin_episode();
  void seed_episode();
  void clear_layers(const MapData& m);
  void clear_agents();
  void clear_objects();
  void place_things(const MapData& m);
  void place_agent(int agent, int group, int r, int c);
  void place_object(int type, int team, int r, int c);
  int add_converter(int obj, const ObjectTypeParams& ot);  // returns the converter index
  void build_token_caches();
  // grid_env.cpp: the parts of a step, in order
  void repeat_final_step(const StepBuffers& b);
  void shuffle_order();
  void run_actions(const int32_t* actions);
  void apply_stat_and_group_rewards();
  void emit_rewards(float* rewards);
  bool advance(const StepBuffers& b);
  void end_episode(const StepBuffers& b);
  void record_episode();
  // grid_env.cpp: observations
  void write_observations(uint8_t* obs);
  void refresh_agent_tokens();
  void refresh_object_tokens(int obj);
  void occupied_window(int base, uint64_t sorted_bits[4]) const;
  int write_agent_observation(int a, uint8_t* out, uint8_t completion, int64_t& dropped);
  int cell(int r, int c) const { return (r + s_.pad) * s_.pw + (c + s_.pad); }
  bool in_bounds(int r, int c) const { return r >= 0 && c >= 0 && r < s_.height && c < s_.width; }
  // Adds `delta` (clamped to [0, limit]) to an agent's item; returns the applied change.
  int change_inventory(int agent, int item, int delta);
  double& agent_stat(int agent, int stat) { return s_.agent_stats[static_cast<size_t>(agent) * p_->stat.count + stat]; }

  // actions.cpp
  void act(int agent, int32_t action, int32_t arg);
  bool act_move(int agent, int arg);
  bool act_put(int agent);
  bool act_get(int agent);
  bool act_attack(int agent, int arg, const ActionParams& ap);
  bool act_swap(int agent);
  bool act_align(int agent, bool claim);  // claim: align (neutral -> own team); else scramble
  int front_converter(int agent) const;  // converter index in front of the agent, or -1
  bool may_use(int agent, int conv) const;  // team_only and use_required checks of put/get
  void add_held_stats();

  // converters.cpp
  void try_start(int conv);
  void process_events();
  void push_event(int64_t tick, int conv, EventKind kind);

  // The params of the episode in progress: the vector's, or those its map came with
  // (switched at reset only, so a step never sees two games).
  const GameParams* p_;
  const GameParams* const base_params_;
  const int env_index_;
  const uint64_t seed_;
  std::shared_ptr<const MapData> next_map_;
  std::shared_ptr<const MapData> map_;
  std::vector<int32_t> window_delta_;  // flat padded offsets of the window cells
  int agent_tok_stride_ = 0, obj_tok_stride_ = 0;  // in tokens
  EnvState s_;
  std::vector<EpisodeResult> finished_;
};

}  // namespace mettagrid
