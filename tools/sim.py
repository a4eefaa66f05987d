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
  ./tools/sim.py sim_job.policy_uris='["wandb://run/my_run"]'     # a run trained here: ./train_dir/my_run

The DB goes to ./train_dir/eval_<run>/stats.db unless sim_job.stats_db_uri says otherwise (an
s3:// one is uploaded from there), and every evaluation is recorded in ./train_dir/evaluations.jsonl,
where tools/analyze.py and tools/dashboard.py find it.
The JSON goes to stdout; progress, skipped simulations and the DB's location to stderr.
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("sim.py")
