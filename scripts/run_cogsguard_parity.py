#!/usr/bin/env python3
"""Parity of two CoGsGuard policies: their action distributions on the same rollout setup.

Reports per-policy action counts, move success rates and the largest action-share deltas.
Exit code 0 when the distributions match within --tolerance (total variation distance and
move success gap), 1 otherwise.

  scripts/run_cogsguard_parity.py --policy-a metta://policy/role --policy-b metta://policy/role_py \
      --steps 500 --agents 10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metta.cogsguard.diagnostics import parity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy-a", default="metta://policy/role", help="a URI or a built-in name")
    parser.add_argument("--policy-b", default="metta://policy/role_py")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--agents", type=int, default=None, help="agents per team (default: the mission's)")
    parser.add_argument("--mission", default="cogsguard_arena.basic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args(argv)
    report = parity(args.policy_a, args.policy_b, args.mission, args.steps, args.agents, args.seed, args.tolerance)
    print("\n".join(report["lines"]))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
