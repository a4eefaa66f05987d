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

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("play.py")
