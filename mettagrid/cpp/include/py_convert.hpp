// The Python boundary of the core, used only by the binding (bindings.cpp): the compiled
// params dict -> GameParams, the buffer and map checks, and the generic converters of core
// data (vectors, stat tables, records, episode results) into Python objects.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <string>
#include <vector>

#include "grid_env.hpp"
#include "params.hpp"
#include "snapshot.hpp"

namespace mettagrid {

// Plain casts of every key, trusting the dict (mettagrid.config validated the config and
// compiled it): a missing key is a KeyError, a wrong type a cast error. Range checks and
// derived tables are left to finalize_params (run by the VecEnv constructor).
GameParams parse_params(const pybind11::dict& d);

// An integer argument in [lo, hi] (ValueError naming `name` otherwise).
int int_arg(const pybind11::handle& value, const char* name, int lo, int hi);

// Checks dtype (kind + size), shape, C-contiguity, alignment and (if written) writeability of a buffer;
// a ValueError names the buffer.
void check_buffer(const pybind11::array& a, const char* name, char kind, int size, const char* dtype,
                  const std::vector<pybind11::ssize_t>& shape, bool written);

// Copies `actions` (any array-like of numbers with dst.size() values) into the int32 action
// buffer `dst`. A value int32 cannot hold exactly (2**32 + 2, 1e10, 0.5, NaN) is a ValueError
// naming it, and `dst` is left unchanged: a wrapped value must never become a valid action. Two
// passes over the values (check, then copy), no Python per element.
void copy_actions(const pybind11::handle& actions, pybind11::array dst);

// ValueError unless the arrays' memory ranges are pairwise disjoint (a buffer the core writes
// must not alias one it reads or writes elsewhere).
void check_disjoint(const std::vector<std::pair<const char*, pybind11::array>>& buffers);

// A 2-d integer array as int32 cells (ValueError naming "grid" otherwise).
pybind11::array_t<int32_t> grid_cells(const pybind11::array& grid);

template <typename T>
pybind11::array_t<T> to_array(const std::vector<T>& v, std::vector<pybind11::ssize_t> shape) {
  pybind11::array_t<T> out(shape);
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// The non-zero entries of a stat vector as {name: float}; `rows` consecutive ones as a list.
pybind11::dict stat_dict(const std::vector<std::string>& names, const double* values);
pybind11::list stat_dicts(const std::vector<std::string>& names, const std::vector<double>& values, int rows);

pybind11::list to_dicts(const std::vector<Record>& records);
pybind11::dict to_dict(const GameParams& p, const EpisodeResult& r);

}  // namespace mettagrid
