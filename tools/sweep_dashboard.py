#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""A live dashboard of a hyperparameter sweep in the browser (metta/sweep/dashboard.py).

  ./tools/sweep_dashboard.py --sweep-name my_sweep                          # train_dir/sweeps/my_sweep
  ./tools/sweep_dashboard.py --sweep-name my_sweep --sweep-dir s3://bucket/sweeps --hourly-cost 2.5
  ./tools/sweep_dashboard.py --sweep-name my_sweep --port 0 --no-browser --refresh-s 30
  ./tools/sweep_dashboard.py --sweep-name my_sweep --entity metta-research --project metta --max-observations 500

It prints the page's URL (alone on a line), opens it when there is a desktop, and serves until
Ctrl-C. The page re-reads the sweep every --refresh-s seconds. Flags: --sweep-name (required),
--sweep-dir (default train_dir/sweeps), --host (127.0.0.1), --port (8050; 0 = any free port),
--no-browser, --refresh-s (10), --hourly-cost ($ per compute hour; 0 = show hours only),
--max-observations (newest N finished runs), --entity/--project (runs logged to that wandb namespace).
Also at the original's path: python experiments/dashboards/sweep_dashboard.py.
"""

import sys

from metta.sweep.dashboard import main

if __name__ == "__main__":
    sys.exit(main())
