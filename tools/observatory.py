#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""The Observatory: a local web app over training runs and evaluations (docs/observatory.md).

  ./tools/observatory.py                                   runs under ./train_dir, http://127.0.0.1:8050/
  ./tools/observatory.py observatory.port=0                any free port (the URL is printed)
  ./tools/observatory.py observatory.train_dirs='[train_dir, /data/runs, s3://b/runs]' observatory.eval_db_uris='[s3://b/e.duckdb]'

Runs list, live curves, checkpoints with evaluation and replays, the scorecard of any stats
DB, and a launch form; evaluations and launches run one at a time on a local job queue.
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("observatory.py")
