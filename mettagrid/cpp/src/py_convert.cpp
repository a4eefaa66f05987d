// The compiled params dict (docs section 9) -> GameParams. Type errors name the key path.
#include "py_params.hpp"

#include <string>

namespace py = pybind11;

namespace mettagrid {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& what) { throw py::value_error(path + ": " + what); }

std::string type_name(py::handle h) { return Py_TYPE(h.ptr())->tp_name; }

std::string sub(const std::string& path, const char* key) { return path + "[\"" + key + "\"]"; }
std::string sub(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

bool is_int(py::handle h) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o) || PyFloat_Check(o)) return false;
  return PyLong_Check(o) || PyIndex_Check(o);
}

long long as_int(py::handle h, const std::string& path) {
  if (!is_int(h)) bad(path, "expected int, got " + type_name(h));
  py::object v = py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr()));
  if (!v) {
    PyErr_Clear();
    bad(path, "expected int");
  }
  long long x = PyLong_AsLongLong(v.ptr());
  if (x == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    bad(path, "int out of range");
  }
  return x;
}

int as_int32(py::handle h, const std::string& path) {
  long long x = as_int(h, path);
  if (x < INT32_MIN || x > INT32_MAX) bad(path, "int out of range");
  return static_cast<int>(x);
}

double as_float(py::handle h, const std::string& path) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o) || PyUnicode_Check(o) || !(PyFloat_Check(o) || is_int(h) || py::hasattr(h, "__float__")))
    bad(path, "expected float, got " + type_name(h));
  double x = PyFloat_AsDouble(o);
  if (x == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    bad(path, "expected float");
  }
  return x;
}

bool as_bool(py::handle h, const std::string& path) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o)) return o == Py_True;
  if (std::string(Py_TYPE(o)->tp_name) == "numpy.bool_" || std::string(Py_TYPE(o)->tp_name) == "numpy.bool")
    return PyObject_IsTrue(o) == 1;
  if (is_int(h)) {
    long long x = as_int(h, path);
    if (x == 0 || x == 1) return x == 1;
  }
  bad(path, "expected bool, got " + type_name(h));
}

std::string as_str(py::handle h, const std::string& path) {
  if (!PyUnicode_Check(h.ptr())) bad(path, "expected str, got " + type_name(h));
  return h.cast<std::string>();
}

py::sequence as_list(py::handle h, const std::string& path) {
  PyObject* o = h.ptr();
  if (PyUnicode_Check(o) || PyBytes_Check(o) || PyDict_Check(o) || !PySequence_Check(o))
    bad(path, "expected list, got " + type_name(h));
  return py::reinterpret_borrow<py::sequence>(h);
}

py::dict as_dict(py::handle h, const std::string& path) {
  if (!PyDict_Check(h.ptr())) bad(path, "expected dict, got " + type_name(h));
  return py::reinterpret_borrow<py::dict>(h);
}

py::object get(const py::dict& d, const char* key, const std::string& path) {
  if (!d.contains(key)) bad(sub(path, key), "missing key");
  return d[key];
}

// Optional keys: absent (or None) -> default.
bool has(const py::dict& d, const char* key) { return d.contains(key) && !d[key].is_none(); }

int req_int(const py::dict& d, const char* key, const std::string& path) {
  return as_int32(get(d, key, path), sub(path, key));
}
float req_float(const py::dict& d, const char* key, const std::string& path) {
  return static_cast<float>(as_float(get(d, key, path), sub(path, key)));
}
std::string req_str(const py::dict& d, const char* key, const std::string& path) {
  return as_str(get(d, key, path), sub(path, key));
}

std::vector<ItemAmount> amounts(const py::dict& d, const char* key, const std::string& path, bool required) {
  std::vector<ItemAmount> out;
  if (!required && !has(d, key)) return out;
  const std::string p = sub(path, key);
  py::sequence seq = as_list(get(d, key, path), p);
  for (size_t i = 0; i < seq.size(); ++i) {
    const std::string pi = sub(p, i);
    py::sequence pair = as_list(seq[i], pi);
    if (pair.size() != 2) bad(pi, "expected [item_id, amount]");
    out.push_back(ItemAmount{as_int32(pair[0], sub(pi, size_t{0})), as_int32(pair[1], sub(pi, size_t{1}))});
  }
  return out;
}

template <typename T, typename F>
std::vector<T> list_of(const py::dict& d, const char* key, const std::string& path, F convert) {
  const std::string p = sub(path, key);
  py::sequence seq = as_list(get(d, key, path), p);
  std::vector<T> out;
  out.reserve(seq.size());
  for (size_t i = 0; i < seq.size(); ++i) out.push_back(convert(seq[i], sub(p, i)));
  return out;
}

ActionKind action_kind(const std::string& name, const std::string& path) {
  if (name == "noop") return ActionKind::Noop;
  if (name == "move") return ActionKind::Move;
  if (name == "rotate") return ActionKind::Rotate;
  if (name == "put_items") return ActionKind::PutItems;
  if (name == "get_items") return ActionKind::GetItems;
  if (name == "attack") return ActionKind::Attack;
  if (name == "swap") return ActionKind::Swap;
  if (name == "change_color") return ActionKind::ChangeColor;
  if (name == "change_glyph") return ActionKind::ChangeGlyph;
  if (name == "align") return ActionKind::Align;
  if (name == "scramble") return ActionKind::Scramble;
  bad(path, "unknown action \"" + name + "\"");
}

ObjectKind object_kind(const std::string& name, const std::string& path) {
  if (name == "wall") return ObjectKind::Wall;
  if (name == "block") return ObjectKind::Block;
  if (name == "converter") return ObjectKind::Converter;
  bad(path, "unknown kind \"" + name + "\" (expected wall, block or converter)");
}

}  // namespace

GameParams parse_params(const py::dict& d) {
  const std::string root = "params";
  GameParams p;
  p.num_agents = req_int(d, "num_agents", root);
  p.obs_width = req_int(d, "obs_width", root);
  p.obs_height = req_int(d, "obs_height", root);
  p.num_observation_tokens = req_int(d, "num_observation_tokens", root);
  p.max_steps = req_int(d, "max_steps", root);
  if (has(d, "terminate_at_max_steps"))
    p.terminate_at_max_steps = as_bool(d["terminate_at_max_steps"], sub(root, "terminate_at_max_steps"));
  if (has(d, "desync_episodes")) p.desync_episodes = as_bool(d["desync_episodes"], sub(root, "desync_episodes"));
  if (has(d, "auto_reset")) p.auto_reset = as_bool(d["auto_reset"], sub(root, "auto_reset"));
  if (has(d, "color_step")) p.color_step = as_int32(d["color_step"], sub(root, "color_step"));
  p.item_names = list_of<std::string>(d, "item_names", root, as_str);

  {
    const std::string pa = sub(root, "actions");
    py::sequence seq = as_list(get(d, "actions", root), pa);
    for (size_t i = 0; i < seq.size(); ++i) {
      const std::string path = sub(pa, i);
      py::dict a = as_dict(seq[i], path);
      ActionParams ap;
      ap.name = req_str(a, "name", path);
      ap.kind = action_kind(ap.name, sub(path, "name"));
      ap.max_arg = req_int(a, "max_arg", path);
      ap.priority = has(a, "priority") ? as_int32(a["priority"], sub(path, "priority")) : 0;
      ap.required = amounts(a, "required", path, false);
      ap.consumed = amounts(a, "consumed", path, false);
      ap.defense = amounts(a, "defense", path, false);
      if (has(a, "steal")) ap.steal = as_bool(a["steal"], sub(path, "steal"));
      p.actions.push_back(std::move(ap));
    }
  }

  {
    const std::string po = sub(root, "object_types");
    py::sequence seq = as_list(get(d, "object_types", root), po);
    for (size_t i = 0; i < seq.size(); ++i) {
      const std::string path = sub(po, i);
      py::dict o = as_dict(seq[i], path);
      ObjectTypeParams ot;
      ot.name = req_str(o, "name", path);
      ot.type_id = req_int(o, "type_id", path);
      ot.kind = object_kind(req_str(o, "kind", path), sub(path, "kind"));
      if (has(o, "color")) ot.color = as_int32(o["color"], sub(path, "color"));
      if (ot.kind == ObjectKind::Converter) {
        ot.input = amounts(o, "input", path, true);
        ot.output = amounts(o, "output", path, true);
        ot.max_output = req_int(o, "max_output", path);
        ot.max_conversions = req_int(o, "max_conversions", path);
        ot.conversion_ticks = req_int(o, "conversion_ticks", path);
        ot.cooldown = req_int(o, "cooldown", path);
        ot.initial_resource_count = req_int(o, "initial_resource_count", path);
        if (has(o, "alignable")) ot.alignable = as_bool(o["alignable"], sub(path, "alignable"));
        if (has(o, "team_only")) ot.team_only = as_bool(o["team_only"], sub(path, "team_only"));
        ot.use_required = amounts(o, "use_required", path, false);
      }
      p.object_types.push_back(std::move(ot));
    }
  }

  {
    const std::string pg = sub(root, "groups");
    py::sequence seq = as_list(get(d, "groups", root), pg);
    for (size_t i = 0; i < seq.size(); ++i) {
      const std::string path = sub(pg, i);
      py::dict g = as_dict(seq[i], path);
      GroupParams gp;
      gp.id = req_int(g, "id", path);
      gp.name = req_str(g, "name", path);
      gp.group_reward_pct = req_float(g, "group_reward_pct", path);
      gp.freeze_duration = req_int(g, "freeze_duration", path);
      gp.resource_limits = list_of<int>(g, "resource_limits", path, as_int32);
      gp.initial_inventory = list_of<int>(g, "initial_inventory", path, as_int32);
      auto to_float = [](py::handle h, const std::string& pth) { return static_cast<float>(as_float(h, pth)); };
      gp.inventory_rewards = list_of<float>(g, "inventory_rewards", path, to_float);
      gp.inventory_reward_max = list_of<float>(g, "inventory_reward_max", path, to_float);
      if (has(g, "stat_rewards")) {
        const std::string ps = sub(path, "stat_rewards");
        py::sequence srs = as_list(g["stat_rewards"], ps);
        for (size_t j = 0; j < srs.size(); ++j) {
          const std::string pj = sub(ps, j);
          py::sequence e = as_list(srs[j], pj);
          if (e.size() != 2 && e.size() != 3) bad(pj, "expected [stat_name, reward, max]");
          StatReward sr;
          sr.stat = as_str(e[0], sub(pj, size_t{0}));
          sr.reward = static_cast<float>(as_float(e[1], sub(pj, size_t{1})));
          if (e.size() == 3) sr.max = static_cast<float>(as_float(e[2], sub(pj, size_t{2})));
          gp.stat_rewards.push_back(std::move(sr));
        }
      }
      gp.action_failure_penalty =
          has(g, "action_failure_penalty") ? static_cast<float>(as_float(g["action_failure_penalty"], sub(path, "action_failure_penalty"))) : 0.0f;
      if (has(g, "color")) gp.color = as_int32(g["color"], sub(path, "color"));
      p.groups.push_back(std::move(gp));
    }
  }
  return p;
}

}  // namespace mettagrid
