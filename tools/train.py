#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Train a policy with PPO on MettaGrid.

  ./tools/train.py                                              # the embedded default: a few minutes on a CPU
  ./tools/train.py run=nav1 env=mettagrid/navigation trainer.total_timesteps=5_000_000
  ./tools/train.py run=big hardware=gpu agent=latent_attn_small wandb=online
  torchrun --nproc_per_node=2 tools/train.py run=ddp system.device=cpu

Re-running with the same run= resumes from its latest checkpoint.
"""

from metta.common.tool import hydra_tool

if __name__ == "__main__":
    hydra_tool("train.py")
