#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Create a sweep (once) and its first suggestion; writes train_config_overrides.yaml.

  ./tools/sweep_init.py sweep_name=lr_search                                 # configs/sweep/quick.yaml
  ./tools/sweep_init.py sweep_name=big sweep_params=configs/sweep/full.yaml
  ./tools/sweep_init.py sweep_name=lr_search sweep_params=configs/sweep/fast.yaml
  NODE_INDEX=1 ./tools/sweep_init.py sweep_name=distributed_exp       # waits for node 0 to create it
  ./tools/sweep_init.py sweep_name=shared sweep_dir=s3://bucket/sweeps
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("sweep_init.py")
