// take_snapshot and the grid_objects records (see snapshot.hpp).
#include "snapshot.hpp"

#include <algorithm>
#include <stdexcept>

namespace mettagrid {
namespace {

void fill_agent_rows(const EnvState& s, const GameParams& p, Snapshot& out) {
  const int A = p.num_agents, NI = p.num_items, F = out.num_columns;
  for (int a = 0; a < A; ++a) {
    int32_t* r = out.frame.data() + static_cast<size_t>(a) * F;
    r[kColType] = 0;
    r[kColRow] = s.a_row[a];
    r[kColCol] = s.a_col[a];
    r[kColOrientation] = s.a_orient[a];
    r[kColFrozen] = s.a_frozen[a];
    r[kColColor] = s.a_color[a];
    r[kColGlyph] = s.a_glyph[a];
    r[kColGroup] = p.groups[s.a_group[a]].id;
    r[kColAction] = s.a_last_action[a];
    r[kColActionArg] = s.a_last_arg[a];
    r[kColActionSuccess] = s.a_last_success[a];
    std::copy_n(s.inventory.data() + static_cast<size_t>(a) * NI, NI, r + kReplayFixed);
    out.positions[2 * a] = s.a_row[a];
    out.positions[2 * a + 1] = s.a_col[a];
    out.rewards[2 * a] = s.step_reward[a];
    out.rewards[2 * a + 1] = s.episode_reward[a];
  }
}

void fill_object_rows(const EnvState& s, const GameParams& p, Snapshot& out) {
  const int A = p.num_agents, NI = p.num_items, F = out.num_columns;
  for (int o = 0; o < out.num_objects; ++o) {
    const int team = s.o_team.empty() ? -1 : s.o_team[o];
    out.object_team[o] = team;
    out.object_team_id[o] = team >= 0 ? p.groups[team].id : -1;
    int32_t* r = out.frame.data() + static_cast<size_t>(A + o) * F;
    const ObjectTypeParams& ot = p.object_types[s.o_type[o]];
    r[kColType] = ot.type_id;
    r[kColRow] = s.o_row[o];
    r[kColCol] = s.o_col[o];
    r[kColGroup] = -1;
    const int c = s.o_conv[o];
    if (c < 0) continue;
    r[kColColor] = ot.color;
    r[kColConverting] = s.c_converting[c];
    r[kColCoolingDown] = s.c_cooling[c];
    r[kColConversionsStarted] = s.c_started[c];
    std::copy_n(s.c_out.data() + static_cast<size_t>(c) * NI, NI, r + kReplayFixed);
    std::copy_n(s.c_in.data() + static_cast<size_t>(c) * NI, NI, r + kReplayFixed + NI);
  }
}

ItemCounts item_counts(const GameParams& p, const int32_t* counts) {
  ItemCounts out;
  for (int i = 0; i < p.num_items; ++i)
    if (counts[i]) out.emplace_back(p.item_names[i], counts[i]);
  return out;
}

Record agent_record(const Snapshot& s, const GameParams& p, int a) {
  const int32_t* r = s.frame.data() + static_cast<size_t>(a) * s.num_columns;
  return {{"kind", std::string("agent")},
          {"type_name", std::string("agent")},
          {"type_id", 0},
          {"agent_id", a},
          {"row", r[kColRow]},
          {"col", r[kColCol]},
          {"layer", 0},
          {"group", r[kColGroup]},
          {"group_name", p.groups[s.agent_group[a]].name},
          {"orientation", r[kColOrientation]},
          {"frozen", r[kColFrozen]},
          {"color", r[kColColor]},
          {"glyph", r[kColGlyph]},
          {"inventory", item_counts(p, r + kReplayFixed)}};
}

Record object_record(const Snapshot& s, const GameParams& p, int o) {
  const int32_t* r = s.frame.data() + static_cast<size_t>(s.num_agents + o) * s.num_columns;
  const ObjectTypeParams& ot = p.object_types[s.object_type[o]];
  Record d = {{"kind", std::string(kObjectKindNames[static_cast<int>(ot.kind)])},
              {"type_name", ot.name},
              {"type_id", ot.type_id},
              {"object_id", o},
              {"row", r[kColRow]},
              {"col", r[kColCol]},
              {"layer", 1}};
  if (ot.kind != ObjectKind::Converter) return d;
  d.insert(d.end(), {{"color", r[kColColor]},
                     {"converting", r[kColConverting] != 0},
                     {"cooling_down", r[kColCoolingDown] != 0},
                     {"conversions_started", r[kColConversionsStarted]},
                     {"input", item_counts(p, r + kReplayFixed + p.num_items)},
                     {"output", item_counts(p, r + kReplayFixed)}});
  if (ot.alignable || ot.team_only) {
    const int team = s.object_team[o];
    d.insert(d.end(), {{"team", s.object_team_id[o]}, {"team_name", team >= 0 ? p.groups[team].name : std::string()}});
  }
  return d;
}

}  // namespace

std::vector<std::string> replay_columns(const GameParams& p) {
  std::vector<std::string> out(kReplayFixedColumns, kReplayFixedColumns + kReplayFixed);
  for (const std::string& item : p.item_names) out.push_back("inventory:" + item);
  for (const std::string& item : p.item_names) out.push_back("input:" + item);
  return out;
}

Snapshot take_snapshot(const GridEnv& env) {
  if (!env.started()) throw std::runtime_error("env " + std::to_string(env.env_index()) + " has not been reset yet");
  const EnvState& s = env.state();
  const GameParams& p = env.params();
  Snapshot out;
  out.num_agents = p.num_agents;
  out.num_objects = static_cast<int>(s.o_type.size());
  out.num_items = p.num_items;
  out.num_columns = kReplayFixed + 2 * p.num_items;
  out.current_step = s.current_step;
  out.episode_over = s.finished;
  out.agent_group = s.a_group;
  out.positions.resize(2 * static_cast<size_t>(p.num_agents));
  out.inventory = s.inventory;
  out.rewards.resize(2 * static_cast<size_t>(p.num_agents));
  out.episode_rewards = s.episode_reward;
  out.agent_stats = s.agent_stats;
  out.object_type = s.o_type;
  out.object_team.resize(out.num_objects);
  out.object_team_id.resize(out.num_objects);
  out.frame.assign(static_cast<size_t>(out.num_agents + out.num_objects) * out.num_columns, 0);
  out.building_stats = s.building_stats;
  out.game_stats = s.game_stats;
  fill_agent_rows(s, p, out);
  fill_object_rows(s, p, out);
  return out;
}

std::vector<Record> object_records(const Snapshot& s, const GameParams& p) {
  std::vector<Record> out;
  for (int a = 0; a < s.num_agents; ++a) out.push_back(agent_record(s, p, a));
  for (int o = 0; o < s.num_objects; ++o) out.push_back(object_record(s, p, o));
  return out;
}

}  // namespace mettagrid
