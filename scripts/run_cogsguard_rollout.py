#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Rollout sanity check of a scripted CoGsGuard policy (docs/cogsguard.md, "Diagnostics").

Runs a short rollout (the policy plays both teams) and checks hub discovery and structure
registration, charger alignment tags, that all four roles play, that miners mine extractors
and deposit at their own hub, that aligners / scramblers target the right structures, and
that gear is acquired. Exit code 0 = pass, 1 = failure detected.

  scripts/run_cogsguard_rollout.py --steps 200 --agents 10 \
      --policy-uri "metta://policy/role?miner=4&scout=2&aligner=2&scrambler=2"
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.cogames.diagnostics import add_rollout_arguments, print_report, rollout_check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_rollout_arguments(parser, steps=200)
    parser.add_argument("--policy-uri", default="metta://policy/role")
    parser.add_argument("--trace-roles", action="store_true", help="print the cogs' roles every --trace-every steps")
    parser.add_argument("--trace-prereqs", action="store_true", help="print every gear acquisition")
    parser.add_argument("--trace-resources", action="store_true", help="print the cogs' held resources")
    parser.add_argument("--trace-every", type=int, default=50)
    args = parser.parse_args(argv)
    report = rollout_check(args.mission, args.policy_uri, args.steps, args.agents, args.seed,
                           args.trace_roles, args.trace_prereqs, args.trace_resources, args.trace_every)
    return print_report(report)


if __name__ == "__main__":
    sys.exit(main())
