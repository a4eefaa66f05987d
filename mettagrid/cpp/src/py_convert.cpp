// The Python boundary (py_convert.hpp): params dict -> GameParams by plain pybind11 casts
// (the dict comes from mettagrid.config.compile_params, which has validated the config;
// nothing is re-checked here), buffer checks, and core data -> Python objects.
#include "py_convert.hpp"

#include <pybind11/stl.h>

#include <array>
#include <string>
#include <tuple>

namespace py = pybind11;

namespace mettagrid {
namespace {

template <typename T>
T get(const py::dict& d, const char* key) {
  return d[key].cast<T>();
}

// Every key of the compiled dict is required (its defaults live in the Python schema); the one
// exception is `auto_reset`, a run-time switch of the vector env rather than part of the game.
bool auto_reset(const py::dict& d) { return !d.contains("auto_reset") || d["auto_reset"].is_none() || d["auto_reset"].cast<bool>(); }

std::vector<ItemAmount> amounts(const py::dict& d, const char* key) {
  std::vector<ItemAmount> out;
  for (const auto& pair : get<std::vector<std::array<int, 2>>>(d, key)) out.push_back({pair[0], pair[1]});
  return out;
}

ActionParams action(const py::dict& a) {
  ActionParams ap;
  ap.name = get<std::string>(a, "name");
  ap.kind = action_kind(ap.name);
  ap.max_arg = get<int>(a, "max_arg");
  ap.priority = get<int>(a, "priority");
  ap.required = amounts(a, "required");
  ap.consumed = amounts(a, "consumed");
  ap.defense = amounts(a, "defense");
  ap.steal = get<bool>(a, "steal");
  return ap;
}

ObjectTypeParams object_type(const py::dict& o) {
  ObjectTypeParams ot;
  ot.name = get<std::string>(o, "name");
  ot.type_id = get<int>(o, "type_id");
  ot.kind = object_kind(get<std::string>(o, "kind"));
  ot.color = get<int>(o, "color");
  if (ot.kind != ObjectKind::Converter) return ot;
  ot.input = amounts(o, "input");
  ot.output = amounts(o, "output");
  ot.max_output = get<int>(o, "max_output");
  ot.max_conversions = get<int>(o, "max_conversions");
  ot.conversion_ticks = get<int>(o, "conversion_ticks");
  ot.cooldown = get<int>(o, "cooldown");
  ot.initial_resource_count = get<int>(o, "initial_resource_count");
  ot.alignable = get<bool>(o, "alignable");
  ot.team_only = get<bool>(o, "team_only");
  ot.use_required = amounts(o, "use_required");
  return ot;
}

GroupParams group(const py::dict& g) {
  GroupParams gp;
  gp.id = get<int>(g, "id");
  gp.name = get<std::string>(g, "name");
  gp.group_reward_pct = get<float>(g, "group_reward_pct");
  gp.freeze_duration = get<int>(g, "freeze_duration");
  gp.resource_limits = get<std::vector<int>>(g, "resource_limits");
  gp.initial_inventory = get<std::vector<int>>(g, "initial_inventory");
  gp.inventory_rewards = get<std::vector<float>>(g, "inventory_rewards");
  gp.inventory_reward_max = get<std::vector<float>>(g, "inventory_reward_max");
  for (const auto& [stat, reward, max] : get<std::vector<std::tuple<std::string, float, float>>>(g, "stat_rewards"))
    gp.stat_rewards.push_back(StatReward{stat, reward, max});
  gp.action_failure_penalty = get<float>(g, "action_failure_penalty");
  gp.color = get<int>(g, "color");
  return gp;
}

}  // namespace

GameParams parse_params(const py::dict& d) {
  GameParams p;
  p.num_agents = get<int>(d, "num_agents");
  p.obs_width = get<int>(d, "obs_width");
  p.obs_height = get<int>(d, "obs_height");
  p.num_observation_tokens = get<int>(d, "num_observation_tokens");
  p.max_steps = get<int>(d, "max_steps");
  p.terminate_at_max_steps = get<bool>(d, "terminate_at_max_steps");
  p.desync_episodes = get<bool>(d, "desync_episodes");
  p.auto_reset = auto_reset(d);
  p.color_step = get<int>(d, "color_step");
  p.item_names = get<std::vector<std::string>>(d, "item_names");
  for (const auto& a : get<py::list>(d, "actions")) p.actions.push_back(action(a.cast<py::dict>()));
  for (const auto& o : get<py::list>(d, "object_types")) p.object_types.push_back(object_type(o.cast<py::dict>()));
  for (const auto& g : get<py::list>(d, "groups")) p.groups.push_back(group(g.cast<py::dict>()));
  return p;
}

namespace {

std::string shape_str(const std::vector<py::ssize_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

py::object to_object(const FieldValue& v) {
  if (const auto* items = std::get_if<ItemCounts>(&v)) {
    py::dict d;
    for (const auto& [name, n] : *items) d[py::str(name)] = n;
    return std::move(d);
  }
  return std::visit([](const auto& x) -> py::object { return py::cast(x); }, v);
}

}  // namespace

void check_buffer(const py::array& a, const char* name, char kind, int size, const char* dtype,
                  const std::vector<py::ssize_t>& shape, bool written) {
  const py::dtype dt = a.dtype();
  if (dt.kind() != kind || dt.itemsize() != size)
    throw py::value_error(std::string(name) + ": expected dtype " + dtype + ", got " + std::string(py::str(dt)));
  std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim());
  if (got != shape) throw py::value_error(std::string(name) + ": expected shape " + shape_str(shape) + ", got " + shape_str(got));
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
  if (written && !a.writeable()) throw py::value_error(std::string(name) + ": must be writeable");
}

py::array_t<int32_t> grid_cells(const py::array& grid) {
  if (grid.ndim() != 2) throw py::value_error("grid: expected a 2-d array, got " + std::to_string(grid.ndim()) + " dims");
  const char k = grid.dtype().kind();
  if (k != 'i' && k != 'u') throw py::value_error("grid: expected an integer array (int32), got " + std::string(py::str(grid.dtype())));
  return py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(grid);
}

py::dict stat_dict(const std::vector<std::string>& names, const double* values) {
  py::dict d;
  for (size_t i = 0; i < names.size(); ++i)
    if (values[i] != 0.0) d[py::str(names[i])] = static_cast<float>(values[i]);
  return d;
}

py::list stat_dicts(const std::vector<std::string>& names, const std::vector<double>& values, int rows) {
  py::list out;
  for (int r = 0; r < rows; ++r) out.append(stat_dict(names, values.data() + r * names.size()));
  return out;
}

py::list to_dicts(const std::vector<Record>& records) {
  py::list out;
  for (const Record& r : records) {
    py::dict d;
    for (const auto& [key, v] : r) d[key] = to_object(v);
    out.append(std::move(d));
  }
  return out;
}

py::dict to_dict(const GameParams& p, const EpisodeResult& r) {
  py::dict d;
  d["env_index"] = r.env_index;
  d["steps"] = r.steps;
  d["episode_rewards"] = r.episode_rewards;
  d["agent_stats"] = stat_dicts(p.agent_stat_names, r.agent_stats, p.num_agents);
  d["building_stats"] = stat_dict(p.building_stat_names, r.building_stats.data());
  d["game_stats"] = stat_dict(p.game_stat_names, r.game_stats.data());
  d["agent_groups"] = r.agent_groups;
  return d;
}

}  // namespace mettagrid
