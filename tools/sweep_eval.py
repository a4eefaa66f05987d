#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Evaluate a sweep run's latest checkpoint on the sweep's suite and record its score and cost.

  ./tools/sweep_eval.py sweep_name=lr_search run=lr_search.r.0
  ./tools/sweep_eval.py run=lr_search.r.0 metric=navigation_score     # the run names its sweep; score on navigation
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("sweep_eval.py")
