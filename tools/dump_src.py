#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Print source files as `<file: path>` ... `</file>` blocks, e.g. to paste into an LLM's context.

  ./tools/dump_src.py . --extensions .py
  ./tools/dump_src.py metta/agent metta/rl --extensions .py .yaml
  ./tools/dump_src.py configs/env/

Directories are walked recursively in sorted order; binary and git-ignored files are skipped.
"""

import sys

from metta.jobs.dump_src import main

if __name__ == "__main__":
    sys.exit(main())
