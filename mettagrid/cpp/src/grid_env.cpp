// GridEnv: reset, the step loop, rewards, observations and episode results.
#include "grid_env.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mettagrid {

namespace {

// Throws unless `code` is a valid cell code (docs section 9); returns true for an agent.
bool check_cell(const GameParams& p, int r, int c, int32_t code) {
  const int num_types = static_cast<int>(p.object_types.size());
  const int num_groups = static_cast<int>(p.groups.size());
  const std::string where = "map: cell (" + std::to_string(r) + ", " + std::to_string(c) + ") has code " + std::to_string(code);
  if (code > num_types && p.has_teams) {
    // An owned object: type k + kTeamCodeStride * (g + 1).
    const int k = code % kTeamCodeStride, g = code / kTeamCodeStride - 1;
    const bool teamed = k >= 1 && k <= num_types && (p.object_types[k - 1].alignable || p.object_types[k - 1].team_only);
    if (teamed && g < num_groups) return false;
    throw std::invalid_argument(where + ": not an object type with teams owned by a group");
  }
  if (code > num_types || code < -num_groups)
    throw std::invalid_argument(where + "; valid codes are " + std::to_string(-num_groups) + ".." + std::to_string(num_types));
  return code < 0;
}

}  // namespace

std::shared_ptr<const MapData> make_map(const GameParams& p, int height, int width, const int32_t* cells) {
  if (height < 1 || width < 1) throw std::invalid_argument("map: height and width must be >= 1");
  if (height > kMaxMapSide || width > kMaxMapSide)
    throw std::invalid_argument("map: at most " + std::to_string(kMaxMapSide) + " x " + std::to_string(kMaxMapSide) + " cells");
  auto m = std::make_shared<MapData>();
  m->height = height;
  m->width = width;
  m->cells.assign(cells, cells + static_cast<size_t>(height) * width);
  int agents = 0;
  for (int r = 0; r < height; ++r)
    for (int c = 0; c < width; ++c) agents += check_cell(p, r, c, m->cells[static_cast<size_t>(r) * width + c]);
  if (agents != p.num_agents)
    throw std::invalid_argument("map has " + std::to_string(agents) + " agents, expected num_agents = " +
                                std::to_string(p.num_agents));
  return m;
}

GridEnv::GridEnv(const GameParams* params, int env_index, uint64_t seed)
    : p_(params), base_params_(params), env_index_(env_index), seed_(seed) {
  agent_tok_stride_ = 6 + p_->num_items;
  obj_tok_stride_ = 3 + p_->num_items + (p_->has_teams ? 1 : 0);
}

// A new episode: seed, empty layers sized to the map, agents and objects placed from the map
// cells in row-major order, token caches built, converters started.
void GridEnv::begin_episode() {
  if (!next_map_) throw std::runtime_error("env " + std::to_string(env_index_) + " has no map; call set_map first");
  map_ = next_map_;
  p_ = map_->params ? map_->params.get() : base_params_;
  seed_episode();
  clear_layers(*map_);
  clear_agents();
  clear_objects();
  place_things(*map_);
  build_token_caches();
  for (size_t conv = 0; conv < s_.c_obj.size(); ++conv) try_start(static_cast<int>(conv));
}

void GridEnv::seed_episode() {
  EnvState& s = s_;
  s.rng.seed(mix_seed(seed_, static_cast<uint64_t>(env_index_), static_cast<uint64_t>(s.episode)));
  s.episode_limit = p_->max_steps;
  if (p_->desync_episodes && s.episode == 0 && p_->max_steps > 0)
    s.episode_limit = 1 + s.rng.below(static_cast<uint32_t>(p_->max_steps));
  ++s.episode;
  s.current_step = 0;
  s.tick = 0;
  s.finished = false;
  s.final_terminal = s.final_truncation = 0;
}

void GridEnv::clear_layers(const MapData& m) {
  EnvState& s = s_;
  s.height = m.height;
  s.width = m.width;
  s.pad = p_->obs_pad;
  s.pw = m.width + 2 * s.pad;
  const size_t padded = static_cast<size_t>(m.height + 2 * s.pad) * s.pw;
  s.agent_layer.assign(padded, 0);
  s.object_layer.assign(padded, 0);
  s.occupied.assign(padded + 16, 0);  // slack: the observation writer loads 16 bytes per window row
  window_delta_.resize(p_->window_dr.size());
  for (size_t k = 0; k < p_->window_dr.size(); ++k) window_delta_[k] = p_->window_dr[k] * s.pw + p_->window_dc[k];
}

void GridEnv::clear_agents() {
  EnvState& s = s_;
  const int A = p_->num_agents;
  s.a_row.assign(A, 0);
  s.a_col.assign(A, 0);
  s.a_frozen.assign(A, 0);
  s.a_group.assign(A, 0);
  s.a_orient.assign(A, 0);
  s.a_color.assign(A, 0);
  s.a_glyph.assign(A, 0);
  s.a_last_action.assign(A, 0);
  s.a_last_arg.assign(A, 0);
  s.a_last_success.assign(A, 0);
  s.inventory.assign(static_cast<size_t>(A) * p_->num_items, 0);
  s.step_reward.assign(A, 0.0f);
  s.episode_reward.assign(A, 0.0f);
  s.stat_credit.assign(static_cast<size_t>(A) * p_->max_stat_rewards, 0.0f);
  s.agent_stats.assign(static_cast<size_t>(A) * p_->stat.count, 0.0);
  s.group_members.assign(p_->groups.size(), {});
  s.order.resize(A);
}

void GridEnv::clear_objects() {
  EnvState& s = s_;
  s.o_type.clear();
  s.o_row.clear();
  s.o_col.clear();
  s.o_conv.clear();
  s.o_team.clear();
  s.held.assign(p_->groups.size() * p_->alignable_types.size(), 0);
  s.c_obj.clear();
  s.c_started.clear();
  s.c_out_total.clear();
  s.c_converting.clear();
  s.c_cooling.clear();
  s.c_dirty.clear();
  s.c_in.clear();
  s.c_out.clear();
  s.events.clear();
  s.building_stats.assign(p_->object_types.size() * p_->building_stat_stride, 0.0);
  s.game_stats.assign(p_->game_stat_names.size(), 0.0);
}

void GridEnv::place_things(const MapData& m) {
  int agent = 0;
  for (int r = 0; r < m.height; ++r) {
    for (int c = 0; c < m.width; ++c) {
      const int32_t code = m.cells[static_cast<size_t>(r) * m.width + c];
      if (code < 0)
        place_agent(agent++, -code - 1, r, c);
      else if (code > 0)
        place_object(code % kTeamCodeStride - 1, code / kTeamCodeStride - 1, r, c);
    }
  }
}

void GridEnv::place_agent(int agent, int g, int r, int c) {
  EnvState& s = s_;
  const GroupParams& gp = p_->groups[g];
  const int NI = p_->num_items;
  s.a_row[agent] = r;
  s.a_col[agent] = c;
  s.a_group[agent] = g;
  s.a_color[agent] = static_cast<uint8_t>(gp.color);
  for (int i = 0; i < NI; ++i)
    s.inventory[static_cast<size_t>(agent) * NI + i] = std::min(gp.initial_inventory[i], gp.resource_limits[i]);
  s.group_members[g].push_back(agent);
  s.agent_layer[cell(r, c)] = agent + 1;
  s.occupied[cell(r, c)] = 1;
}

void GridEnv::place_object(int t, int team, int r, int c) {
  EnvState& s = s_;
  const ObjectTypeParams& ot = p_->object_types[t];
  const int obj = static_cast<int>(s.o_type.size());
  s.o_type.push_back(t);
  s.o_row.push_back(r);
  s.o_col.push_back(c);
  s.o_conv.push_back(ot.kind == ObjectKind::Converter ? add_converter(obj, ot) : -1);
  if (p_->has_teams) {
    s.o_team.push_back(team);
    if (team >= 0 && ot.align_slot >= 0) ++s.held[team * p_->alignable_types.size() + ot.align_slot];
  }
  s.object_layer[cell(r, c)] = obj + 1;
  s.occupied[cell(r, c)] = 1;
  s.game_stats[t] += 1.0;
}

int GridEnv::add_converter(int obj, const ObjectTypeParams& ot) {
  EnvState& s = s_;
  const int NI = p_->num_items;
  const int conv = static_cast<int>(s.c_obj.size());
  s.c_obj.push_back(obj);
  s.c_started.push_back(0);
  s.c_converting.push_back(0);
  s.c_cooling.push_back(0);
  s.c_dirty.push_back(1);
  s.c_in.resize(s.c_in.size() + NI, 0);
  s.c_out.resize(s.c_out.size() + NI, 0);
  int64_t total = 0;
  for (const ItemAmount& o : ot.output) {
    int32_t& held = s.c_out[static_cast<size_t>(conv) * NI + o.item];
    const int32_t before = held;
    held = saturating_add(held, ot.initial_resource_count);
    total += held - before;
  }
  s.c_out_total.push_back(total);
  return conv;
}

// Static tokens of walls and blocks; converters are refreshed when dirty, agents every step.
void GridEnv::build_token_caches() {
  EnvState& s = s_;
  const size_t num_objects = s.o_type.size();
  s.obj_tok.assign(num_objects * obj_tok_stride_, 0);
  s.obj_tok_n.assign(num_objects, 0);
  for (size_t obj = 0; obj < num_objects; ++obj) refresh_object_tokens(static_cast<int>(obj));
  s.agent_tok.assign(static_cast<size_t>(p_->num_agents) * agent_tok_stride_, 0);
  s.agent_tok_n.assign(p_->num_agents, 0);
}

void GridEnv::reset(const StepBuffers& b) {
  begin_episode();
  const int A = p_->num_agents;
  std::fill(b.rewards, b.rewards + A, 0.0f);
  std::fill(b.terminals, b.terminals + A, 0);
  std::fill(b.truncations, b.truncations + A, 0);
  write_observations(b.obs);
}

int GridEnv::change_inventory(int agent, int item, int delta) {
  const GroupParams& gp = p_->groups[s_.a_group[agent]];
  int32_t& slot = s_.inventory[static_cast<size_t>(agent) * p_->num_items + item];
  const int old = slot;
  // In 64 bits: a building's stock (up to INT32_MAX) added to a full inventory must not wrap.
  int64_t wanted = static_cast<int64_t>(old) + delta;
  if (wanted < 0) wanted = 0;
  if (wanted > gp.resource_limits[item]) wanted = std::max(old, gp.resource_limits[item]);
  const int nv = static_cast<int>(wanted);
  if (nv == old) return 0;
  slot = nv;
  const float r = gp.inventory_rewards[item];
  if (r != 0.0f) {
    const float cap = gp.inventory_reward_max[item];
    s_.step_reward[agent] += std::min(nv * r, cap) - std::min(old * r, cap);
  }
  const int base = p_->stat.item_base + AgentStatLayout::kItemStride * item;
  if (nv > old)
    agent_stat(agent, base + AgentStatLayout::kGained) += nv - old;
  else
    agent_stat(agent, base + AgentStatLayout::kLost) += old - nv;
  return nv - old;
}

void GridEnv::apply_stat_and_group_rewards() {
  const int A = p_->num_agents;
  const int msr = p_->max_stat_rewards;
  for (int a = 0; a < A; ++a) {
    const GroupParams& gp = p_->groups[s_.a_group[a]];
    for (size_t j = 0; j < gp.stat_rewards.size(); ++j) {
      const StatReward& sr = gp.stat_rewards[j];
      const float v = std::min(static_cast<float>(agent_stat(a, sr.stat_index)) * sr.reward, sr.max);
      float& credit = s_.stat_credit[static_cast<size_t>(a) * msr + j];
      s_.step_reward[a] += v - credit;
      credit = v;
    }
  }
  for (size_t g = 0; g < p_->groups.size(); ++g) {
    const float pct = p_->groups[g].group_reward_pct;
    const auto& members = s_.group_members[g];
    if (pct == 0.0f || members.empty()) continue;
    float sum = 0.0f;
    for (int a : members) sum += s_.step_reward[a];
    const float share = pct * sum / static_cast<float>(members.size());
    for (int a : members) s_.step_reward[a] = (1.0f - pct) * s_.step_reward[a] + share;
  }
}

void GridEnv::step(const StepBuffers& b) {
  if (s_.finished) {
    repeat_final_step(b);
    return;
  }
  // (1) clear rewards; (2) building events due on this tick.
  std::fill(s_.step_reward.begin(), s_.step_reward.end(), 0.0f);
  s_.tick = s_.current_step + 1;
  process_events();
  // (3) agents act; held-building stats.
  shuffle_order();
  run_actions(b.actions);
  if (!p_->alignable_types.empty()) add_held_stats();
  // (4) stat rewards, group sharing; rewards out.
  if (p_->max_stat_rewards > 0 || p_->groups.size() > 0) apply_stat_and_group_rewards();
  emit_rewards(b.rewards);
  // (5) advance; episode end.
  const bool done = advance(b);
  // (6) observations.
  write_observations(b.obs);
  // (7) episode end: auto-reset, or stay finished until reset().
  if (done) end_episode(b);
}

// A finished env (auto_reset off) waits for reset(): its agents get no reward, keep their
// dones and their final observation.
void GridEnv::repeat_final_step(const StepBuffers& b) {
  const int A = p_->num_agents;
  std::fill(b.rewards, b.rewards + A, 0.0f);
  std::memset(b.terminals, s_.final_terminal, A);
  std::memset(b.truncations, s_.final_truncation, A);
}

// Fisher-Yates with the env's RNG, from the last index down.
void GridEnv::shuffle_order() {
  EnvState& s = s_;
  const int A = p_->num_agents;
  for (int a = 0; a < A; ++a) s.order[a] = a;
  for (int i = A - 1; i > 0; --i) {
    const int j = static_cast<int>(s.rng.below(static_cast<uint32_t>(i + 1)));
    std::swap(s.order[i], s.order[j]);
  }
}

// Agents act in the shuffled order, higher priority levels first.
void GridEnv::run_actions(const int32_t* actions) {
  const int A = p_->num_agents;
  const int NA = static_cast<int>(p_->actions.size());
  const int32_t* order = s_.order.data();
  if (p_->priority_levels.size() == 1) {
    for (int i = 0; i < A; ++i) {
      const int a = order[i];
      act(a, actions[2 * a], actions[2 * a + 1]);
    }
    return;
  }
  for (int level : p_->priority_levels) {
    for (int i = 0; i < A; ++i) {
      const int a = order[i];
      const int32_t id = actions[2 * a];
      const int prio = (id >= 0 && id < NA) ? p_->actions[id].priority : 0;
      if (prio == level) act(a, id, actions[2 * a + 1]);
    }
  }
}

void GridEnv::emit_rewards(float* rewards) {
  for (int a = 0; a < p_->num_agents; ++a) {
    const float r = s_.step_reward[a];
    rewards[a] = r;
    s_.episode_reward[a] += r;
    agent_stat(a, p_->stat.reward) += r;
  }
}

// current_step advances; returns true when the episode hits its step limit (dones written).
bool GridEnv::advance(const StepBuffers& b) {
  EnvState& s = s_;
  s.current_step = s.tick;
  const bool done = s.episode_limit > 0 && s.current_step >= s.episode_limit;
  s.final_terminal = done && p_->terminate_at_max_steps ? 1 : 0;
  s.final_truncation = done && !p_->terminate_at_max_steps ? 1 : 0;
  std::memset(b.terminals, s.final_terminal, p_->num_agents);
  std::memset(b.truncations, s.final_truncation, p_->num_agents);
  return done;
}

// Records the result; then starts the next episode (auto_reset) or stays finished.
void GridEnv::end_episode(const StepBuffers& b) {
  record_episode();
  if (p_->auto_reset) {
    begin_episode();
    write_observations(b.obs);
  } else {
    s_.finished = true;
  }
}

void GridEnv::add_held_stats() {
  const int slots = static_cast<int>(p_->alignable_types.size());
  for (size_t g = 0; g < p_->groups.size(); ++g) {
    for (int k = 0; k < slots; ++k) {
      const int32_t n = s_.held[g * slots + k];
      if (n == 0) continue;
      s_.game_stats[p_->game_stat_held_base + g * slots + k] += n;
      for (int a : s_.group_members[g]) agent_stat(a, p_->stat.align_base + 3 * k + 2) += n;
    }
  }
}

void GridEnv::record_episode() {
  EpisodeResult r;
  r.env_index = env_index_;
  r.steps = static_cast<int>(s_.current_step);
  r.episode_rewards = s_.episode_reward;
  r.agent_stats = s_.agent_stats;
  r.building_stats = s_.building_stats;
  r.game_stats = s_.game_stats;
  r.agent_groups.resize(p_->num_agents);
  for (int a = 0; a < p_->num_agents; ++a) r.agent_groups[a] = p_->groups[s_.a_group[a]].id;
  finished_.push_back(std::move(r));
}

// ---------------------------------------------------------------------------------------
// Observations.

namespace {

// Bit j set iff byte j of p[0..8) is non-zero (bytes are 0 or 1).
inline uint32_t row_mask8(const uint8_t* p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t x;
  std::memcpy(&x, p, 8);
  return static_cast<uint32_t>((x * 0x0102040810204080ULL) >> 56);
#else
  uint32_t m = 0;
  for (int j = 0; j < 8; ++j) m |= static_cast<uint32_t>(p[j] != 0) << j;
  return m;
#endif
}

inline int ctz32(uint32_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctz(x);
#else
  int n = 0;
  while (!(x & 1u)) x >>= 1, ++n;
  return n;
#endif
}

inline int ctz64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctzll(x);
#else
  int n = 0;
  while (!(x & 1u)) x >>= 1, ++n;
  return n;
#endif
}

// A token without its location: bytes (0, feature, value, 0) in memory order.
inline uint32_t token_word(int feature, int value) {
  const uint8_t b[4] = {0, static_cast<uint8_t>(feature), static_cast<uint8_t>(value), 0};
  uint32_t w;
  std::memcpy(&w, b, 4);
  return w;
}

// Location byte as a word to OR into token_word (memory order byte 0).
inline uint32_t loc_word(uint8_t loc) {
  const uint8_t b[4] = {loc, 0, 0, 0};
  uint32_t w;
  std::memcpy(&w, b, 4);
  return w;
}

}  // namespace

void GridEnv::refresh_object_tokens(int obj) {
  EnvState& s = s_;
  const ObjectTypeParams& ot = p_->object_types[s.o_type[obj]];
  uint32_t* t = s.obj_tok.data() + static_cast<size_t>(obj) * obj_tok_stride_;
  int n = 0;
  auto put = [&](int f, int v) { t[n++] = token_word(f, v); };
  put(kFeatTypeId, ot.type_id);
  if (ot.kind == ObjectKind::Block) put(kFeatSwappable, 1);
  const int conv = s.o_conv[obj];
  if (conv >= 0) {
    if (s.c_converting[conv] || s.c_cooling[conv]) put(kFeatConverting, 1);
    const int32_t* out = s.c_out.data() + static_cast<size_t>(conv) * p_->num_items;
    for (int i = 0; i < p_->num_items; ++i)
      if (out[i] > 0) put(kFeatInv + i, std::min(out[i], 255));
    if (p_->has_teams && s.o_team[obj] >= 0) put(p_->feat_aligned, p_->groups[s.o_team[obj]].id);
    s.c_dirty[conv] = 0;
  }
  s.obj_tok_n[obj] = static_cast<uint8_t>(n);
}

void GridEnv::refresh_agent_tokens() {
  EnvState& s = s_;
  const int NI = p_->num_items;
  for (int a = 0; a < p_->num_agents; ++a) {
    uint32_t* t = s.agent_tok.data() + static_cast<size_t>(a) * agent_tok_stride_;
    int n = 0;
    auto put = [&](int f, int v) { t[n++] = token_word(f, v); };
    put(kFeatTypeId, 0);
    const int gid = p_->groups[s.a_group[a]].id;
    if (gid) put(kFeatGroup, gid);
    if (s.a_frozen[a]) put(kFeatFrozen, std::min(s.a_frozen[a], 255));
    if (s.a_orient[a]) put(kFeatOrientation, s.a_orient[a]);
    if (s.a_color[a]) put(kFeatColor, s.a_color[a]);
    if (s.a_glyph[a]) put(kFeatGlyph, s.a_glyph[a]);
    const int32_t* inv = s.inventory.data() + static_cast<size_t>(a) * NI;
    for (int i = 0; i < NI; ++i)
      if (inv[i] > 0) put(kFeatInv + i, std::min(inv[i], 255));
    s.agent_tok_n[a] = static_cast<uint8_t>(n);
  }
}

void GridEnv::write_observations(uint8_t* obs) {
  EnvState& s = s_;
  for (size_t conv = 0; conv < s.c_obj.size(); ++conv)
    if (s.c_dirty[conv]) refresh_object_tokens(s.c_obj[conv]);
  refresh_agent_tokens();
  const int T = p_->num_observation_tokens;
  const uint8_t completion =
      p_->max_steps > 0 ? static_cast<uint8_t>(std::min<int64_t>(255, 255 * s.current_step / p_->max_steps)) : 0;
  int64_t written = 0, dropped = 0;
  for (int a = 0; a < p_->num_agents; ++a)
    written += write_agent_observation(a, obs + static_cast<size_t>(a) * T * 3, completion, dropped);
  s.game_stats[p_->game_stat_tokens_written] += static_cast<double>(written);
  s.game_stats[p_->game_stat_tokens_dropped] += static_cast<double>(dropped);
}

// Occupied cells of the window centred on padded cell `base`, as a bit set over the sorted
// window order: each window row is scanned 8 cells at a time.
void GridEnv::occupied_window(int base, uint64_t sorted_bits[4]) const {
  const int oh = p_->obs_height, ow = p_->obs_width, pw = s_.pw;
  const uint32_t row_keep = (1u << ow) - 1;
  const uint8_t* ranks = p_->window_rank.data();
  const uint8_t* row_start = s_.occupied.data() + base - (oh / 2) * pw - ow / 2;
  for (int i = 0; i < oh; ++i, row_start += pw) {
    uint32_t m = row_mask8(row_start) | (ow > 8 ? row_mask8(row_start + 8) << 8 : 0u);
    m &= row_keep;
    const uint8_t* rank = ranks + i * ow;
    while (m) {
      const int j = ctz32(m);
      m &= m - 1;
      const int k = rank[j];
      sorted_bits[k >> 6] |= uint64_t{1} << (k & 63);
    }
  }
}

// One agent's T tokens: the 4 globals at the centre, then the tokens of the occupied window
// cells nearest first (agent before object), then 0xFF padding. Returns the tokens written;
// adds what did not fit to `dropped`.
int GridEnv::write_agent_observation(int a, uint8_t* out, uint8_t completion, int64_t& dropped) {
  const EnvState& s = s_;
  const int T = p_->num_observation_tokens;
  const int32_t* delta = window_delta_.data();
  const uint8_t* locs = p_->window_loc.data();
  const int32_t* alayer = s.agent_layer.data();
  const int32_t* olayer = s.object_layer.data();
  const uint32_t* atok = s.agent_tok.data();
  const uint32_t* otok = s.obj_tok.data();
  const uint8_t* atok_n = s.agent_tok_n.data();
  const uint8_t* otok_n = s.obj_tok_n.data();
  const int astride = agent_tok_stride_, ostride = obj_tok_stride_;
  // While n + max_cell < T, a whole cell fits with at least one slot to spare, so tokens can
  // be stored as 4-byte words (the 4th byte lands in the next slot and is overwritten later).
  const int max_cell = astride + ostride;
  int n = 0;
  const float rw = std::nearbyint(100.0f * s.step_reward[a]);
  const uint8_t last_reward = static_cast<uint8_t>(rw <= 0.0f ? 0.0f : (rw >= 255.0f ? 255.0f : rw));
  const uint32_t globals[4] = {token_word(kFeatEpisodeCompletion, completion),
                               token_word(kFeatLastAction, s.a_last_action[a]),
                               token_word(kFeatLastActionArg, s.a_last_arg[a]), token_word(kFeatLastReward, last_reward)};
  // Emits `cnt` tokens at `loc`, dropping what does not fit (the careful path).
  auto emit_checked = [&](uint32_t lw, const uint32_t* t, int cnt) {
    int fit = T - n;
    if (cnt > fit) {
      dropped += cnt - fit;
      cnt = fit;
    }
    for (int j = 0; j < cnt; ++j) {
      const uint32_t w = t[j] | lw;
      uint8_t b[4];
      std::memcpy(b, &w, 4);
      out[3 * (n + j)] = b[0];
      out[3 * (n + j) + 1] = b[1];
      out[3 * (n + j) + 2] = b[2];
    }
    n += cnt;
  };
  auto emit_fast = [&](uint32_t lw, const uint32_t* t, int cnt) {
    uint8_t* o = out + 3 * n;
    for (int j = 0; j < cnt; ++j) {
      const uint32_t w = t[j] | lw;
      std::memcpy(o + 3 * j, &w, 4);
    }
    n += cnt;
  };
  emit_checked(loc_word(p_->center_loc), globals, 4);
  const int base = cell(s.a_row[a], s.a_col[a]);
  uint64_t sorted_bits[4] = {0, 0, 0, 0};
  occupied_window(base, sorted_bits);
  for (int w = 0; w < 4; ++w) {
    uint64_t bits = sorted_bits[w];
    while (bits) {
      const int k = (w << 6) + ctz64(bits);
      bits &= bits - 1;
      const int c = base + delta[k];
      const int32_t ag = alayer[c];
      const int32_t ob = olayer[c];
      const uint32_t lw = loc_word(locs[k]);
      if (n + max_cell < T) {
        if (ag) emit_fast(lw, atok + static_cast<size_t>(ag - 1) * astride, atok_n[ag - 1]);
        if (ob) emit_fast(lw, otok + static_cast<size_t>(ob - 1) * ostride, otok_n[ob - 1]);
      } else {
        if (ag) emit_checked(lw, atok + static_cast<size_t>(ag - 1) * astride, atok_n[ag - 1]);
        if (ob) emit_checked(lw, otok + static_cast<size_t>(ob - 1) * ostride, otok_n[ob - 1]);
      }
    }
  }
  if (n < T) std::memset(out + 3 * n, 0xFF, static_cast<size_t>(3) * (T - n));
  return n;
}

}  // namespace mettagrid
