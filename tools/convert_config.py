#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Convert the original's env, trainer or agent YAML (mid-2025 shape) into this project's config.

  ./tools/convert_config.py OLD_env.yaml > configs/env/mettagrid/my_env.yaml
  ./tools/convert_config.py old_trainer.yaml --kind trainer > configs/trainer/my_trainer.yaml

The converted YAML goes to stdout; every upstream key that did not come across (or changed
meaning) is one line on stderr naming its key path. Bad input: one `error:` line, exit code 2.
"""

import sys

from metta.jobs.convert_config import main

if __name__ == "__main__":
    sys.exit(main())
