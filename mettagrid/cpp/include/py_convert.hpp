// Parsing of the compiled params dict (docs section 9) into GameParams. Python-only: used
// by the binding, not by the standalone core.
#pragma once

#include <pybind11/pybind11.h>

#include "params.hpp"

namespace mettagrid {

// Reads every key once; a missing or ill-typed key raises ValueError naming it, e.g.
// `params["object_types"][3]["cooldown"]: expected int`. Range checks and derived tables
// are left to finalize_params (run by the VecEnv constructor).
GameParams parse_params(const pybind11::dict& d);

}  // namespace mettagrid
