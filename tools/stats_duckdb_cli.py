#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""An SQL shell over an evaluation stats DB (local, s3:// or wandb://, downloaded to a cache).

  ./tools/stats_duckdb_cli.py +eval_db_uri=train_dir/eval/navigation_20250101.120000.duckdb
  ./tools/stats_duckdb_cli.py +eval_db_uri=s3://my-bucket/evals/nav.duckdb
  ./tools/stats_duckdb_cli.py +eval_db_uri=eval.duckdb -c "SELECT COUNT(*) FROM episodes"
"""

import sys

import hydra

from metta.common.tool import exit_on_config_error, precheck_overrides
from metta.jobs.stats_cli import run_stats_cli, split_cli_args

SQL = None  # from -c/--sql, taken out of argv before Hydra parses it


@hydra.main(config_path="../configs", config_name="stats_cli_job", version_base="1.3")
def main(cfg) -> None:
    status = exit_on_config_error(lambda: run_stats_cli(cfg.get("eval_db_uri"), SQL, cfg.get("cache_dir")))
    sys.exit(status)


if __name__ == "__main__":
    SQL, sys.argv = exit_on_config_error(split_cli_args, sys.argv)
    precheck_overrides("stats_cli_job", sys.argv)
    main()
