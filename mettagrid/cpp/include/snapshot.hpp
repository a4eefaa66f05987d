// A copy of one env's state for inspection: tests, renderers, replays, scripted policies
// (never the hot path). `take_snapshot` fills plain flat arrays; every inspection getter of
// the binding reads one field of it and converts it generically (a vector and its shape ->
// numpy array, stat names + values -> dict of the non-zero entries, records -> dicts).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "grid_env.hpp"

namespace mettagrid {

// Columns of a replay frame: these fixed ones, then "inventory:<item>" per item (agents:
// inventory, converters: output inventory), then "input:<item>" per item (converters).
enum ReplayColumn : int {
  kColType, kColRow, kColCol, kColOrientation, kColFrozen, kColColor, kColGlyph, kColGroup,
  kColAction, kColActionArg, kColActionSuccess, kColConverting, kColCoolingDown, kColConversionsStarted,
  kReplayFixed
};
inline constexpr const char* kReplayFixedColumns[kReplayFixed] = {
    "type",   "row",        "col",            "orientation", "frozen",       "color",
    "glyph",  "group",      "action",         "action_arg",  "action_success", "converting",
    "cooling_down", "conversions_started"};

std::vector<std::string> replay_columns(const GameParams& p);

struct Snapshot {
  int num_agents = 0, num_objects = 0, num_items = 0, num_columns = 0;
  int64_t current_step = 0;
  bool episode_over = false;  // finished, waiting for reset (auto_reset off)

  // Agents (A).
  std::vector<int32_t> agent_group;    // A: index into params.groups
  std::vector<int32_t> positions;      // A x 2: row, col
  std::vector<int32_t> inventory;      // A x num_items
  std::vector<float> rewards;          // A x 2: last step, episode so far
  std::vector<float> episode_rewards;  // A
  std::vector<double> agent_stats;     // A x stat.count, named by params.agent_stat_names

  // Objects (O, object order: row-major map order at reset).
  std::vector<int32_t> object_type;     // O: index into params.object_types
  std::vector<int32_t> object_team;     // O: owner group index, -1 neutral (or no teams)
  std::vector<int32_t> object_team_id;  // O: owner group id, -1 neutral (or no teams)

  // One row per agent, then per object, one column per replay_columns(); fields a row lacks
  // are 0 (group: -1 for objects). Flat int32 so a replay recorder diffs whole frames.
  std::vector<int32_t> frame;  // (A + O) x num_columns

  std::vector<double> building_stats;  // named by params.building_stat_names
  std::vector<double> game_stats;      // named by params.game_stat_names
};

// Throws std::runtime_error if the env has not started an episode.
Snapshot take_snapshot(const GridEnv& env);

// One agent or object as named fields (grid_objects, docs/mettagrid-core-notes.md).
using ItemCounts = std::vector<std::pair<std::string, int32_t>>;  // non-zero items, item order
using FieldValue = std::variant<int32_t, bool, std::string, ItemCounts>;
using Record = std::vector<std::pair<const char*, FieldValue>>;

// Agents first (kind "agent"), then objects in object order.
std::vector<Record> object_records(const Snapshot& s, const GameParams& p);

}  // namespace mettagrid
