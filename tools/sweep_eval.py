#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Evaluate a sweep run's latest checkpoint on the sweep's suite and record its score and cost.

  ./tools/sweep_eval.py sweep_name=lr_search run=lr_search.r.0
"""

import json
import sys

import hydra

from metta.common.tool import exit_on_config_error, precheck_overrides
from metta.jobs.sweep import job_from_cfg, sweep_eval


@hydra.main(config_path="../configs", config_name="sweep_job", version_base="1.3")
def main(cfg) -> None:
    exit_on_config_error(lambda: print(json.dumps(sweep_eval(job_from_cfg(cfg), cfg.get("run")), indent=2, default=str)))


if __name__ == "__main__":
    precheck_overrides("sweep_job", sys.argv)
    main()
