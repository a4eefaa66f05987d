// Immutable game parameters of the MettaGrid core.
//
// A GameParams is built once (from the compiled params dict in the Python binding, or in
// code by the standalone benchmark and tests), then `finalize_params` checks the core's
// invariants and fills the derived tables (stat layout, feature names, observation window
// offsets). After that it is shared read-only by every env of a VecEnv; nothing in it
// changes during a run. See docs/mettagrid.md section 9 for the meaning of every field.
//
// The names the core owns (actions and their arg ranges, object kinds, stat names) are
// defined here once and exported to Python by the binding; Python does not restate them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mettagrid {

// Actions in their canonical order (docs section 3). A trained policy's action head depends
// on it, so new actions are only ever appended.
enum class ActionKind : uint8_t {
  Noop, Move, Rotate, PutItems, GetItems, Attack, Swap, ChangeColor, ChangeGlyph, Align, Scramble
};
enum class ObjectKind : uint8_t { Wall, Block, Converter };

struct ActionInfo {
  const char* name;
  int max_arg;  // highest arg the handler reads; change_glyph: the cap (the game sets fewer glyphs)
};
// Indexed by ActionKind.
inline constexpr ActionInfo kActionInfo[] = {
    {"noop", 0}, {"move", 1},         {"rotate", 3},       {"put_items", 0}, {"get_items", 0}, {"attack", 8},
    {"swap", 0}, {"change_color", 3}, {"change_glyph", 255}, {"align", 0},   {"scramble", 0},
};
inline constexpr int kNumActionKinds = sizeof(kActionInfo) / sizeof(kActionInfo[0]);
// Indexed by ObjectKind.
inline constexpr const char* kObjectKindNames[] = {"wall", "block", "converter"};

// Name -> kind; throws std::invalid_argument for a name the core does not know.
ActionKind action_kind(const std::string& name);
ObjectKind object_kind(const std::string& name);

// Fixed observation feature ids (docs section 6); inventory features are kFeatInv + item.
enum Feature : uint8_t {
  kFeatTypeId = 0,
  kFeatGroup = 1,
  kFeatFrozen = 2,
  kFeatOrientation = 3,
  kFeatColor = 4,
  kFeatGlyph = 5,
  kFeatConverting = 6,
  kFeatSwappable = 7,
  kFeatEpisodeCompletion = 8,
  kFeatLastAction = 9,
  kFeatLastActionArg = 10,
  kFeatLastReward = 11,
  kFeatInv = 12,
};
// In games with teamed buildings, the feature "aligned" (the owning group's id, 1..255; group
// ids must then be >= 1) follows the inventory features: its id is kFeatInv + num_items
// (GameParams::feat_aligned).

// Ranges finalize_params enforces (docs/mettagrid-core-notes.md, "Params dict"). They keep every
// count, id and product the core computes inside its integer types: one-byte ids and token
// values, int32 counts (added with saturation), float rewards that stay finite.
inline constexpr int kMaxAgents = 1 << 16;            // per env
inline constexpr int kMaxObservationTokens = 4096;    // per agent (as the YAML schema)
inline constexpr int kMaxObsSize = 15;                // window side; the location byte holds 4 bits each
inline constexpr int kMaxGroups = 256;                // group ids are one byte
inline constexpr int kMaxObjectTypes = (1 << 16) - 1; // type codes below kTeamCodeStride
inline constexpr int kMaxPriority = 255;              // |priority|
inline constexpr int kMaxNumEnvs = 1 << 20;
inline constexpr int kMaxMapSide = 4096;
inline constexpr int kMaxThreads = 1024;
inline constexpr float kMaxReward = 1e6f;   // |reward per item or stat unit|, failure penalty
inline constexpr float kMaxRewardCap = 1e30f;  // |reward cap|; 1e30 is the schema's "no cap"

// A map cell code k + kTeamCodeStride * (g + 1) is an object of object_types[k - 1] owned by
// groups[g] at reset (only for object types with alignable or team_only set).
constexpr int32_t kTeamCodeStride = 1 << 16;

struct ItemAmount {
  int item = 0;    // index into item_names
  int amount = 0;  // > 0
};

struct ActionParams {
  std::string name;  // "noop", "move", ... (docs section 3)
  ActionKind kind = ActionKind::Noop;
  int max_arg = 0;   // args 0..max_arg are valid
  int priority = 0;  // higher runs first within a step
  std::vector<ItemAmount> required;  // must be held
  std::vector<ItemAmount> consumed;  // must be held, taken on success
  std::vector<ItemAmount> defense;   // attack only: the target loses these instead of freezing
  bool steal = true;                 // attack only: a frozen target's items move to the attacker
};

struct ObjectTypeParams {
  std::string name;
  int type_id = 1;  // value of the type_id feature (1..255; 0 is the agent)
  ObjectKind kind = ObjectKind::Wall;
  // Converter fields (ignored for walls and blocks).
  std::vector<ItemAmount> input;   // consumed when a conversion starts
  std::vector<ItemAmount> output;  // added to the output inventory when it finishes
  int max_output = -1;             // no start while output total >= max_output (-1: no cap)
  int max_conversions = -1;        // cap on started conversions (-1: none)
  int conversion_ticks = 1;        // ticks from start to finish (0 acts as 1)
  int cooldown = 0;                // ticks of rest after a finish
  int initial_resource_count = 0;  // of each output item, at reset
  int color = 0;
  // Teams (converters only). An object's team is a group index or -1 (neutral); it is set at
  // reset by the map cell code and changed by the align / scramble actions.
  bool alignable = false;  // align claims it when neutral, scramble makes it neutral
  bool team_only = false;  // put/get only by agents of its team (a neutral one: by nobody)
  std::vector<ItemAmount> use_required;  // put/get only by agents holding these (not consumed)
  int align_slot = -1;  // derived: index among the alignable types, or -1
};

struct StatReward {
  std::string stat;   // an agent stat name, e.g. "action.move.success"
  float reward = 0;   // per unit of the stat
  float max = 1e30f;  // cap on the credited total
  int stat_index = -1;  // filled by finalize_params
};

struct GroupParams {
  int id = 0;  // observed as agent:group and reported in agent_groups
  std::string name;
  float group_reward_pct = 0;
  int freeze_duration = 10;
  std::vector<int> resource_limits;            // per item
  std::vector<int> initial_inventory;          // per item
  std::vector<float> inventory_rewards;        // per item
  std::vector<float> inventory_reward_max;     // per item
  std::vector<StatReward> stat_rewards;
  float action_failure_penalty = 0;
  int color = 0;
};

// Index layout of the per-agent stat array (docs section 7), built by finalize_params.
struct AgentStatLayout {
  int action_base = 0;  // action a: success = action_base + 2a, failed = +1
  int invalid = 0;
  int item_base = 0;    // item i: item_base + kItemStride * i + one of the kItem* offsets
  int attack_hit = 0, attack_blocked = 0, attack_own_team = 0, attack_other_team = 0;
  int attacked_frozen = 0, attacked_blocked = 0, frozen_ticks = 0;
  int swap_block = 0, swap_agent = 0, reward = 0;
  int align_base = 0;  // alignable slot k: aligned = align_base + 3k, scrambled +1, held +2
  int count = 0;
  static constexpr int kItemStride = 6;
  static constexpr int kGained = 0, kLost = 1, kGet = 2, kPut = 3, kStolen = 4, kStolenFrom = 5;
};

struct GameParams {
  // ---- as given (docs section 9) ----
  int num_agents = 0;
  int obs_width = 11, obs_height = 11, num_observation_tokens = 200;
  int max_steps = 1000;  // 0 = no limit
  bool terminate_at_max_steps = false;
  bool desync_episodes = false;
  // true: a finished env records its result and starts its next episode inside step().
  // false: it records its result, keeps its final step in the buffers and stays finished
  // (step() leaves it alone) until VecEnv::reset_env / reset.
  bool auto_reset = true;
  std::vector<std::string> item_names;
  std::vector<ActionParams> actions;  // canonical order, enabled only
  int color_step = 16;
  std::vector<ObjectTypeParams> object_types;  // cell code k > 0 -> object_types[k - 1]
  std::vector<GroupParams> groups;             // cell code -(g + 1) -> groups[g]

  // ---- derived by finalize_params ----
  int num_items = 0;
  AgentStatLayout stat;
  std::vector<std::string> agent_stat_names;     // stat.count entries
  int building_stat_stride = 0;                  // per object type: started, completed, produced[i], consumed[i]
  std::vector<std::string> building_stat_names;  // object_types.size() * building_stat_stride
  std::vector<std::string> game_stat_names;      // objects.<type>..., tokens.written, tokens.dropped
  int game_stat_tokens_written = 0, game_stat_tokens_dropped = 0;
  // Teams: set when some object type is alignable or team_only.
  bool has_teams = false;
  int feat_aligned = -1;               // feature id of "aligned", or -1
  std::vector<int> alignable_types;    // object type index per align slot
  int game_stat_held_base = 0;         // "<group>/aligned.<type>.held": base + g * slots + slot
  std::vector<std::string> feature_names;
  std::vector<std::string> action_names;
  std::vector<int> priority_levels;  // distinct action priorities (and 0), highest first
  int max_stat_rewards = 0;          // max over groups
  int obs_pad = 0;                   // max(obs_height, obs_width) / 2
  // Observation window cells sorted by (Manhattan distance, row, col).
  std::vector<int8_t> window_dr, window_dc;
  std::vector<uint8_t> window_loc;  // (row << 4) | col inside the window
  std::vector<uint8_t> window_rank;  // row-major window position -> index in the sorted order
  uint8_t center_loc = 0;
};

// Names of the per-agent stats (docs section 7), in stat-array order, and their layout.
// `alignable` are the names of the alignable object types.
AgentStatLayout agent_stat_layout(const std::vector<std::string>& action_names,
                                  const std::vector<std::string>& item_names,
                                  const std::vector<std::string>& alignable, std::vector<std::string>& names);

// Checks every range and invariant of `p` (the table in docs/mettagrid-core-notes.md, "Params
// dict") and fills its derived fields. Throws std::invalid_argument (ValueError in Python) with
// one line naming the field and its allowed range. The Python schema (mettagrid/config.py)
// refuses such configs first, with the YAML key; these checks are what guard the core's memory
// for everything else (raw dicts from Python, the C++ bench and tests, the fuzz run).
void finalize_params(GameParams& p);

}  // namespace mettagrid
