#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Parity of two CoGsGuard policies: their action distributions on the same rollout setup.

Reports per-policy action counts, move success rates and the largest action-share deltas.
Exit code 0 when the distributions match within --tolerance (total variation distance and
move success gap), 1 otherwise.

  scripts/run_cogsguard_parity.py --policy-a metta://policy/role --policy-b metta://policy/role_py \
      --steps 500 --agents 10
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.cogames.diagnostics import add_rollout_arguments, parity, print_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy-a", default="metta://policy/role", help="a URI or a built-in name")
    parser.add_argument("--policy-b", default="metta://policy/role_py")
    add_rollout_arguments(parser, steps=500)
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args(argv)
    report = parity(args.policy_a, args.policy_b, args.mission, args.steps, args.agents, args.seed, args.tolerance)
    return print_report(report)


if __name__ == "__main__":
    sys.exit(main())
