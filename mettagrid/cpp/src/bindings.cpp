// pybind11 module `mettagrid._core` (docs section 10): a thin method table over VecEnv.
// Buffers are checked once in set_buffers and borrowed (references are held here).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "py_params.hpp"
#include "vec_env.hpp"

namespace py = pybind11;
using namespace mettagrid;

namespace {

std::string shape_str(const std::vector<py::ssize_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// Checks dtype (kind + size), shape, C-contiguity and (if written) writeability of a buffer.
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

py::dict nonzero_dict(const std::vector<std::string>& names, const double* values, size_t n) {
  py::dict d;
  for (size_t i = 0; i < n; ++i)
    if (values[i] != 0.0) d[py::str(names[i])] = static_cast<float>(values[i]);
  return d;
}

py::list agent_stat_dicts(const GameParams& p, const std::vector<double>& stats) {
  py::list out;
  for (int a = 0; a < p.num_agents; ++a)
    out.append(nonzero_dict(p.agent_stat_names, stats.data() + static_cast<size_t>(a) * p.stat.count, p.stat.count));
  return out;
}

py::dict item_dict(const GameParams& p, const int32_t* inv) {
  py::dict d;
  for (int i = 0; i < p.num_items; ++i)
    if (inv[i]) d[py::str(p.item_names[i])] = inv[i];
  return d;
}

constexpr int kReplayFixed = 14;
constexpr const char* kReplayFixedNames[kReplayFixed] = {
    "type", "row", "col", "orientation", "frozen", "color", "glyph", "group",
    "action", "action_arg", "action_success", "converting", "cooling_down", "conversions_started"};

class PyVecEnv {
 public:
  PyVecEnv(const py::dict& params, int num_envs, const py::int_& seed, int num_threads)
      : env_(parse_params(params), num_envs, PyLong_AsUnsignedLongLongMask(seed.ptr()), num_threads) {}

  void set_map(int env_index, const py::array& grid) {
    if (grid.ndim() != 2) throw py::value_error("grid: expected a 2-d array, got " + std::to_string(grid.ndim()) + " dims");
    const char k = grid.dtype().kind();
    if (k != 'i' && k != 'u') throw py::value_error("grid: expected an integer array (int32), got " + std::string(py::str(grid.dtype())));
    auto g = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(grid);
    env_.set_map(env_index, make_map(env_.params(), static_cast<int>(g.shape(0)), static_cast<int>(g.shape(1)), g.data()));
  }

  void set_buffers(const py::array& obs, const py::array& actions, const py::array& rewards, const py::array& terminals,
                   const py::array& truncations) {
    const GameParams& p = env_.params();
    const py::ssize_t n = static_cast<py::ssize_t>(env_.num_envs()) * p.num_agents;
    check_buffer(obs, "observations", 'u', 1, "uint8", {n, p.num_observation_tokens, 3}, true);
    check_buffer(actions, "actions", 'i', 4, "int32", {n, 2}, false);
    check_buffer(rewards, "rewards", 'f', 4, "float32", {n}, true);
    check_buffer(terminals, "terminals", 'b', 1, "bool", {n}, true);
    check_buffer(truncations, "truncations", 'b', 1, "bool", {n}, true);
    obs_ = obs;
    actions_ = actions;
    rewards_ = rewards;
    terminals_ = terminals;
    truncations_ = truncations;
    env_.set_buffers(static_cast<uint8_t*>(obs_.mutable_data()), static_cast<const int32_t*>(actions_.data()),
                     static_cast<float*>(rewards_.mutable_data()), static_cast<uint8_t*>(terminals_.mutable_data()),
                     static_cast<uint8_t*>(truncations_.mutable_data()));
  }

  void reset() {
    env_.check_ready();
    py::gil_scoped_release release;
    env_.reset();
  }

  void reset_env(int env_index) {
    check_index(env_index);
    env_.check_ready();
    py::gil_scoped_release release;
    env_.reset_env(env_index);
  }

  void step() {
    env_.check_ready();
    py::gil_scoped_release release;
    env_.step();
  }

  py::list episode_results() {
    const GameParams& p = env_.params();
    py::list out;
    for (const EpisodeResult& r : env_.take_episode_results()) {
      py::dict d;
      d["env_index"] = r.env_index;
      d["steps"] = r.steps;
      d["episode_rewards"] = r.episode_rewards;
      d["agent_stats"] = agent_stat_dicts(p, r.agent_stats);
      d["building_stats"] = nonzero_dict(p.building_stat_names, r.building_stats.data(), r.building_stats.size());
      d["game_stats"] = nonzero_dict(p.game_stat_names, r.game_stats.data(), r.game_stats.size());
      d["agent_groups"] = r.agent_groups;
      out.append(std::move(d));
    }
    return out;
  }

  void check_index(int env_index) const {
    if (env_index < 0 || env_index >= env_.num_envs())
      throw py::index_error("env_index " + std::to_string(env_index) + " out of range");
  }

  const EnvState& state(int env_index) {
    check_index(env_index);
    GridEnv& e = env_.env(env_index);
    if (!e.started()) throw std::runtime_error("env " + std::to_string(env_index) + " has not been reset yet");
    return e.state();
  }

  py::list grid_objects(int env_index) {
    const EnvState& s = state(env_index);
    const GameParams& p = env_.params();
    py::list out;
    for (int a = 0; a < p.num_agents; ++a) {
      py::dict d;
      d["kind"] = "agent";
      d["type_name"] = "agent";
      d["type_id"] = 0;
      d["agent_id"] = a;
      d["row"] = s.a_row[a];
      d["col"] = s.a_col[a];
      d["layer"] = 0;
      d["group"] = p.groups[s.a_group[a]].id;
      d["group_name"] = p.groups[s.a_group[a]].name;
      d["orientation"] = static_cast<int>(s.a_orient[a]);
      d["frozen"] = s.a_frozen[a];
      d["color"] = static_cast<int>(s.a_color[a]);
      d["glyph"] = static_cast<int>(s.a_glyph[a]);
      d["inventory"] = item_dict(p, s.inventory.data() + static_cast<size_t>(a) * p.num_items);
      out.append(std::move(d));
    }
    static const char* kinds[] = {"wall", "block", "converter"};
    for (size_t o = 0; o < s.o_type.size(); ++o) {
      const ObjectTypeParams& ot = p.object_types[s.o_type[o]];
      py::dict d;
      d["kind"] = kinds[static_cast<int>(ot.kind)];
      d["type_name"] = ot.name;
      d["type_id"] = ot.type_id;
      d["object_id"] = static_cast<int>(o);
      d["row"] = s.o_row[o];
      d["col"] = s.o_col[o];
      d["layer"] = 1;
      const int c = s.o_conv[o];
      if (c >= 0) {
        d["color"] = ot.color;
        d["converting"] = static_cast<bool>(s.c_converting[c]);
        d["cooling_down"] = static_cast<bool>(s.c_cooling[c]);
        d["conversions_started"] = s.c_started[c];
        d["input"] = item_dict(p, s.c_in.data() + static_cast<size_t>(c) * p.num_items);
        d["output"] = item_dict(p, s.c_out.data() + static_cast<size_t>(c) * p.num_items);
        if (ot.alignable || ot.team_only) {
          const int team = s.o_team[o];
          d["team"] = team >= 0 ? p.groups[team].id : -1;
          d["team_name"] = team >= 0 ? p.groups[team].name : std::string();
        }
      }
      out.append(std::move(d));
    }
    return out;
  }

  // One replay frame: a row per object (agents first, then walls/blocks/converters in object
  // order) and a column per field of replay_columns(); fields an object lacks are 0 (group -1).
  // Flat int32 so the Python recorder can diff whole frames with numpy.
  py::array_t<int32_t> replay_frame(int env_index) {
    const EnvState& s = state(env_index);
    const GameParams& p = env_.params();
    const int A = p.num_agents, NI = p.num_items;
    const int O = static_cast<int>(s.o_type.size());
    const int F = kReplayFixed + 2 * NI;
    py::array_t<int32_t> out({A + O, F});
    int32_t* d = out.mutable_data();
    std::fill(d, d + static_cast<size_t>(A + O) * F, 0);
    for (int a = 0; a < A; ++a) {
      int32_t* r = d + static_cast<size_t>(a) * F;
      r[0] = 0;
      r[1] = s.a_row[a];
      r[2] = s.a_col[a];
      r[3] = s.a_orient[a];
      r[4] = s.a_frozen[a];
      r[5] = s.a_color[a];
      r[6] = s.a_glyph[a];
      r[7] = p.groups[s.a_group[a]].id;
      r[8] = s.a_last_action[a];
      r[9] = s.a_last_arg[a];
      r[10] = s.a_last_success[a];
      std::copy_n(s.inventory.data() + static_cast<size_t>(a) * NI, NI, r + kReplayFixed);
    }
    for (int o = 0; o < O; ++o) {
      int32_t* r = d + static_cast<size_t>(A + o) * F;
      const ObjectTypeParams& ot = p.object_types[s.o_type[o]];
      r[0] = ot.type_id;
      r[1] = s.o_row[o];
      r[2] = s.o_col[o];
      r[7] = -1;
      const int c = s.o_conv[o];
      if (c < 0) continue;
      r[5] = ot.color;
      r[11] = s.c_converting[c];
      r[12] = s.c_cooling[c];
      r[13] = s.c_started[c];
      std::copy_n(s.c_out.data() + static_cast<size_t>(c) * NI, NI, r + kReplayFixed);
      std::copy_n(s.c_in.data() + static_cast<size_t>(c) * NI, NI, r + kReplayFixed + NI);
    }
    return out;
  }

  // (A, 2) float32: each agent's reward of the last step and of the episode so far.
  py::array_t<float> replay_rewards(int env_index) {
    const EnvState& s = state(env_index);
    const int A = env_.params().num_agents;
    py::array_t<float> out({A, 2});
    float* d = out.mutable_data();
    for (int a = 0; a < A; ++a) {
      d[2 * a] = s.step_reward[a];
      d[2 * a + 1] = s.episode_reward[a];
    }
    return out;
  }

  py::list replay_columns() const {
    py::list out;
    for (const char* name : kReplayFixedNames) out.append(name);
    for (const std::string& item : env_.params().item_names) out.append("inventory:" + item);
    for (const std::string& item : env_.params().item_names) out.append("input:" + item);
    return out;
  }

  // (O,) int32: the owning group id of each object (object order), -1 when neutral or in
  // games without teams.
  py::array_t<int32_t> object_teams(int env_index) {
    const EnvState& s = state(env_index);
    const GameParams& p = env_.params();
    const py::ssize_t O = static_cast<py::ssize_t>(s.o_type.size());
    py::array_t<int32_t> out(O);
    int32_t* d = out.mutable_data();
    for (py::ssize_t o = 0; o < O; ++o) {
      const int team = s.o_team.empty() ? -1 : s.o_team[o];
      d[o] = team >= 0 ? p.groups[team].id : -1;
    }
    return out;
  }

  py::array_t<int32_t> agent_inventory(int env_index) {
    const EnvState& s = state(env_index);
    const GameParams& p = env_.params();
    py::array_t<int32_t> out({p.num_agents, p.num_items});
    std::copy(s.inventory.begin(), s.inventory.end(), out.mutable_data());
    return out;
  }

  py::array_t<int32_t> agent_positions(int env_index) {
    const EnvState& s = state(env_index);
    const int A = env_.params().num_agents;
    py::array_t<int32_t> out({A, 2});
    int32_t* d = out.mutable_data();
    for (int a = 0; a < A; ++a) {
      d[2 * a] = s.a_row[a];
      d[2 * a + 1] = s.a_col[a];
    }
    return out;
  }

  py::list agent_stats(int env_index) { return agent_stat_dicts(env_.params(), state(env_index).agent_stats); }
  py::dict building_stats(int env_index) {
    const EnvState& s = state(env_index);
    return nonzero_dict(env_.params().building_stat_names, s.building_stats.data(), s.building_stats.size());
  }
  py::dict game_stats(int env_index) {
    const EnvState& s = state(env_index);
    return nonzero_dict(env_.params().game_stat_names, s.game_stats.data(), s.game_stats.size());
  }
  py::array_t<float> episode_rewards(int env_index) {
    const EnvState& s = state(env_index);
    py::array_t<float> out(static_cast<py::ssize_t>(s.episode_reward.size()));
    std::copy(s.episode_reward.begin(), s.episode_reward.end(), out.mutable_data());
    return out;
  }
  int64_t current_step(int env_index) { return state(env_index).current_step; }
  bool episode_over(int env_index) { return state(env_index).finished; }

  std::vector<int> action_max_args() const {
    std::vector<int> out;
    for (const auto& a : env_.params().actions) out.push_back(a.max_arg);
    return out;
  }
  std::vector<std::string> object_type_names() const {
    std::vector<std::string> out;
    for (const auto& t : env_.params().object_types) out.push_back(t.name);
    return out;
  }
  int map_dim(bool height) {
    GridEnv& e = env_.env(0);
    if (e.started()) return height ? e.state().height : e.state().width;
    if (e.next_map()) return height ? e.next_map()->height : e.next_map()->width;
    return 0;
  }

  VecEnv env_;

 private:
  py::array obs_, actions_, rewards_, terminals_, truncations_;
};

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "MettaGrid C++ core (see docs/mettagrid.md)";
  py::class_<PyVecEnv>(m, "VecEnv")
      .def(py::init<const py::dict&, int, const py::int_&, int>(), py::arg("params"), py::arg("num_envs"),
           py::arg("seed"), py::arg("num_threads") = 1)
      .def("set_map", &PyVecEnv::set_map, py::arg("env_index"), py::arg("grid"))
      .def("set_buffers", &PyVecEnv::set_buffers, py::arg("observations"), py::arg("actions"), py::arg("rewards"),
           py::arg("terminals"), py::arg("truncations"))
      .def("reset", &PyVecEnv::reset)
      .def("reset_env", &PyVecEnv::reset_env, py::arg("env_index"))
      .def("step", &PyVecEnv::step)
      .def("episode_results", &PyVecEnv::episode_results)
      .def_property_readonly("feature_names", [](const PyVecEnv& v) { return v.env_.params().feature_names; })
      .def_property_readonly("action_names", [](const PyVecEnv& v) { return v.env_.params().action_names; })
      .def_property_readonly("item_names", [](const PyVecEnv& v) { return v.env_.params().item_names; })
      .def_property_readonly("object_type_names", &PyVecEnv::object_type_names)
      .def_property_readonly("action_max_args", &PyVecEnv::action_max_args)
      .def_property_readonly("num_envs", [](const PyVecEnv& v) { return v.env_.num_envs(); })
      .def_property_readonly("num_agents", [](const PyVecEnv& v) { return v.env_.params().num_agents; })
      .def_property_readonly("num_observation_tokens", [](const PyVecEnv& v) { return v.env_.params().num_observation_tokens; })
      .def_property_readonly("obs_width", [](const PyVecEnv& v) { return v.env_.params().obs_width; })
      .def_property_readonly("obs_height", [](const PyVecEnv& v) { return v.env_.params().obs_height; })
      .def_property_readonly("max_steps", [](const PyVecEnv& v) { return v.env_.params().max_steps; })
      .def_property_readonly("auto_reset", [](const PyVecEnv& v) { return v.env_.params().auto_reset; })
      .def_property_readonly("height", [](PyVecEnv& v) { return v.map_dim(true); })
      .def_property_readonly("width", [](PyVecEnv& v) { return v.map_dim(false); })
      .def("grid_objects", &PyVecEnv::grid_objects, py::arg("env_index"))
      .def("replay_frame", &PyVecEnv::replay_frame, py::arg("env_index"))
      .def("replay_rewards", &PyVecEnv::replay_rewards, py::arg("env_index"))
      .def("replay_columns", &PyVecEnv::replay_columns)
      .def("object_teams", &PyVecEnv::object_teams, py::arg("env_index"))
      .def("agent_inventory", &PyVecEnv::agent_inventory, py::arg("env_index"))
      .def("agent_positions", &PyVecEnv::agent_positions, py::arg("env_index"))
      .def("agent_stats", &PyVecEnv::agent_stats, py::arg("env_index"))
      .def("building_stats", &PyVecEnv::building_stats, py::arg("env_index"))
      .def("game_stats", &PyVecEnv::game_stats, py::arg("env_index"))
      .def("episode_rewards", &PyVecEnv::episode_rewards, py::arg("env_index"))
      .def("current_step", &PyVecEnv::current_step, py::arg("env_index"))
      .def("episode_over", &PyVecEnv::episode_over, py::arg("env_index"));
}
