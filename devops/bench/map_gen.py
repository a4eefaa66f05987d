"""Time the map builders on the sizes that matter: 200x200 mazes, 100x100 random, WFC and
ConvChain maps, and a scene.

Usage (repo root, package installed with `pip install -e .`, or with PYTHONPATH=.):
    python devops/bench/map_gen.py [--runs N]
Prints the median wall time of N builds (different seeds) per case. Targets: mazes under
0.2 s, WFC 100x100 under 2 s. The texture cases read their example patterns from the scene
library (configs/scenes/), so they time the patterns that are shipped.
"""

from __future__ import annotations

import argparse
import statistics
import time

from mettagrid.map_builder import (
    ConvChainConfig,
    MazeConfig,
    RandomMapConfig,
    WfcConfig,
    load_scene,
    make_map_builder,
)
from mettagrid.map_builder.scene import read_scene


def texture_case(config_class, scene: str, size: int):
    """The generator of a shipped scene on its own (no connecting), at ``size x size``."""
    return config_class(**{**read_scene(scene).generator, "width": size, "height": size, "agents": 4})


def cases() -> dict:
    return {
        "maze kruskal 200x200": MazeConfig(
            algorithm="kruskal", width=200, height=200, agents=4, border_width=1
        ),
        "maze dfs 200x200": MazeConfig(algorithm="dfs", width=200, height=200, agents=4, border_width=1),
        "random 100x100": RandomMapConfig(
            width=100,
            height=100,
            agents=384,
            objects={"wall": 160, "altar": 20, "mine_red": 20},
            border_width=6,
        ),
        "wfc 100x100": texture_case(WfcConfig, "wfc/caves", 100),
        "convchain 100x100": texture_case(ConvChainConfig, "convchain/cave", 100),
        "scene wfc/caves 100x100": load_scene("wfc/caves", 100, 100),
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
    for name, config in cases().items():
        print(f"{name:26s} {median_build_seconds(config, args.runs) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
