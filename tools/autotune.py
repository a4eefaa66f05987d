#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Find the fastest env vectorization for this machine, within a memory budget.

  ./tools/autotune.py                                              # arena, 8/16/32 envs, 1..cores workers
  ./tools/autotune.py env=mettagrid/navigation autotune.num_envs=[2,4] autotune.num_workers=[1,2]
  ./tools/autotune.py autotune.include_policy=true autotune.memory_budget_gb=2
  ./tools/autotune.py autotune.write_hardware=mybox   # then: ./tools/train.py hardware=mybox
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("autotune.py")
