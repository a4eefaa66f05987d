// The Python boundary (py_convert.hpp): params dict -> GameParams (types checked key by key
// here, ranges by finalize_params), buffer and map checks, and core data -> Python objects.
#include "py_convert.hpp"

#include <pybind11/stl.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

namespace py = pybind11;

namespace mettagrid {
namespace {

// Every key is read through one of these readers, which know the key's path in the dict
// (`params["groups"][0]["color"]`): a missing key, a value of the wrong type or an integer
// that does not fit 32 bits is a ValueError naming that path. The ranges of the values are
// finalize_params' job; these readers only make sure that what reaches it is what it says.
class Reader {
 public:
  // Holds a reference: a value read from a container stays alive even if a user-defined
  // __index__ or __float__ called while reading changes that container.
  Reader(py::handle obj, std::string path) : obj_(py::reinterpret_borrow<py::object>(obj)), path_(std::move(path)) {}

  Reader operator[](const char* key) const {
    if (!PyDict_Check(obj_.ptr())) fail("expected a dict");
    const std::string path = path_ + "[\"" + key + "\"]";
    PyObject* v = PyDict_GetItemString(obj_.ptr(), key);  // borrowed
    if (v == nullptr) throw py::value_error(path + ": required key is missing");
    return Reader(v, path);
  }

  bool has(const char* key) const {
    PyObject* v = PyDict_GetItemString(obj_.ptr(), key);
    return v != nullptr && v != Py_None;
  }

  std::vector<Reader> list() const {
    if (!PyList_Check(obj_.ptr()) && !PyTuple_Check(obj_.ptr())) fail("expected a list");
    std::vector<Reader> out;
    const py::sequence seq = py::reinterpret_borrow<py::sequence>(obj_);
    for (size_t i = 0; i < seq.size(); ++i) out.emplace_back(seq[i], path_ + "[" + std::to_string(i) + "]");
    return out;
  }

  int as_int() const {
    // Floats are refused even when integral: a config that computes an id as 3.0 has a bug.
    if (PyFloat_Check(obj_.ptr()) || !PyIndex_Check(obj_.ptr())) fail("expected an integer");
    py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(obj_.ptr()));
    if (!index) throw py::error_already_set();
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (overflow != 0 || v < INT32_MIN || v > INT32_MAX)
      fail("must be in [" + std::to_string(INT32_MIN) + ", " + std::to_string(INT32_MAX) + "] (32 bits)");
    return static_cast<int>(v);
  }

  float as_float() const {
    if (PyBool_Check(obj_.ptr()) || (!PyFloat_Check(obj_.ptr()) && !PyIndex_Check(obj_.ptr()) &&
                                     !PyNumber_Check(obj_.ptr())))
      fail("expected a number");
    const double v = PyFloat_AsDouble(obj_.ptr());
    if (v == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      fail("expected a number");
    }
    return static_cast<float>(v);  // out of float range -> inf, refused by finalize_params
  }

  bool as_bool() const {
    // numpy.bool_ is not a Python bool; its type is checked by name to keep numpy out of here.
    const std::string type = Py_TYPE(obj_.ptr())->tp_name;
    if (!PyBool_Check(obj_.ptr()) && type != "numpy.bool_" && type != "numpy.bool") fail("expected a bool");
    return PyObject_IsTrue(obj_.ptr()) == 1;
  }

  std::string as_str() const {
    if (!PyUnicode_Check(obj_.ptr())) fail("expected a string");
    return obj_.cast<std::string>();
  }

  std::vector<ItemAmount> amounts() const {
    std::vector<ItemAmount> out;
    for (const Reader& pair : list()) {
      const std::vector<Reader> v = pair.list();
      if (v.size() != 2) pair.fail("expected an [item_id, amount] pair");
      out.push_back({v[0].as_int(), v[1].as_int()});
    }
    return out;
  }

  std::vector<int> ints() const {
    std::vector<int> out;
    for (const Reader& r : list()) out.push_back(r.as_int());
    return out;
  }

  std::vector<float> floats() const {
    std::vector<float> out;
    for (const Reader& r : list()) out.push_back(r.as_float());
    return out;
  }

  [[noreturn]] void fail(const std::string& what) const {
    std::string got = py::repr(obj_);
    if (got.size() > 40) got = got.substr(0, 37) + "...";
    throw py::value_error(path_ + ": " + what + ", got " + got + " (" + Py_TYPE(obj_.ptr())->tp_name + ")");
  }

  const std::string& path() const { return path_; }

 private:
  py::object obj_;
  std::string path_;
};

// A name the core does not know (action, object kind) is reported at its key.
template <typename F>
auto named(const Reader& r, F lookup) {
  try {
    return lookup(r.as_str());
  } catch (const std::invalid_argument& e) {
    throw py::value_error(r.path() + ": " + e.what());
  }
}

ActionParams action(const Reader& a) {
  ActionParams ap;
  ap.name = a["name"].as_str();
  ap.kind = named(a["name"], action_kind);
  ap.max_arg = a["max_arg"].as_int();
  ap.priority = a["priority"].as_int();
  ap.required = a["required"].amounts();
  ap.consumed = a["consumed"].amounts();
  ap.defense = a["defense"].amounts();
  ap.steal = a["steal"].as_bool();
  return ap;
}

ObjectTypeParams object_type(const Reader& o) {
  ObjectTypeParams ot;
  ot.name = o["name"].as_str();
  ot.type_id = o["type_id"].as_int();
  ot.kind = named(o["kind"], object_kind);
  ot.color = o["color"].as_int();
  if (ot.kind != ObjectKind::Converter) return ot;
  ot.input = o["input"].amounts();
  ot.output = o["output"].amounts();
  ot.max_output = o["max_output"].as_int();
  ot.max_conversions = o["max_conversions"].as_int();
  ot.conversion_ticks = o["conversion_ticks"].as_int();
  ot.cooldown = o["cooldown"].as_int();
  ot.initial_resource_count = o["initial_resource_count"].as_int();
  ot.alignable = o["alignable"].as_bool();
  ot.team_only = o["team_only"].as_bool();
  ot.use_required = o["use_required"].amounts();
  return ot;
}

GroupParams group(const Reader& g) {
  GroupParams gp;
  gp.id = g["id"].as_int();
  gp.name = g["name"].as_str();
  gp.group_reward_pct = g["group_reward_pct"].as_float();
  gp.freeze_duration = g["freeze_duration"].as_int();
  gp.resource_limits = g["resource_limits"].ints();
  gp.initial_inventory = g["initial_inventory"].ints();
  gp.inventory_rewards = g["inventory_rewards"].floats();
  gp.inventory_reward_max = g["inventory_reward_max"].floats();
  for (const Reader& sr : g["stat_rewards"].list()) {
    const std::vector<Reader> v = sr.list();
    if (v.size() != 3) sr.fail("expected a [stat, reward, cap] triple");
    gp.stat_rewards.push_back(StatReward{v[0].as_str(), v[1].as_float(), v[2].as_float()});
  }
  gp.action_failure_penalty = g["action_failure_penalty"].as_float();
  gp.color = g["color"].as_int();
  return gp;
}

}  // namespace

int int_arg(const py::handle& value, const char* name, int lo, int hi) {
  const int v = Reader(value, name).as_int();
  if (v < lo || v > hi)
    throw py::value_error(std::string(name) + ": must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                          "], got " + std::to_string(v));
  return v;
}

GameParams parse_params(const py::dict& d) {
  const Reader r(d, "params");
  GameParams p;
  p.num_agents = r["num_agents"].as_int();
  p.obs_width = r["obs_width"].as_int();
  p.obs_height = r["obs_height"].as_int();
  p.num_observation_tokens = r["num_observation_tokens"].as_int();
  p.max_steps = r["max_steps"].as_int();
  p.terminate_at_max_steps = r["terminate_at_max_steps"].as_bool();
  p.desync_episodes = r["desync_episodes"].as_bool();
  // Every key of the compiled dict is required (its defaults live in the Python schema); the one
  // exception is `auto_reset`, a run-time switch of the vector env rather than part of the game.
  p.auto_reset = !r.has("auto_reset") || r["auto_reset"].as_bool();
  p.color_step = r["color_step"].as_int();
  for (const Reader& name : r["item_names"].list()) p.item_names.push_back(name.as_str());
  for (const Reader& a : r["actions"].list()) p.actions.push_back(action(a));
  for (const Reader& o : r["object_types"].list()) p.object_types.push_back(object_type(o));
  for (const Reader& g : r["groups"].list()) p.groups.push_back(group(g));
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

// The core reads and writes machine words: a byte-swapped dtype ('>i4' on x86) is refused.
static bool native_order(const py::dtype& dt) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return dt.byteorder() != '<';
#else
  return dt.byteorder() != '>';
#endif
}

void check_buffer(const py::array& a, const char* name, char kind, int size, const char* dtype,
                  const std::vector<py::ssize_t>& shape, bool written) {
  const py::dtype dt = a.dtype();
  if (dt.kind() != kind || dt.itemsize() != size || !native_order(dt))
    throw py::value_error(std::string(name) + ": expected dtype " + dtype + ", got " + std::string(py::str(dt)));
  std::vector<py::ssize_t> got(a.shape(), a.shape() + a.ndim());
  if (got != shape) throw py::value_error(std::string(name) + ": expected shape " + shape_str(shape) + ", got " + shape_str(got));
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
  // A view at an odd byte offset is contiguous but misaligned; the core reads int32/float words.
  if (!(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_)) throw py::value_error(std::string(name) + ": must be aligned");
  if (written && !a.writeable()) throw py::value_error(std::string(name) + ": must be writeable");
}

void check_disjoint(const std::vector<std::pair<const char*, py::array>>& buffers) {
  for (size_t i = 0; i < buffers.size(); ++i) {
    const auto* a = static_cast<const char*>(buffers[i].second.data());
    for (size_t j = i + 1; j < buffers.size(); ++j) {
      const auto* b = static_cast<const char*>(buffers[j].second.data());
      if (a < b + buffers[j].second.nbytes() && b < a + buffers[i].second.nbytes())
        throw py::value_error(std::string(buffers[i].first) + ": shares memory with " + buffers[j].first);
    }
  }
}

py::array_t<int32_t> grid_cells(const py::array& grid) {
  if (grid.ndim() != 2) throw py::value_error("grid: expected a 2-d array, got " + std::to_string(grid.ndim()) + " dims");
  const char k = grid.dtype().kind();
  if (k != 'i' && k != 'u') throw py::value_error("grid: expected an integer array (int32), got " + std::string(py::str(grid.dtype())));
  // Checked before any copy: a broadcast view can claim billions of cells without holding them.
  if (grid.shape(0) < 1 || grid.shape(1) < 1 || grid.shape(0) > kMaxMapSide || grid.shape(1) > kMaxMapSide)
    throw py::value_error("grid: shape (" + std::to_string(grid.shape(0)) + ", " + std::to_string(grid.shape(1)) +
                          ") outside [1, " + std::to_string(kMaxMapSide) + "] per side");
  // Wider integers are range-checked in 64 bits first: a forced cast to int32 would wrap
  // 2**32 - 1 into -1 (an agent).
  if (grid.dtype().itemsize() > 4 || (k == 'u' && grid.dtype().itemsize() == 4)) {
    const bool is_unsigned = k == 'u';
    if (is_unsigned) {
      auto u = py::array_t<uint64_t, py::array::c_style | py::array::forcecast>::ensure(grid);
      for (py::ssize_t i = 0; i < u.size(); ++i)
        if (u.data()[i] > static_cast<uint64_t>(INT32_MAX))
          throw py::value_error("grid: cell code " + std::to_string(u.data()[i]) + " does not fit int32");
    } else {
      auto s = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(grid);
      for (py::ssize_t i = 0; i < s.size(); ++i)
        if (s.data()[i] < INT32_MIN || s.data()[i] > INT32_MAX)
          throw py::value_error("grid: cell code " + std::to_string(s.data()[i]) + " does not fit int32");
    }
  }
  return py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(grid);
}

namespace {

// Non-zero iff int32 cannot hold v exactly. Branch-free for integers (a shift and an add), so
// that the check over a whole action array vectorises.
template <typename T>
uint64_t outside_int32(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    // NaN fails every comparison; a fraction is not an action id. The upper bound is 2^31,
    // exclusive: INT32_MAX itself rounds up to 2^31 as a float, which would pass `<=` and wrap.
    return !(v >= static_cast<T>(-2147483648.0) && v < static_cast<T>(2147483648.0) && v == std::trunc(v));
  } else if constexpr (sizeof(T) < 4 || (sizeof(T) == 4 && std::is_signed_v<T>)) {
    return 0;
  } else if constexpr (std::is_unsigned_v<T>) {
    return static_cast<uint64_t>(v) >> 31;
  } else {
    return (static_cast<uint64_t>(v) + 0x80000000ull) >> 32;  // [-2^31, 2^31) -> [0, 2^32)
  }
}

template <typename T>
void copy_checked(const py::array& src, int32_t* dst) {
  const T* in = static_cast<const T*>(src.data());
  const py::ssize_t n = src.size();
  // Checked in full before anything is written, so a refused array leaves the buffer as it was.
  uint64_t bad = 0;
  for (py::ssize_t i = 0; i < n; ++i) bad |= outside_int32(in[i]);
  if (bad) {
    py::ssize_t i = 0;
    while (!outside_int32(in[i])) ++i;
    throw py::value_error("actions: value " + std::string(py::str(py::cast(in[i]))) + " at flat index " +
                          std::to_string(i) + " (agent " + std::to_string(i / 2) +
                          ") is not an integer in [-2147483648, 2147483647]");
  }
  for (py::ssize_t i = 0; i < n; ++i) dst[i] = static_cast<int32_t>(in[i]);
}

}  // namespace

void copy_actions(const py::handle& actions, py::array dst) {
  check_buffer(dst, "actions buffer", 'i', 4, "int32", std::vector<py::ssize_t>(dst.shape(), dst.shape() + dst.ndim()), true);
  // A copy is made when needed so that the loop below reads native, aligned, contiguous values.
  py::array src = py::array::ensure(actions, py::array::c_style | py::detail::npy_api::NPY_ARRAY_ALIGNED_);
  if (!src)
    throw py::value_error("actions: expected an array of integers, got " + std::string(Py_TYPE(actions.ptr())->tp_name));
  if (!native_order(src.dtype())) src = src.attr("astype")(src.dtype().attr("newbyteorder")("="));
  if (src.size() != dst.size())
    throw py::value_error("actions: expected " + std::to_string(dst.size()) + " values (agents x 2), got " +
                          std::to_string(src.size()));
  int32_t* out = static_cast<int32_t*>(dst.mutable_data());
  const py::dtype dt = src.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'i' && size == 4) {
    std::memcpy(out, src.data(), static_cast<size_t>(src.size()) * 4);
  } else if (kind == 'i' && size == 8) {
    copy_checked<int64_t>(src, out);
  } else if (kind == 'i' && size == 2) {
    copy_checked<int16_t>(src, out);
  } else if (kind == 'i' && size == 1) {
    copy_checked<int8_t>(src, out);
  } else if (kind == 'u' && size == 8) {
    copy_checked<uint64_t>(src, out);
  } else if (kind == 'u' && size == 4) {
    copy_checked<uint32_t>(src, out);
  } else if (kind == 'u' && size == 2) {
    copy_checked<uint16_t>(src, out);
  } else if ((kind == 'u' || kind == 'b') && size == 1) {
    copy_checked<uint8_t>(src, out);
  } else if (kind == 'f' && size == 8) {
    copy_checked<double>(src, out);
  } else if (kind == 'f' && size == 4) {
    copy_checked<float>(src, out);
  } else {
    throw py::value_error("actions: expected an array of integers, got dtype " + std::string(py::str(dt)));
  }
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
