#!/usr/bin/env bash
# Builds the native determinism test of the MettaGrid core (mettagrid/cpp/tests/determinism.cpp,
# no Python) from the core sources and runs it: seeded rollouts must repeat exactly.
#   devops/bench/native_determinism.sh [steps=300] [seed=42]
# CXX picks the compiler (default c++); OUT the build folder (default a fresh temp folder).
set -euo pipefail
cd "$(dirname "$0")/../.."
cxx="${CXX:-c++}"
out="${OUT:-$(mktemp -d)}"
sources=()
for file in mettagrid/cpp/src/*.cpp; do
  case "$(basename "$file")" in
    bindings.cpp | py_*) ;;  # the Python binding
    *) sources+=("$file") ;;
  esac
done
"$cxx" -O2 -std=c++17 -pthread -I mettagrid/cpp/include "${sources[@]}" mettagrid/cpp/tests/determinism.cpp \
  -o "$out/mettagrid_determinism"
"$out/mettagrid_determinism" "$@"
