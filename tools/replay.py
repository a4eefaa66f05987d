#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Record one episode of a policy and open it in the browser viewer (MettaScope).

  ./tools/replay.py                                              # scripted policy on the arena
  ./tools/replay.py replay_job.policy_uri=file://./train_dir/my_run/checkpoints
  ./tools/replay.py replay_job.sim.env=mettagrid/navigation replay_job.open_browser_on_start=false
  ./tools/replay.py replay_job.replay_uri=train_dir/replays/x.json.z   # view an existing replay
  ./tools/replay.py replay_job.serve=false                       # write the replay and exit

The viewer URL is printed on stdout; Ctrl-C stops the server.
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("replay.py")
