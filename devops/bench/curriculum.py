#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Curriculum benchmarks (docs/performance.md, "Curricula").

  --sps        training-env steps/s (random actions, the TrainingEnv the trainer uses): one fixed
               task (mettagrid/navigation, a random map per episode built inline) vs the bucketed
               navigation curriculum with its maps prebuilt on a worker thread, and the same
               curriculum with maps built inline at the episode boundary (what prebuilding saves).
  --minutes M  learning progress vs uniform random over the navigation eval suite's six maps:
               ./tools/train.py on each for M wall-clock minutes (both at once, one core each),
               evaluated on the suite every few epochs; prints the final scores and writes the
               curves as an SVG (--svg).

  nice -n 10 devops/bench/curriculum.py --sps --seconds 10
  nice -n 10 devops/bench/curriculum.py --minutes 6 --seeds 0 --svg docs/images/curriculum_lp_vs_random.svg
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling helpers (svg_chart)

import numpy as np  # noqa: E402

EVAL_MAPS = ["emptyspace", "walls", "corridors", "labyrinth", "radial_maze", "obstacles"]


def steps_per_second(env, seconds: float) -> tuple[float, int]:
    rng = np.random.default_rng(0)
    actions = [env.vec.valid_random_actions(rng) for _ in range(64)]
    env.reset()
    steps, episodes, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, _, infos = env.step(actions[steps % 64])
        episodes += len(infos)
        steps += 1
    return steps * env.num_envs / (time.perf_counter() - start), episodes


def bench_sps(args) -> None:
    from metta.rl.curriculum import load_curriculum
    from metta.rl.training_env import TrainingEnv
    from mettagrid.env_configs import compose_env_config

    overrides = [f"game.max_steps={args.max_steps}"]
    fixed = compose_env_config("mettagrid/navigation", overrides)
    env = TrainingEnv(fixed, args.envs, 1, seed=0)
    sps, episodes = steps_per_second(env, args.seconds)
    env.close()
    print(f"case=fixed_task envs={args.envs} env_sps={sps:.0f} episodes={episodes}", flush=True)

    shipped = (ROOT / "configs/env/mettagrid/curriculum/navigation.yaml").read_text()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(shipped + f"env_overrides: {{game: {{max_steps: {args.max_steps}}}}}\n")
    for prebuild in (True, False):
        curriculum = load_curriculum(file.name, seed=0)
        env = TrainingEnv(curriculum.config(0), args.envs, 1, seed=0, curriculum=curriculum, prebuild_maps=prebuild)
        sps, episodes = steps_per_second(env, args.seconds)
        stale = env.vec._tasks.stale
        env.close()
        print(f"case=bucketed_{'prebuilt' if prebuild else 'inline'} tasks={len(curriculum)} envs={args.envs} "
              f"env_sps={sps:.0f} episodes={episodes} stale_map_episodes={stale}", flush=True)
    os.unlink(file.name)


def curriculum_file(directory: Path, kind: str) -> Path:
    tasks = "\n".join(f"  - mettagrid/navigation/evals/{name}" for name in EVAL_MAPS)
    extra = "ema_timescale: 0.05\nsample_threshold: 3\nrand_task_rate: 0.2\n" if kind == "learning_progress" else ""
    path = directory / f"{kind}.yaml"
    path.write_text(f"kind: {kind}\n{extra}tasks:\n{tasks}\n")
    return path


def bench_minutes(args) -> None:
    out = Path(args.train_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for seed in args.seeds:
        procs = []
        for kind in ("learning_progress", "random"):
            run = f"cur_{kind}_s{seed}"
            cmd = [str(ROOT / "tools/train.py"), f"run={run}", f"train_dir={out}", f"seed={seed}",
                   f"trainer.curriculum={curriculum_file(out, kind)}", "sim=navigation",
                   f"trainer.evaluate_interval={args.eval_every}", "trainer.total_timesteps=1000000000",
                   "trainer.num_envs=64", "trainer.batch_size=4096", "trainer.minibatch_size=1024",
                   "trainer.bptt_horizon=16", "trainer.num_workers=1", "system.torch_threads=1", "wandb=off",
                   "trainer.checkpoint_interval=1000"]
            log = open(out / f"{run}.log", "w")
            procs.append((run, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)))
        time.sleep(args.minutes * 60)
        for _run, proc in procs:
            proc.terminate()  # the trainer stops at the end of its epoch and saves
        for run, proc in procs:
            proc.wait(timeout=300)
            runs[run] = read_curve(out / run / "metrics.jsonl")
    for run, curve in runs.items():
        final = curve[-1][1] if curve else float("nan")
        print(f"run={run} evals={len(curve)} final_navigation_score={final:.3f} "
              f"best={max((s for _, s in curve), default=float('nan')):.3f}", flush=True)
    if args.svg:
        write_svg(Path(args.svg), runs)


def read_curve(path: Path) -> list[tuple[float, float]]:
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    start = rows[0]["time"] if rows else 0
    return [((row["time"] - start) / 60, row["eval/navigation/score"]) for row in rows
            if "eval/navigation/score" in row]


def write_svg(path: Path, runs: dict[str, list[tuple[float, float]]]) -> None:
    """Score vs wall-clock minutes, one line per run: learning progress red, random blue."""
    from svg_chart import line_chart

    colours = {run: "#d62728" if "learning_progress" in run else "#1f77b4" for run in runs}
    line_chart(runs, path, "navigation eval suite score vs wall-clock minutes", "wall-clock minutes",
               colours=colours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sps", action="store_true", help="training-env steps/s: curriculum vs fixed task")
    parser.add_argument("--seconds", type=float, default=10.0, help="per --sps case")
    parser.add_argument("--envs", type=int, default=32)
    parser.add_argument("--max-steps", type=int, default=100, help="episode length in --sps (more switches)")
    parser.add_argument("--minutes", type=float, default=0.0, help="wall-clock budget per curriculum")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--eval-every", type=int, default=10, help="epochs between suite evaluations")
    parser.add_argument("--train-dir", default="train_dir/bench_curriculum")
    parser.add_argument("--svg", default=None, help="write the score curves here")
    args = parser.parse_args()
    if not args.sps and not args.minutes:
        parser.error("give --sps and/or --minutes M")
    if args.sps:
        bench_sps(args)
    if args.minutes:
        bench_minutes(args)


if __name__ == "__main__":
    main()
