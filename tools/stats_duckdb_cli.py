#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""An SQL shell over an evaluation stats DB (local, s3:// or wandb://, downloaded to a cache).

  ./tools/stats_duckdb_cli.py +eval_db_uri=train_dir/eval_my_run/stats.db
  ./tools/stats_duckdb_cli.py +eval_db_uri=s3://my-bucket/evals/nav.duckdb
  ./tools/stats_duckdb_cli.py +eval_db_uri=eval.duckdb -c "SELECT COUNT(*) FROM episodes"
"""

from metta.common.tool import exit_on_config_error, hydra_tool
from metta.jobs.stats_cli import take_sql_from_argv

if __name__ == "__main__":
    exit_on_config_error(take_sql_from_argv)
    hydra_tool("stats_duckdb_cli.py")
