#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Play one agent yourself in the browser viewer while a policy plays the others.

  ./tools/play.py                                         # you are agent 0 in the arena
  ./tools/play.py replay_job.open_browser_on_start=false  # just print the URL
  ./tools/play.py replay_job.sim.env=mettagrid/navigation replay_job.policy_uri=metta://policy/scripted

Each key press is one step for everybody. Your episode is saved as a replay under
replay_job.replay_dir when it ends or when you stop the tool with Ctrl-C.
"""

import sys

import hydra

from metta.common.tool import exit_on_config_error, job_config_from, precheck_overrides
from metta.jobs.replay import PlayJobConfig, run_play_job


@hydra.main(config_path="../configs", config_name="play_job", version_base="1.3")
def main(cfg) -> None:
    exit_on_config_error(lambda: run_play_job(job_config_from(cfg, "replay_job", PlayJobConfig)))


if __name__ == "__main__":
    precheck_overrides("play_job", sys.argv)
    main()
