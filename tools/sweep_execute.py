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
  ./tools/sweep_execute.py -m sweep_name=my_sweep worker=w0,w1 hydra/launcher=submitit_local   # 2 workers
  ./tools/sweep_execute.py -m sweep_name=my_sweep worker=w0,w1,w2,w3 hydra/launcher=sweep_slurm   # on SLURM
"""

import json
import sys

import hydra

from metta.common.tool import exit_on_config_error, precheck_overrides
from metta.jobs.sweep import job_from_cfg, sweep_execute


@hydra.main(config_path="../configs", config_name="sweep_job", version_base="1.3")
def main(cfg) -> None:
    exit_on_config_error(lambda: print(json.dumps(sweep_execute(job_from_cfg(cfg)))))


if __name__ == "__main__":
    precheck_overrides("sweep_job", sys.argv)
    main()
