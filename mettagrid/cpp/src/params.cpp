// GameParams: the core's invariant checks and the derived tables (stat layout, features,
// window). finalize_params runs each step below once, in order.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>

#include "params.hpp"

namespace mettagrid {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::invalid_argument("params" + where + ": " + what);
}

std::string key(const std::string& k) { return "[\"" + k + "\"]"; }
std::string idx(size_t i) { return "[" + std::to_string(i) + "]"; }

// Every range message has the same shape: `params[...]: must be in [lo, hi], got v`.
void check_int(long long v, long long lo, long long hi, const std::string& where) {
  if (v < lo || v > hi)
    fail(where, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(v));
}

std::string show(float v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// NaN fails both comparisons, so it is refused with the infinities.
void check_float(float v, float lo, float hi, const std::string& where) {
  if (!(v >= lo && v <= hi)) fail(where, "must be a finite number in [" + show(lo) + ", " + show(hi) + "], got " + show(v));
}

void check_name(const std::string& name, std::set<std::string>& seen, const std::string& where) {
  if (name.empty()) fail(where, "must not be empty");
  if (!seen.insert(name).second) fail(where, "duplicate name \"" + name + "\"");
}

void check_amounts(const std::vector<ItemAmount>& v, int num_items, const std::string& where) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].item < 0 || v[i].item >= num_items)
      fail(where + idx(i), "item id " + std::to_string(v[i].item) + " out of range [0, " +
                               std::to_string(num_items) + ")");
    check_int(v[i].amount, 0, INT32_MAX, where + idx(i) + "[1]");
  }
}

void check_sizes(const GameParams& p) {
  check_int(p.num_agents, 1, kMaxAgents, key("num_agents"));
  for (const auto& [name, v] : {std::pair<const char*, int>{"obs_width", p.obs_width}, {"obs_height", p.obs_height}})
    if (v < 1 || v > kMaxObsSize || v % 2 == 0)
      fail(key(name), "must be odd and in [1, " + std::to_string(kMaxObsSize) + "], got " + std::to_string(v));
  check_int(p.num_observation_tokens, 1, kMaxObservationTokens, key("num_observation_tokens"));
  check_int(p.max_steps, 0, INT32_MAX, key("max_steps"));
  check_int(p.color_step, 0, 255, key("color_step"));
  if (p.item_names.size() > static_cast<size_t>(255 - kFeatInv)) fail(key("item_names"), "too many items (at most 243)");
  std::set<std::string> seen;
  for (size_t i = 0; i < p.item_names.size(); ++i) check_name(p.item_names[i], seen, key("item_names") + idx(i));
}

void check_actions(const GameParams& p) {
  std::set<std::string> seen;
  for (size_t a = 0; a < p.actions.size(); ++a) {
    const ActionParams& ap = p.actions[a];
    const std::string where = key("actions") + idx(a);
    check_name(ap.name, seen, where + key("name"));
    // The handler of each kind reads args up to its cap (change_glyph stores the arg in a byte).
    check_int(ap.max_arg, 0, kActionInfo[static_cast<int>(ap.kind)].max_arg, where + key("max_arg"));
    check_int(ap.priority, -kMaxPriority, kMaxPriority, where + key("priority"));
    check_amounts(ap.required, p.num_items, where + key("required"));
    check_amounts(ap.consumed, p.num_items, where + key("consumed"));
    check_amounts(ap.defense, p.num_items, where + key("defense"));
  }
}

void check_object_types(const GameParams& p) {
  if (p.object_types.size() > static_cast<size_t>(kMaxObjectTypes))
    fail(key("object_types"), "too many object types (at most " + std::to_string(kMaxObjectTypes) + ")");
  std::set<std::string> seen;
  for (size_t t = 0; t < p.object_types.size(); ++t) {
    const ObjectTypeParams& ot = p.object_types[t];
    const std::string where = key("object_types") + idx(t);
    check_name(ot.name, seen, where + key("name"));
    check_int(ot.type_id, 1, 255, where + key("type_id"));
    check_int(ot.color, 0, 255, where + key("color"));
    check_amounts(ot.input, p.num_items, where + key("input"));
    check_amounts(ot.output, p.num_items, where + key("output"));
    check_int(ot.max_output, -1, INT32_MAX, where + key("max_output"));
    check_int(ot.max_conversions, -1, INT32_MAX, where + key("max_conversions"));
    check_int(ot.conversion_ticks, 0, INT32_MAX, where + key("conversion_ticks"));
    check_int(ot.cooldown, 0, INT32_MAX, where + key("cooldown"));
    check_int(ot.initial_resource_count, 0, INT32_MAX, where + key("initial_resource_count"));
    check_amounts(ot.use_required, p.num_items, where + key("use_required"));
    if ((ot.alignable || ot.team_only || !ot.use_required.empty()) && ot.kind != ObjectKind::Converter)
      fail(where, "alignable, team_only and use_required need kind converter");
  }
}

// Needs has_teams (derive_teams) for the id range.
void check_groups(const GameParams& p) {
  if (p.groups.empty()) fail(key("groups"), "at least one group is required");
  if (p.groups.size() > static_cast<size_t>(kMaxGroups))
    fail(key("groups"), "too many groups (at most " + std::to_string(kMaxGroups) + ")");
  const int ni = p.num_items;
  std::set<std::string> seen;
  for (size_t g = 0; g < p.groups.size(); ++g) {
    const GroupParams& gp = p.groups[g];
    const std::string where = key("groups") + idx(g);
    check_name(gp.name, seen, where + key("name"));
    if (p.has_teams && (gp.id < 1 || gp.id > 255))
      fail(where + key("id"), "must be in [1, 255] in a game with teams (it is the observed \"aligned\" value), got " +
                                  std::to_string(gp.id));
    check_int(gp.id, 0, 255, where + key("id"));  // observed as a one-byte feature value
    check_float(gp.group_reward_pct, 0.0f, 1.0f, where + key("group_reward_pct"));
    check_int(gp.freeze_duration, 0, INT32_MAX, where + key("freeze_duration"));
    auto check_len = [&](size_t n, const char* field) {
      if (n != static_cast<size_t>(ni))
        fail(where + key(field), "expected " + std::to_string(ni) + " entries (one per item), got " +
                                     std::to_string(n));
    };
    check_len(gp.resource_limits.size(), "resource_limits");
    check_len(gp.initial_inventory.size(), "initial_inventory");
    check_len(gp.inventory_rewards.size(), "inventory_rewards");
    check_len(gp.inventory_reward_max.size(), "inventory_reward_max");
    for (int i = 0; i < ni; ++i) {
      check_int(gp.resource_limits[i], 0, INT32_MAX, where + key("resource_limits") + idx(i));
      check_int(gp.initial_inventory[i], 0, INT32_MAX, where + key("initial_inventory") + idx(i));
      check_float(gp.inventory_rewards[i], -kMaxReward, kMaxReward, where + key("inventory_rewards") + idx(i));
      check_float(gp.inventory_reward_max[i], -kMaxRewardCap, kMaxRewardCap, where + key("inventory_reward_max") + idx(i));
    }
    for (size_t r = 0; r < gp.stat_rewards.size(); ++r) {
      const std::string at = where + key("stat_rewards") + idx(r);
      check_float(gp.stat_rewards[r].reward, -kMaxReward, kMaxReward, at + "[1]");
      check_float(gp.stat_rewards[r].max, -kMaxRewardCap, kMaxRewardCap, at + "[2]");
    }
    check_float(gp.action_failure_penalty, 0.0f, kMaxReward, where + key("action_failure_penalty"));
    check_int(gp.color, 0, 255, where + key("color"));
  }
}

void derive_action_tables(GameParams& p) {
  p.action_names.clear();
  p.priority_levels.assign(1, 0);
  for (const ActionParams& ap : p.actions) {
    p.action_names.push_back(ap.name);
    p.priority_levels.push_back(ap.priority);
  }
  std::sort(p.priority_levels.begin(), p.priority_levels.end(), std::greater<int>());
  p.priority_levels.erase(std::unique(p.priority_levels.begin(), p.priority_levels.end()), p.priority_levels.end());
}

// Which types are alignable (slots), whether the "aligned" feature exists.
void derive_teams(GameParams& p) {
  p.alignable_types.clear();
  p.has_teams = false;
  for (size_t t = 0; t < p.object_types.size(); ++t) {
    ObjectTypeParams& ot = p.object_types[t];
    ot.align_slot = -1;
    if (ot.alignable) {
      ot.align_slot = static_cast<int>(p.alignable_types.size());
      p.alignable_types.push_back(static_cast<int>(t));
    }
    p.has_teams |= ot.alignable || ot.team_only;
  }
  if (p.has_teams && p.num_items > 254 - kFeatInv)
    fail(key("item_names"), "too many items for a game with teams (at most 242)");
  p.feat_aligned = p.has_teams ? kFeatInv + p.num_items : -1;
}

// The agent stat table, and each group's stat rewards resolved to stat indices.
void derive_agent_stats(GameParams& p) {
  std::vector<std::string> alignable;
  for (int t : p.alignable_types) alignable.push_back(p.object_types[t].name);
  p.stat = agent_stat_layout(p.action_names, p.item_names, alignable, p.agent_stat_names);
  const std::vector<std::string>& names = p.agent_stat_names;
  p.max_stat_rewards = 0;
  for (size_t g = 0; g < p.groups.size(); ++g) {
    GroupParams& gp = p.groups[g];
    for (size_t r = 0; r < gp.stat_rewards.size(); ++r) {
      StatReward& sr = gp.stat_rewards[r];
      auto it = std::find(names.begin(), names.end(), sr.stat);
      if (it == names.end())
        fail(key("groups") + idx(g) + key("stat_rewards") + idx(r), "unknown agent stat \"" + sr.stat + "\"");
      sr.stat_index = static_cast<int>(it - names.begin());
      // The reward stat sums the rewards: rewarding it feeds each step's reward into the next,
      // which grows geometrically until the floats overflow.
      if (sr.stat_index == p.stat.reward)
        fail(key("groups") + idx(g) + key("stat_rewards") + idx(r), "the \"reward\" stat cannot be rewarded (feedback loop)");
    }
    p.max_stat_rewards = std::max(p.max_stat_rewards, static_cast<int>(gp.stat_rewards.size()));
  }
}

// Per object type: started, completed, produced[i], consumed[i]; then the game stats.
void derive_building_and_game_stats(GameParams& p) {
  p.building_stat_stride = 2 + 2 * p.num_items;
  p.building_stat_names.clear();
  for (const auto& ot : p.object_types) {
    p.building_stat_names.push_back(ot.name + ".conversions.started");
    p.building_stat_names.push_back(ot.name + ".conversions.completed");
    for (const auto& item : p.item_names) p.building_stat_names.push_back(ot.name + ".produced." + item);
    for (const auto& item : p.item_names) p.building_stat_names.push_back(ot.name + ".consumed." + item);
  }
  p.game_stat_names.clear();
  for (const auto& ot : p.object_types) p.game_stat_names.push_back("objects." + ot.name);
  p.game_stat_tokens_written = static_cast<int>(p.game_stat_names.size());
  p.game_stat_names.push_back("tokens.written");
  p.game_stat_tokens_dropped = static_cast<int>(p.game_stat_names.size());
  p.game_stat_names.push_back("tokens.dropped");
  p.game_stat_held_base = static_cast<int>(p.game_stat_names.size());
  for (const auto& gp : p.groups)
    for (int t : p.alignable_types) p.game_stat_names.push_back(gp.name + "/aligned." + p.object_types[t].name + ".held");
}

// Feature table (docs section 6).
void derive_feature_names(GameParams& p) {
  p.feature_names = {"type_id",        "agent:group",     "agent:frozen",
                     "agent:orientation", "agent:color", "agent:glyph",
                     "converting",     "swappable",       "episode_completion_pct",
                     "last_action",    "last_action_arg", "last_reward"};
  for (const auto& item : p.item_names) p.feature_names.push_back("inv:" + item);
  if (p.has_teams) p.feature_names.push_back("aligned");
}

// Observation window, sorted by (Manhattan distance, row, col).
void derive_observation_window(GameParams& p) {
  const int hr = p.obs_height / 2, hc = p.obs_width / 2;
  p.obs_pad = std::max(hr, hc);
  std::vector<std::tuple<int, int, int>> cells;
  for (int dr = -hr; dr <= hr; ++dr)
    for (int dc = -hc; dc <= hc; ++dc) cells.emplace_back(std::abs(dr) + std::abs(dc), dr, dc);
  std::sort(cells.begin(), cells.end());
  p.window_dr.clear();
  p.window_dc.clear();
  p.window_loc.clear();
  p.window_rank.assign(cells.size(), 0);
  for (const auto& [d, dr, dc] : cells) {
    (void)d;
    p.window_rank[(dr + hr) * p.obs_width + (dc + hc)] = static_cast<uint8_t>(p.window_dr.size());
    p.window_dr.push_back(static_cast<int8_t>(dr));
    p.window_dc.push_back(static_cast<int8_t>(dc));
    p.window_loc.push_back(static_cast<uint8_t>(((dr + hr) << 4) | (dc + hc)));
  }
  p.center_loc = static_cast<uint8_t>((hr << 4) | hc);
}

}  // namespace

ActionKind action_kind(const std::string& name) {
  for (int k = 0; k < kNumActionKinds; ++k)
    if (name == kActionInfo[k].name) return static_cast<ActionKind>(k);
  throw std::invalid_argument("unknown action \"" + name + "\"");
}

ObjectKind object_kind(const std::string& name) {
  for (int k = 0; k < 3; ++k)
    if (name == kObjectKindNames[k]) return static_cast<ObjectKind>(k);
  throw std::invalid_argument("unknown object kind \"" + name + "\" (expected wall, block or converter)");
}

AgentStatLayout agent_stat_layout(const std::vector<std::string>& action_names,
                                  const std::vector<std::string>& item_names,
                                  const std::vector<std::string>& alignable, std::vector<std::string>& names) {
  AgentStatLayout s;
  names.clear();
  s.action_base = 0;
  for (const auto& action : action_names) {
    names.push_back("action." + action + ".success");
    names.push_back("action." + action + ".failed");
  }
  s.invalid = static_cast<int>(names.size());
  names.push_back("action.invalid");
  s.item_base = static_cast<int>(names.size());
  for (const auto& item : item_names)
    for (const char* suffix : {".gained", ".lost", ".get", ".put", ".stolen", ".stolen_from"}) names.push_back(item + suffix);
  auto add = [&](const char* n) {
    names.push_back(n);
    return static_cast<int>(names.size()) - 1;
  };
  s.attack_hit = add("attack.hit");
  s.attack_blocked = add("attack.blocked");
  s.attack_own_team = add("attack.own_team");
  s.attack_other_team = add("attack.other_team");
  s.attacked_frozen = add("attacked.frozen");
  s.attacked_blocked = add("attacked.blocked");
  s.frozen_ticks = add("status.frozen.ticks");
  s.swap_block = add("swap.block");
  s.swap_agent = add("swap.agent");
  s.reward = add("reward");
  s.align_base = static_cast<int>(names.size());
  for (const auto& type : alignable) {
    names.push_back(type + ".aligned");
    names.push_back(type + ".scrambled");
    names.push_back("aligned." + type + ".held");
  }
  s.count = static_cast<int>(names.size());
  return s;
}

void finalize_params(GameParams& p) {
  p.num_items = static_cast<int>(p.item_names.size());
  check_sizes(p);
  check_actions(p);
  check_object_types(p);
  derive_action_tables(p);
  derive_teams(p);
  check_groups(p);
  derive_agent_stats(p);
  derive_building_and_game_stats(p);
  derive_feature_names(p);
  derive_observation_window(p);
}

}  // namespace mettagrid
