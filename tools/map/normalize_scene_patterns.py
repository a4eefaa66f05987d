#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Rewrite the WFC/ConvChain example patterns of scene files with canonical characters.

  ./tools/map/normalize_scene_patterns.py configs/scenes/wfc/blob.yaml
  ./tools/map/normalize_scene_patterns.py configs/scenes/wfc/*.yaml --in-place
"""

import sys

from metta.map.cli import normalize_scene_main

if __name__ == "__main__":
    sys.exit(normalize_scene_main())
