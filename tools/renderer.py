#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Watch a policy play a MettaGrid env in the terminal.

  ./tools/renderer.py                                   # simple policy, arena, ASCII
  ./tools/renderer.py renderer_job.policy_type=random renderer_job.renderer_type=miniscope
  ./tools/renderer.py env=mettagrid/navigation renderer_job.num_agents=2 renderer_job.sleep_time=0.1
  ./tools/renderer.py renderer_job.policy_type=trained policy_uri=file://./train_dir/my_run/checkpoints
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("renderer.py")
