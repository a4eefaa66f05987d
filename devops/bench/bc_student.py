#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Teacher-guided training on a budget: train a student with the sliced cloner (BC from a
scripted teacher + PPO), then score it against the random policy and the teacher itself.

  devops/bench/bc_student.py                          # navigation, scripted teacher, 4 minutes
  devops/bench/bc_student.py --minutes 8 --ppo-baseline   # also a PPO-only run on the same budget
  devops/bench/bc_student.py --env cogsguard/arena/small --teacher metta://policy/role

Training runs as `tools/train.py` would for a user (a subprocess); at the budget it gets
SIGTERM, finishes its epoch and checkpoints. Scores are mean per-agent episode rewards from
`metta.sim.suite_runner.run_suite` on fresh maps of the training env (another seed).
"""

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# The cpu preset with smaller rollouts and more passes over each: the scripted teacher (Python,
# about 1 ms per agent step) dominates collection, so each of its steps is reused more.
TRAIN_OVERRIDES = ["trainer.batch_size=4096", "trainer.minibatch_size=1024", "trainer.update_epochs=4"]


def train(run: str, env: str, teacher: str | None, minutes: float, train_dir: Path, extra: list[str]) -> Path:
    command = [str(ROOT / "tools" / "train.py"), f"run={run}", f"train_dir={train_dir}", f"env={env}", "wandb=off",
               "trainer.total_timesteps=10_000_000_000", *TRAIN_OVERRIDES, *extra]
    if teacher:
        command.append(teacher)
    print(f"# {' '.join(command[1:])}", flush=True)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # finish the epoch, checkpoint, exit
        process.wait(timeout=600)
    if process.returncode not in (0, -signal.SIGTERM):
        raise SystemExit(f"training {run} failed (exit {process.returncode})")
    return train_dir / run


def last_metrics(run_dir: Path) -> dict:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return json.loads(lines[-1]) if lines else {}


def score(uris: dict[str, str], env: str, episodes: int, seed: int) -> dict[str, float]:
    """Mean per-agent episode reward of each policy on `episodes` episodes of `env`."""
    from metta.agent.policy_uri import resolve_policies
    from metta.sim.simulation_config import SimulationSuiteConfig
    from metta.sim.suite_runner import run_suite

    suite = SimulationSuiteConfig(name="bc_student", num_episodes=episodes, max_time_s=600,
                                  simulations={"train_env": {"env": env}})
    specs = [resolve_policies(uri)[0] for uri in uris.values()]
    with tempfile.TemporaryDirectory() as scratch:
        results = run_suite(specs, suite, Path(scratch) / "stats.duckdb", seed=seed)
    return {name: result.metrics["reward_avg"] for name, result in zip(uris, results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="mettagrid/navigation")
    parser.add_argument("--teacher", default="metta://policy/scripted")
    parser.add_argument("--teacher-led", type=float, default=0.5)
    parser.add_argument("--student-led", type=float, default=0.5)
    parser.add_argument("--minutes", type=float, default=4.0, help="wall-clock training budget per run")
    parser.add_argument("--episodes", type=int, default=16, help="evaluation episodes per policy")
    parser.add_argument("--ppo-baseline", action="store_true", help="also train PPO alone on the same budget")
    parser.add_argument("--train-dir", type=Path, default=ROOT / "train_dir" / "bench")
    parser.add_argument("overrides", nargs="*", default=[],
                        help="extra train overrides (after --), applied after the bench's own")
    args = parser.parse_args()

    stamp = time.strftime("%Y%m%d_%H%M%S")
    teacher = (f'teacher={{mode: sliced_cloner, policy_uri: "{args.teacher}", '
               f"teacher_led_proportion: {args.teacher_led}, student_led_proportion: {args.student_led}}}")
    runs = {"student (BC + PPO)": train(f"bc_student_{stamp}", args.env, teacher, args.minutes, args.train_dir,
                                        args.overrides)}
    if args.ppo_baseline:
        runs["PPO only"] = train(f"bc_baseline_{stamp}", args.env, None, args.minutes, args.train_dir, args.overrides)
    for name, run_dir in runs.items():
        row = last_metrics(run_dir)
        agreement = row.get("teacher/agreement")
        print(f"{name}: {int(row.get('metric/epoch', 0))} epochs, {int(row.get('metric/agent_step', 0)):,} agent steps"
              + (f", teacher/agreement {agreement:.3f}, losses/bc_loss {row['losses/bc_loss']:.3f}"
                 if agreement is not None else ""), flush=True)

    uris = {name: f"file://{run_dir}/checkpoints" for name, run_dir in runs.items()}
    uris.update({"random": "metta://policy/random", f"teacher ({args.teacher})": args.teacher})
    scores = score(uris, args.env, args.episodes, seed=12345)
    print(f"\n{args.env}: mean episode reward per agent over {args.episodes} episodes")
    for name, value in scores.items():
        print(f"  {name:<40} {value:8.3f}")
    student, random = scores["student (BC + PPO)"], scores["random"]
    print(f"student {'beats' if student > random else 'does NOT beat'} random ({student:.3f} vs {random:.3f})")


if __name__ == "__main__":
    main()
