#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Rewrite ASCII maps with canonical characters (old letters, renderer output, spaces).

  ./tools/map/normalize_ascii_map.py map.txt             # print the normalized map
  ./tools/map/normalize_ascii_map.py map.txt --in-place
"""

import sys

from metta.map.cli import normalize_ascii_main

if __name__ == "__main__":
    sys.exit(normalize_ascii_main())
