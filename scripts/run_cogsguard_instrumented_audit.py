#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Instrumented audit of a CoGsGuard policy: role and resource traces over a longer rollout.

Prints the cogs' role distribution and collective resources (with deltas) every
--trace-every steps, role transition counts, and per agent the chargers and extractors it
took from. Exit code 0 = pass, 1 = failure detected (no heart made, an agent without a role).

  scripts/run_cogsguard_instrumented_audit.py --steps 1000 --agents 2 \
      --policy-uri "metta://policy/role_py?miner=1&scout=1" --trace-every 200
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.cogames.diagnostics import add_rollout_arguments, audit, print_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rollout_arguments(parser, steps=1000)
    parser.add_argument("--policy-uri", default="metta://policy/role_py")
    parser.add_argument("--trace-every", type=int, default=200)
    args = parser.parse_args(argv)
    report = audit(args.mission, args.policy_uri, args.steps, args.agents, args.seed, args.trace_every)
    return print_report(report)


if __name__ == "__main__":
    sys.exit(main())
