#!/usr/bin/env bash
# Sets up a development environment in .venv: the project (compiling the C++ core), test and
# training extras, and PufferLib's vector API. Safe to re-run; it only installs what changed.
#   PYTHON=python3.11 ./devops/setup.sh     # pick the interpreter
#   TORCH_SPEC="torch==2.5.1" ./devops/setup.sh   # pick a torch build (e.g. a CUDA wheel)
#   METTA_EXTRAS=train ./devops/setup.sh           # fewer extras (`metta install core`: no test/lint/sweep)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Pinned so pip takes the CPU wheel our machines carry locally instead of a multi-GB CUDA build.
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
METTA_EXTRAS=${METTA_EXTRAS:-dev,train,sweep}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }

.venv/bin/python -c "import torch" 2>/dev/null || pip install "$TORCH_SPEC"
# Build deps are installed up front so the editable build can run without isolation (faster,
# and it reuses the same numpy/pybind11).
pip install "setuptools>=68" wheel "pybind11>=2.12"
pip install --no-build-isolation -e ".[$METTA_EXTRAS]"
# pufferlib-core's metadata pins packages we do not need (and a torch we do not want); its
# vector API needs only numpy, gymnasium and psutil.
.venv/bin/python -c "import pufferlib.vector" 2>/dev/null || { pip install psutil && pip install --no-deps pufferlib-core; }
.venv/bin/python -c "import mettagrid._core" || { echo "setup: the C++ core did not build" >&2; exit 1; }
echo "setup: ok (.venv ready; tools run with ./tools/<name>.py)"
