// pybind11 module `mettagrid._core` (docs section 10): a method table over VecEnv, no game
// logic. Buffers are checked once in set_buffers and borrowed (references are held here);
// every inspection getter reads one field of a Snapshot (snapshot.hpp) and converts it with
// the generic converters of py_convert.hpp. The names the core owns are module attributes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "py_convert.hpp"
#include "vec_env.hpp"

namespace py = pybind11;
using namespace mettagrid;

namespace {

// A compiled game (a curriculum task's params), shared by every map queued with it.
struct PyParams {
  explicit PyParams(const py::dict& params) {
    GameParams p = parse_params(params);
    finalize_params(p);
    ptr = std::make_shared<const GameParams>(std::move(p));
  }
  std::shared_ptr<const GameParams> ptr;
};

// A map's own game must lay out buffers, observations and results like the vector's: the
// env writes its rows of the shared buffers and its results are named by the vector's params.
void check_same_layout(const GameParams& a, const GameParams& b) {
  auto differs = [](const char* what) { throw std::invalid_argument(std::string("params: ") + what + " differs from the VecEnv's"); };
  if (a.num_agents != b.num_agents) differs("num_agents");
  if (a.obs_width != b.obs_width || a.obs_height != b.obs_height) differs("observation window");
  if (a.num_observation_tokens != b.num_observation_tokens) differs("num_observation_tokens");
  if (a.feature_names != b.feature_names) differs("feature table");
  if (a.action_names != b.action_names) differs("action set");
  if (a.item_names != b.item_names) differs("item_names");
  if (a.agent_stat_names != b.agent_stat_names || a.building_stat_names != b.building_stat_names ||
      a.game_stat_names != b.game_stat_names)
    differs("stat names");
  if (a.groups.size() != b.groups.size() || a.has_teams != b.has_teams) differs("groups");
}

struct PyVecEnv {
  PyVecEnv(const py::dict& params, const py::object& num_envs, const py::int_& seed, const py::object& num_threads)
      : env(parse_params(params), int_arg(num_envs, "num_envs", 1, kMaxNumEnvs), PyLong_AsUnsignedLongLongMask(seed.ptr()),
            int_arg(num_threads, "num_threads", 1, kMaxThreads)) {}

  // With `params`, the env's episodes on this map play that game (from its next reset on).
  void set_map(int env_index, const py::array& grid, const PyParams* params) {
    const auto g = grid_cells(grid);
    const GameParams& game = params ? *params->ptr : env.params();
    if (params) check_same_layout(env.params(), game);
    auto map = make_map(game, static_cast<int>(g.shape(0)), static_cast<int>(g.shape(1)), g.data());
    if (params) std::const_pointer_cast<MapData>(map)->params = params->ptr;
    env.set_map(env_index, std::move(map));
  }

  void set_buffers(const py::array& obs, const py::array& actions, const py::array& rewards, const py::array& terminals,
                   const py::array& truncations) {
    const py::ssize_t n = static_cast<py::ssize_t>(env.num_envs()) * env.params().num_agents;
    check_buffer(obs, "observations", 'u', 1, "uint8", {n, env.params().num_observation_tokens, 3}, true);
    check_buffer(actions, "actions", 'i', 4, "int32", {n, 2}, false);
    check_buffer(rewards, "rewards", 'f', 4, "float32", {n}, true);
    check_buffer(terminals, "terminals", 'b', 1, "bool", {n}, true);
    check_buffer(truncations, "truncations", 'b', 1, "bool", {n}, true);
    check_disjoint({{"observations", obs}, {"actions", actions}, {"rewards", rewards}, {"terminals", terminals},
                    {"truncations", truncations}});
    held = {obs, actions, rewards, terminals, truncations};
    env.set_buffers(static_cast<uint8_t*>(held[0].mutable_data()), static_cast<const int32_t*>(held[1].data()),
                    static_cast<float*>(held[2].mutable_data()), static_cast<uint8_t*>(held[3].mutable_data()),
                    static_cast<uint8_t*>(held[4].mutable_data()));
  }

  VecEnv env;
  std::vector<py::array> held;  // the borrowed buffers, kept alive
};

// A property read from the params: f(params).
template <typename F>
auto param(F f) {
  return [f](const PyVecEnv& v) { return f(v.env.params()); };
}

// An inspection getter of one env: f(snapshot, params).
template <typename F>
auto inspect(F f) {
  return [f](const PyVecEnv& v, int env_index) { return f(v.env.snapshot(env_index), v.env.params()); };
}

std::vector<std::string> stat_names(const std::vector<std::string>& actions, const std::vector<std::string>& items,
                                    const std::vector<std::string>& alignable) {
  std::vector<std::string> names;
  agent_stat_layout(actions, items, alignable, names);
  return names;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "MettaGrid C++ core (see docs/mettagrid.md)";
  py::list action_names;
  py::dict action_max_args;
  for (const ActionInfo& a : kActionInfo) {
    action_names.append(a.name);
    action_max_args[a.name] = a.max_arg;
  }
  m.attr("ACTION_NAMES") = py::tuple(action_names);  // canonical order
  m.attr("ACTION_MAX_ARGS") = action_max_args;       // change_glyph: the cap; the game sets its glyph count
  m.attr("MAX_ITEMS") = 255 - kFeatInv;              // feature ids are one byte; games with teams: one fewer
  m.attr("REPLAY_FIXED_COLUMNS") = py::tuple(py::cast(std::vector<std::string>(kReplayFixedColumns, kReplayFixedColumns + kReplayFixed)));
  m.def("copy_actions", &copy_actions, py::arg("actions"), py::arg("dst"));
  m.def("agent_stat_names", &stat_names, py::arg("action_names"), py::arg("item_names"), py::arg("alignable") = std::vector<std::string>());

  py::class_<PyParams>(m, "Params", "A compiled game for VecEnv.set_map(env_index, grid, params)")
      .def(py::init<const py::dict&>(), py::arg("params"));

  using V = PyVecEnv;
  using S = const Snapshot&;
  using P = const GameParams&;
  const py::arg env_index("env_index");
  py::class_<V>(m, "VecEnv")
      .def(py::init<const py::dict&, const py::object&, const py::int_&, const py::object&>(), py::arg("params"), py::arg("num_envs"), py::arg("seed"), py::arg("num_threads") = 1)
      .def("set_map", &V::set_map, env_index, py::arg("grid"), py::arg("params") = nullptr)
      .def("set_buffers", &V::set_buffers, py::arg("observations"), py::arg("actions"), py::arg("rewards"), py::arg("terminals"), py::arg("truncations"))
      .def("reset", [](V& v) { py::gil_scoped_release release; v.env.reset(); })
      .def("reset_env", [](V& v, int e) { py::gil_scoped_release release; v.env.reset_env(e); }, env_index)
      .def("step", [](V& v) { py::gil_scoped_release release; v.env.step(); })
      .def("episode_results", [](V& v) {
        py::list out;
        for (const EpisodeResult& r : v.env.take_episode_results()) out.append(to_dict(v.env.params(), r));
        return out;
      })
      .def_property_readonly("feature_names", param([](P p) { return p.feature_names; }))
      .def_property_readonly("action_names", param([](P p) { return p.action_names; }))
      .def_property_readonly("item_names", param([](P p) { return p.item_names; }))
      .def_property_readonly("object_type_names", param([](P p) {
        std::vector<std::string> out;
        for (const auto& t : p.object_types) out.push_back(t.name);
        return out;
      }))
      .def_property_readonly("action_max_args", param([](P p) {
        std::vector<int> out;
        for (const auto& a : p.actions) out.push_back(a.max_arg);
        return out;
      }))
      .def_property_readonly("num_envs", [](const V& v) { return v.env.num_envs(); })
      .def_property_readonly("num_agents", param([](P p) { return p.num_agents; }))
      .def_property_readonly("num_observation_tokens", param([](P p) { return p.num_observation_tokens; }))
      .def_property_readonly("obs_width", param([](P p) { return p.obs_width; }))
      .def_property_readonly("obs_height", param([](P p) { return p.obs_height; }))
      .def_property_readonly("max_steps", param([](P p) { return p.max_steps; }))
      .def_property_readonly("auto_reset", param([](P p) { return p.auto_reset; }))
      .def_property_readonly("height", [](const V& v) { return v.env.map_size().first; })
      .def_property_readonly("width", [](const V& v) { return v.env.map_size().second; })
      .def("replay_columns", param([](P p) { return replay_columns(p); }))
      // Inspection (tests, renderers, replays; not for the hot path): one Snapshot field each.
      .def("grid_objects", inspect([](S s, P p) { return to_dicts(object_records(s, p)); }), env_index)
      .def("replay_frame", inspect([](S s, P) { return to_array(s.frame, {s.num_agents + s.num_objects, s.num_columns}); }), env_index)
      .def("replay_rewards", inspect([](S s, P) { return to_array(s.rewards, {s.num_agents, 2}); }), env_index)
      .def("object_teams", inspect([](S s, P) { return to_array(s.object_team_id, {s.num_objects}); }), env_index)
      .def("agent_inventory", inspect([](S s, P) { return to_array(s.inventory, {s.num_agents, s.num_items}); }), env_index)
      .def("agent_positions", inspect([](S s, P) { return to_array(s.positions, {s.num_agents, 2}); }), env_index)
      .def("agent_stats", inspect([](S s, P p) { return stat_dicts(p.agent_stat_names, s.agent_stats, s.num_agents); }), env_index)
      .def("building_stats", inspect([](S s, P p) { return stat_dict(p.building_stat_names, s.building_stats.data()); }), env_index)
      .def("game_stats", inspect([](S s, P p) { return stat_dict(p.game_stat_names, s.game_stats.data()); }), env_index)
      .def("episode_rewards", inspect([](S s, P) { return to_array(s.episode_rewards, {s.num_agents}); }), env_index)
      .def("current_step", inspect([](S s, P) { return s.current_step; }), env_index)
      .def("episode_over", inspect([](S s, P) { return s.episode_over; }), env_index);
}
