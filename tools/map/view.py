#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Show a stored map: a file, or a random map of a directory or s3:// prefix.

  ./tools/map/view.py ./my_map.yaml
  ./tools/map/view.py s3://bucket/maps/ --show-mode=PIL
"""

import sys

from metta.map.cli import view_main

if __name__ == "__main__":
    sys.exit(view_main())
