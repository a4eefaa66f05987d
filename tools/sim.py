#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Evaluate policies on a simulation suite; write a DuckDB stats DB; print JSON results.

  ./tools/sim.py sim_job.policy_uris='["metta://policy/random"]' sim_job.simulation_suite=smoke_test
  ./tools/sim.py sim_job.policy_uris='["file://./train_dir/my_run/checkpoints"]' selector_type=top
  ./tools/sim.py sim_job.policy_uris='["s3://bucket/runs/my_run/"]' sim_job.stats_db_uri=s3://bucket/eval.duckdb

The JSON goes to stdout; progress, skipped simulations and the DB's location to stderr.
"""

import json
import sys

import hydra

from metta.common.tool import exit_on_config_error, precheck_overrides
from metta.jobs.sim import run_sim_job


@hydra.main(config_path="../configs", config_name="sim_job", version_base="1.3")
def main(cfg) -> None:
    print(json.dumps(exit_on_config_error(run_sim_job, cfg), indent=2))


if __name__ == "__main__":
    precheck_overrides("sim_job", sys.argv)
    main()
