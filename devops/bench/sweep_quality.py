#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Does Protein find better hyperparameters than random search on the same budget?

Each case is a standard test function with a known optimum, given a cost that rises smoothly
along the first parameter (cost = 1 + 3 t^2, t = the first parameter's position in its range,
so from 1 to 4) to stand in for runs that take longer to train:

  branin        Branin-Hoo on [-5, 10] x [0, 15], minimized; optimum 0.397887. One of its three
                optima sits at the cheap end (x1 = -pi), so a cost-aware search can find it cheaply.
  hartmann6     Hartmann 6-D on [0, 1]^6, maximized; optimum 3.32237.
  branin_noisy  Branin observed with Gaussian noise (std 5, a few percent of its range), as RL
                scores are; the table shows the *true* value of the run with the best observed score.
  branin_capped Branin with max_suggestion_cost 2.5, which rules out x1 > ~4.3 (two of the three
                optima stay inside); the last column counts runs that cost more than the cap.
  hartmann6_dear Hartmann 6-D with the cost reversed (1 + 3 (1 - t)^2): the optimum is now among
                the dearer runs (cost ~2.9 of 4), so Protein has to push its front up in cost.

Both methods get the same evaluations per seed (default 40) and the same seeds (default 5).
Protein runs with its default settings; random search samples uniformly over the same space.
The search center is the middle of the box. Prints the mean over seeds of the best value found
after 10/20/30/40 evaluations, and the mean total cost spent.

  devops/bench/sweep_quality.py                     # all cases, 40 evaluations, 5 seeds
  devops/bench/sweep_quality.py branin --evals 20 --seeds 3
  devops/bench/sweep_quality.py branin hartmann6 --set expansion_rate=0.25   # a setting changed
  devops/bench/sweep_quality.py --time-suggest      # seconds per suggestion at 40/100/200 runs

70-85 s on a 2-core CPU (seeds run in 2 parallel processes; each GP fit is single-threaded).
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from metta.sweep import Protein, SearchSpace, parse_settings
from mettagrid.errors import ConfigError

HARTMANN_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                       [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
HARTMANN_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                              [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def branin(v: dict) -> float:
    x1, x2 = v["x1"], v["x2"]
    b, c, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 1 / (8 * np.pi)
    return float((x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10)


def hartmann6(v: dict) -> float:
    x = np.array([v[f"x{i}"] for i in range(1, 7)])
    return float(HARTMANN_ALPHA @ np.exp(-np.sum(HARTMANN_A * (x - HARTMANN_P) ** 2, axis=1)))


def box(bounds: list[tuple[float, float]]) -> dict:
    return {f"x{i}": {"distribution": "uniform", "min": lo, "max": hi, "mean": (lo + hi) / 2}
            for i, (lo, hi) in enumerate(bounds, start=1)}


@dataclass(frozen=True)
class Case:
    function: Callable[[dict], float]
    parameters: dict
    goal: str
    optimum: float
    noise: float = 0.0
    max_suggestion_cost: float | None = None
    cost_falls: bool = False  # cost = 1 + 3 (1 - t)^2 instead: dear at the low end of x1


CASES = {
    "branin": Case(branin, box([(-5, 10), (0, 15)]), "minimize", 0.397887),
    "hartmann6": Case(hartmann6, box([(0, 1)] * 6), "maximize", 3.32237),
    "branin_noisy": Case(branin, box([(-5, 10), (0, 15)]), "minimize", 0.397887, noise=5.0),
    "branin_capped": Case(branin, box([(-5, 10), (0, 15)]), "minimize", 0.397887, max_suggestion_cost=2.5),
    "hartmann6_dear": Case(hartmann6, box([(0, 1)] * 6), "maximize", 3.32237, cost_falls=True),
}


def cost_of(case: Case, space: SearchSpace, values: dict) -> float:
    t = (space.normalize(values)[0] + 1) / 2
    return 1.0 + 3.0 * (1 - t if case.cost_falls else t) ** 2


def run_one(case_name: str, method: str, seed: int, evals: int,
            overrides: dict | None = None) -> tuple[list[float], ...]:
    """One search; returns the true value, cost and observed score of each evaluation, in order."""
    case = CASES[case_name]
    space = SearchSpace.from_dict(case.parameters)
    noise_rng = np.random.default_rng([seed, 1])
    random_rng = np.random.default_rng([seed, 2])
    settings = parse_settings({"max_suggestion_cost": case.max_suggestion_cost, **(overrides or {})})
    protein = Protein(space, settings, seed=seed, goal=case.goal)
    true_values, costs = [], []
    for _ in range(evals):
        if method == "protein":
            values, _info = protein.suggest()
        else:
            values = space.denormalize(space.sample_uniform(random_rng)[0])
        true_value = case.function(values)
        cost = cost_of(case, space, values)
        protein.observe(values, true_value + case.noise * noise_rng.standard_normal(), cost)
        true_values.append(true_value)
        costs.append(cost)
    observed = [o.score for o in protein.observations]
    return true_values, costs, observed


def best_curve(case: Case, true_values: list[float], observed: list[float]) -> np.ndarray:
    """After each evaluation: the true value of the run whose observed score is best so far."""
    sign = 1.0 if case.goal == "maximize" else -1.0
    curve, best_seen, best_true = [], -np.inf, np.nan
    for value, seen in zip(true_values, observed):
        if sign * seen > best_seen:
            best_seen, best_true = sign * seen, value
        curve.append(best_true)
    return np.array(curve)


def time_suggest(sizes=((40, 6), (100, 6), (200, 10)), repeats: int = 3) -> None:
    """Seconds for one model-based suggestion (both GP fits) at `runs` observations of `dim` parameters."""
    print("# seconds per suggestion (both GP fits), median of", repeats)
    for runs, dim in sizes:
        space = SearchSpace.from_dict(box([(0, 1)] * dim))
        rng = np.random.default_rng(0)
        observations = []
        for x in space.sample_uniform(rng, runs):
            values = space.denormalize(x)
            observations.append({"params": values, "score": -float(np.sum((x - 0.3) ** 2)), "cost": 1.0 + x[0] ** 2})
        protein = Protein(space, seed=0, observations=observations)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            _params, info = protein.suggest()
            times.append(time.perf_counter() - start)
        assert info["source"] == "gp", info
        print(f"runs={runs:<4} parameters={dim:<3} {np.median(times):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", default=list(CASES), help=f"any of {', '.join(CASES)}")
    parser.add_argument("--evals", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a protein: setting for Protein, e.g. expansion_rate=0.25 (repeatable)")
    parser.add_argument("--time-suggest", action="store_true", help="only time one suggestion at 40/100/200 runs")
    args = parser.parse_args()
    if args.time_suggest:
        time_suggest()
        return
    unknown = [case for case in args.cases if case not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r} (choose from {', '.join(CASES)})")
    import yaml

    overrides = {key: yaml.safe_load(value) for key, _, value in (item.partition("=") for item in args.set)}
    try:
        parse_settings(overrides)
    except ConfigError as error:
        parser.error(str(error))

    jobs = [(case, method, seed) for case in args.cases for method in ("protein", "random")
            for seed in range(args.seeds)]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(jobs, pool.map(run_one, *zip(*jobs), [args.evals] * len(jobs),
                                          [overrides] * len(jobs))))
    checkpoints = [n for n in (10, 20, 30, 40, 60, 80, 100) if n <= args.evals]

    if overrides:
        print(f"# protein settings changed: {overrides}")
    print(f"# mean over {args.seeds} seeds of the best value found after n evaluations "
          f"(true value of the best-observed run); cost = total spent")
    header = "".join(f"{'n=' + str(n):>10}" for n in checkpoints)
    print(f"{'case':<14} {'method':<8}{header}{'cost':>9}{'over cap':>10}")
    for case_name in args.cases:
        case = CASES[case_name]
        for method in ("protein", "random"):
            curves, totals, over = [], [], []
            for seed in range(args.seeds):
                true_values, costs, observed = results[(case_name, method, seed)]
                curves.append(best_curve(case, true_values, observed))
                totals.append(sum(costs))
                cap = case.max_suggestion_cost
                over.append(sum(c > cap for c in costs) if cap else 0)
            mean_curve = np.mean(curves, axis=0)
            cells = "".join(f"{mean_curve[n - 1]:>10.3f}" for n in checkpoints)
            capped = f"{np.mean(over):>10.1f}" if case.max_suggestion_cost else f"{'-':>10}"
            print(f"{case_name:<14} {method:<8}{cells}{np.mean(totals):>9.1f}{capped}")
        print(f"{case_name:<14} {'optimum':<8}{case.optimum:>10.3f}")
    print(f"# {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
