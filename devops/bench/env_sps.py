#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Environment throughput: env-steps/s and agent-steps/s of the C++ core.

Cases match ../shared/bench/upstream_mettagrid.sh so the two can be compared side by side:
  arena24   24 agents, one 37x37 map (25x25 interior, 6-cell wall border), 10 walls at random
            (exactly the upstream arena's objects)
  arena24b  the same map with buildings (mines, generators, altars, ...) as well
  nav4      4 agents on a 10x10 navigation map
  dense384  384 agents, 112x112 map (100x100 interior, 6-cell border), 160 walls
and a batched case:
  vec       16 arena24 envs in one vector, at 1 and 2 threads

Single process; random valid actions from a pre-generated table; max_steps 1000 with the
resets inside the timed loop. `--window upstream` measures with the upstream default
observation (13x13, 500 tokens), `--window ours` with ours (11x11, 200 tokens).
`--actions int32` (default) writes the actions into the env's own int32 buffer (no copy, no
check); `--actions int64` passes an int64 array, as a torch policy does, so every step pays
the copy and the int32 range check of `MettaGridVecEnv.step`.

Prints one line per measurement:
  case=<name> window=<w> threads=<t> envs=<n> agents=<a> map=<h>x<w> env_sps=<median> agent_sps=<median>
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np

from mettagrid.config import EnvConfig
from mettagrid.env_configs import compose_env_config
from mettagrid.vec_env import MettaGridVecEnv

WINDOWS = {"ours": (11, 11, 200), "upstream": (13, 13, 500)}

# Buildings for the arena24b case (upstream's arena24 has only 10 walls).
ARENA_BUILDINGS = {
    "mine_red": 10,
    "generator_red": 5,
    "altar": 5,
    "armory": 1,
    "lasery": 1,
    "lab": 1,
    "factory": 1,
    "temple": 1,
    "block": 20,
    "wall": 20,
}


def _config(env_name: str, num_agents: int, builder: dict, window: str) -> EnvConfig:
    data = compose_env_config(env_name).model_dump()
    width, height, tokens = WINDOWS[window]
    data["game"].update(
        num_agents=num_agents,
        max_steps=1000,
        obs_width=width,
        obs_height=height,
        num_observation_tokens=tokens,
        map_builder=builder,
    )
    data["desync_episodes"] = False
    return EnvConfig.model_validate(data)


def case_config(case: str, window: str) -> EnvConfig:
    if case in ("arena24", "vec"):
        builder = dict(type="random", width=25, height=25, border_width=6, agents=24, objects={"wall": 10})
        return _config("mettagrid/arena/advanced", 24, builder, window)
    if case == "arena24b":
        builder = dict(type="random", width=25, height=25, border_width=6, agents=24, objects=ARENA_BUILDINGS)
        return _config("mettagrid/arena/advanced", 24, builder, window)
    if case == "nav4":
        builder = dict(type="random", width=8, height=8, border_width=1, agents=4, objects={"altar": 2, "wall": 8})
        return _config("mettagrid/navigation", 4, builder, window)
    if case == "dense384":
        builder = dict(type="random", width=100, height=100, border_width=6, agents=384, objects={"wall": 160})
        return _config("mettagrid/arena/basic", 384, builder, window)
    raise ValueError(f"unknown case {case!r}")


def measure(case: str, window: str, threads: int, seconds: float, reps: int, action_dtype: str = "int32") -> None:
    num_envs = 16 if case == "vec" else 1
    env = MettaGridVecEnv(case_config(case, window), num_envs=num_envs, seed=0, num_threads=threads)
    env.reset()
    rng = np.random.default_rng(1)
    table = [env.valid_random_actions(rng).astype(action_dtype) for _ in range(256)]
    actions = env.buffers.actions

    def run(steps: int, start: int) -> None:
        for i in range(start, start + steps):
            if action_dtype == "int32":
                np.copyto(actions, table[i % len(table)])
                env.step(actions)
            else:
                env.step(table[i % len(table)])

    index, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:  # warm-up
        run(64, index)
        index += 64
    rates = []
    for _ in range(reps):
        steps, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            run(64, index)
            index += 64
            steps += 64
        rates.append(steps * num_envs / (time.perf_counter() - t0))
    env_sps = statistics.median(rates)
    height, width = env.map_size()
    print(
        f"case={case} window={window} actions={action_dtype} threads={threads} envs={num_envs} agents={env.num_agents} "
        f"map={height}x{width} env_sps={env_sps:.0f} agent_sps={env_sps * env.num_agents:.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=["arena24", "arena24b", "nav4", "dense384", "vec"])
    parser.add_argument("--window", choices=[*WINDOWS, "both"], default="both")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--actions", choices=["int32", "int64"], default="int32")
    args = parser.parse_args()
    windows = list(WINDOWS) if args.window == "both" else [args.window]
    for case in args.cases:
        for window in windows:
            for threads in (1, 2) if case == "vec" else (1,):
                measure(case, window, threads, args.seconds, args.reps, args.actions)


if __name__ == "__main__":
    main()
