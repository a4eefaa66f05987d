#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Dashboard data: evaluation scores of many policies and their runs' training curves.

  ./tools/dashboard.py dashboard.output_path=./local_dashboard.json
  ./tools/dashboard.py dashboard.eval_db_uris='[./eval.duckdb]' dashboard.output_path=s3://bucket/dash.json
  ./tools/dashboard.py dashboard.policies='["run1", "run2"]' dashboard.metrics='["reward", "success_rate"]'
  ./tools/dashboard.py dashboard.eval_db_uris='[./eval.duckdb]' dashboard.serve=true dashboard.port=0

With serve=true it prints the scorecard's URL and serves it on 127.0.0.1 until Ctrl-C.
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("dashboard.py")
