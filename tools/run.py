#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Run a recipe: `./tools/run.py <tool> <recipe> [key=value ...]`.

  ./tools/run.py --list                                   # recipes and their tools
  ./tools/run.py train arena run=my_run                   # = arena.train; same code as ./tools/train.py
  ./tools/run.py train navigation run=nav trainer.total_timesteps=1_000_000
  ./tools/run.py eval navigation policy_uri=file://./train_dir/nav/checkpoints
  ./tools/run.py train arena run=x --dry-run              # the composed config + the ./tools/train.py command

Recipes live in metta/recipes/ (arena, navigation, experiment/cogsguard); see docs/tools.md.
"""

from metta.jobs.run_tool import run

if __name__ == "__main__":
    run()
