#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Generate maps from a map builder or env config (YAML).

  ./tools/map/gen.py configs/env/mettagrid/navigation.yaml                # one map, shown as ASCII
  ./tools/map/gen.py my_maze.yaml --output-uri=./maps/ --count=100 --seed=0
  ./tools/map/gen.py my_maze.yaml width=50 height=50 --show-mode=PIL
  ./tools/map/gen.py wfc.yaml --output-uri=s3://bucket/maps/ --count=10 --connected
"""

import sys

from metta.map.cli import gen_main

if __name__ == "__main__":
    sys.exit(gen_main())
