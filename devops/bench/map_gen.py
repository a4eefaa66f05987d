"""Time the map builders on the sizes that matter: 200x200 mazes and a 100x100 random map.

Usage (repo root, package installed with `pip install -e .`, or with PYTHONPATH=.):
    python devops/bench/map_gen.py [--runs N]
Prints the median wall time of N builds (different seeds) per case.
"""

from __future__ import annotations

import argparse
import statistics
import time

from mettagrid.map_builder import MazeConfig, RandomMapConfig, make_map_builder

CASES = {
    "maze kruskal 200x200": MazeConfig(algorithm="kruskal", width=200, height=200, agents=4, border_width=1),
    "maze dfs 200x200": MazeConfig(algorithm="dfs", width=200, height=200, agents=4, border_width=1),
    "random 100x100": RandomMapConfig(
        width=100, height=100, agents=384, objects={"wall": 160, "altar": 20, "mine_red": 20}, border_width=6
    ),
}


def median_build_seconds(config, runs: int) -> float:
    builder = make_map_builder(config)
    times = []
    for seed in range(runs):
        start = time.perf_counter()
        builder.build(seed)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="builds per case; the median is reported")
    args = parser.parse_args()
    for name, config in CASES.items():
        print(f"{name:24s} {median_build_seconds(config, args.runs) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
