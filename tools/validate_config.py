#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Compose a project config, print it as YAML, and check it against the typed schemas.

  ./tools/validate_config.py configs/env/mettagrid/navigation.yaml
  ./tools/validate_config.py trainer/trainer.yaml learning_rate=0.01
  ./tools/validate_config.py configs/train_job.yaml trainer.batch_size=4096 agent=latent_attn_small

The YAML goes to stdout; every problem goes to stderr as one line, `file: dotted.key: why`.
Exit code: 0 clean, 1 problems found, 2 no such config or a file that is not YAML (one line, file:line:col).
"""

import sys

from metta.jobs.validate_config import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
