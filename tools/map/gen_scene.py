#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Generate a map from a scene (configs/scenes/<name>.yaml) at a given size.

  ./tools/map/gen_scene.py wfc/blob 32 32
  ./tools/map/gen_scene.py convchain/maze 64 64 --seed=42 --output-uri=./maze.yaml
  ./tools/map/gen_scene.py bsp/rooms 40 30 generator.rooms=4 --show-mode=mettascope
"""

import sys

from metta.map.cli import gen_scene_main

if __name__ == "__main__":
    sys.exit(gen_scene_main())
