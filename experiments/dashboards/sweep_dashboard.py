#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""The sweep dashboard at the original's path; the same as ./tools/sweep_dashboard.py.

  python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep
  python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep --entity metta-research --project metta
  python experiments/dashboards/sweep_dashboard.py --sweep-name my_sweep --max-observations 500 --hourly-cost 5.0
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `python <this file>` from anywhere

from metta.sweep.dashboard import main

if __name__ == "__main__":
    sys.exit(main())
