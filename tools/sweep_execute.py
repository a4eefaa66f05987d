#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""A sweep worker: suggest, train, evaluate, record; repeat until max_runs.

  ./tools/sweep_execute.py sweep_name=my_sweep                       # sweep=quick
  ./tools/sweep_execute.py sweep_name=my_sweep sweep=full sweep_dir=s3://bucket/sweeps
  ./tools/sweep_execute.py sweep_name=my_sweep sweep_job_overrides.trainer.total_timesteps=10000000
  ./tools/sweep_execute.py -m sweep_name=my_sweep worker=w0,w1 hydra/launcher=submitit_local   # 2 workers
  ./tools/sweep_execute.py -m sweep_name=my_sweep worker=w0,w1,w2,w3 hydra/launcher=sweep_slurm   # on SLURM
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("sweep_execute.py")
