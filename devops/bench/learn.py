#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Does it learn? Train from scratch on a wall-clock budget and print reward against agent
steps and time; for navigation, compare the trained policy with the scripted shortest-path
player on the same maps; for the arenas, compare hearts and reward of the trained policy, the
scripted arena player (mettagrid/scripted_arena.py) and random on fresh episodes.

  devops/bench/learn.py default --minutes 3          # the README's embedded default
  devops/bench/learn.py navigation --minutes 30      # the navigation target (>= 80% of scripted)
  devops/bench/learn.py default navigation --plot docs/images/learning.png
  devops/bench/learn.py arena --minutes 60 --plot docs/images/arena_learning.png --table docs/performance.md
  devops/bench/learn.py arena_basic_curriculum --minutes 30   # unshaped arena/basic, easy arena mixed in
  devops/bench/learn.py arena_basic_mostly_easy --minutes 30  # the same, three easy episodes to one
  devops/bench/learn.py arena_basic_mostly_easy --minutes 30 -- seed=1   # another seed (train overrides after --)

Training runs as `tools/train.py` would for a user (a subprocess); at the budget it gets
SIGTERM, finishes its epoch and checkpoints. The curve comes from the run's metrics.jsonl.
"""

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling helpers (svg_chart)

TASKS = {
    # The train_job defaults, unchanged: what `./tools/train.py` does with no arguments.
    "default": [],
    "navigation": ["env=mettagrid/navigation"],
    # The arena goal (issue #19): the recipe `arena`'s settings on each arena.
    "arena": ["env=mettagrid/arena/basic_easy_shaped"],
    "arena_basic": ["env=mettagrid/arena/basic"],
    "arena_combat": ["env=mettagrid/arena/combat"],
    "arena_advanced": ["env=mettagrid/arena/advanced"],
    # Unshaped arena/basic learned by mixing in the easy arena's episodes (a curriculum): scored on arena/basic.
    "arena_basic_curriculum": ["trainer.curriculum=env/mettagrid/curriculum/arena/basic_with_easy"],
    "arena_basic_mostly_easy": ["trainer.curriculum=env/mettagrid/curriculum/arena/basic_mostly_easy"],
}
# The env a curriculum task is scored on: the target its curriculum mixes the easy arena into.
CURRICULUM_TARGETS = {"arena_basic_curriculum": "mettagrid/arena/basic",
                      "arena_basic_mostly_easy": "mettagrid/arena/basic"}
# The env each arena task is scored on: its own env, or the curriculum's target.
ARENA_ENVS = {task: args[0].removeprefix("env=") for task, args in TASKS.items()
              if task.startswith("arena") and args[0].startswith("env=")}
ARENA_ENVS.update(CURRICULUM_TARGETS)
TABLE_TITLE = "## Arena learning"


def train(task: str, minutes: float, train_dir: Path, extra: list[str]) -> Path:
    run = f"learn_{task}_{time.strftime('%Y%m%d_%H%M%S')}"
    command = [str(ROOT / "tools" / "train.py"), f"run={run}", f"train_dir={train_dir}", "wandb=off",
               "trainer.total_timesteps=10_000_000_000", *TASKS[task], *extra]
    print(f"# {task}: {' '.join(command[1:])}", flush=True)
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        code = process.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # finish the epoch, checkpoint, exit
        code = process.wait(timeout=600)
    if not (train_dir / run / "metrics.jsonl").is_file():
        sys.exit(f"learn.py: {task}: tools/train.py wrote no metrics (exit code {code}); its output is above")
    return train_dir / run


def curve(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    start = rows[0]["time"] - rows[0].get("timing/collect_s", 0) - rows[0].get("timing/update_s", 0)
    return [{"agent_steps": r["agent_steps"], "minutes": (r["time"] - start) / 60,
             "reward": r.get("overview/reward"), "sps": r.get("overview/sps"),
             "hearts": r.get("env_agent/heart.gained")} for r in rows]


def print_curve(task: str, rows: list[dict], points: int = 12) -> None:
    step = max(1, len(rows) // points)
    print(f"{task}: agent_steps  minutes  reward  sps")
    for row in rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else []):
        reward = "-" if row["reward"] is None else f"{row['reward']:.3f}"
        print(f"{task}: {row['agent_steps']:>11,}  {row['minutes']:7.2f}  {reward:>6}  {row['sps']:,.0f}")


def first_episodes(env_name: str, make_actor, episodes: int, seed: int) -> list[dict]:
    """The first finished episode result of each of `episodes` envs of env_name (no desync:
    every episode is a full one), played by the actor `make_actor(env)` builds."""
    import numpy as np

    from mettagrid.env_configs import compose_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    config = compose_env_config(env_name).model_copy(update={"desync_episodes": False})
    env = MettaGridVecEnv(config, num_envs=episodes, seed=seed)
    act = make_actor(env)
    observations, finished = env.reset(), {}
    done = np.zeros(env.total_agents, dtype=bool)
    while len(finished) < episodes:
        observations, _, terminals, truncations = env.step(act(observations, done))
        done = terminals | truncations
        for result in env.episode_results():
            finished.setdefault(result["env_index"], result)
    return list(finished.values())


def mean_episode_reward(env_name: str, make_actor, episodes: int, seed: int) -> float:
    """Mean per-agent episode return over `episodes` full episodes of env_name."""
    import numpy as np

    results = first_episodes(env_name, make_actor, episodes, seed)
    return float(np.mean([np.mean(result["episode_rewards"]) for result in results]))


def arena_scores(env_name: str, make_actor, episodes: int, seed: int) -> dict[str, float]:
    """Per-agent means over `episodes` fresh full episodes: heart.gained and episode reward."""
    import numpy as np

    results = first_episodes(env_name, make_actor, episodes, seed)
    hearts = [np.mean([stats.get("heart.gained", 0.0) for stats in result["agent_stats"]]) for result in results]
    return {"hearts": float(np.mean(hearts)),
            "reward": float(np.mean([np.mean(result["episode_rewards"]) for result in results]))}


def scripted_player(name: str):
    """An actor factory for a row of SCRIPTED_POLICIES."""
    from mettagrid.scripted_policies import SCRIPTED_POLICIES

    def make(env):
        policy = SCRIPTED_POLICIES[name](env, seed=0)
        return lambda observations, done: policy.act(observations)

    return make


def write_table(path: Path, rows: list[str]) -> None:
    """Write `rows` into the arena learning table in `path` (the rows between its header and the
    first blank line after it), atomically: a row replaces the old row of the same task (first
    cell), so tasks measured in separate runs keep their rows; a new task's row is appended."""
    from metta.common.uri import atomic_write_bytes

    lines = path.read_text().splitlines()
    try:
        start = lines.index(TABLE_TITLE)
        header = next(i for i in range(start, len(lines)) if lines[i].startswith("| task"))
    except (ValueError, StopIteration):
        sys.exit(f"learn.py: {path}: no '{TABLE_TITLE}' section with a '| task' table to fill")
    end = header + 2
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    kept = {task_of(row): row for row in lines[header + 2:end]}
    kept.update({task_of(row): row for row in rows})
    lines[header + 2:end] = list(kept.values())
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())
    print(f"# table: {path}", flush=True)


def task_of(row: str) -> str:
    """The first cell of a markdown table row: `| arena | 60 min | ...` -> `arena`."""
    return row.strip().strip("|").split("|")[0].strip()


def trained_actor(run_dir: Path):
    import torch

    from metta.agent.policy_actor import PolicyActor
    from metta.agent.policy_store import PolicyStore

    policy = PolicyStore().records(f"file://{run_dir}/checkpoints", selector="latest")[0].load("cpu")

    def make(env):
        actor = PolicyActor(policy, env)

        def act(observations, done):
            actor.done = torch.as_tensor(done)
            return actor.act(observations)

        return act

    return make


def scripted_actor(env):
    from mettagrid.scripted_navigator import NearestBuildingPolicy

    policy = NearestBuildingPolicy(env, seed=0)
    return lambda observations, done: policy.act(observations)


def plot(results: dict[str, list[dict]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # not in the venv: the same curves as a dependency-free SVG
        plot_svg(results, path.with_suffix(".svg"))
        return
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for ax, (task, rows) in zip(axes[0], results.items()):
        rows = [r for r in rows if r["reward"] is not None]
        ax.plot([r["agent_steps"] for r in rows], [r["reward"] for r in rows], label="mean episode reward")
        if task in ARENA_ENVS:
            ax.plot([r["agent_steps"] for r in rows], [r["hearts"] or 0.0 for r in rows], label="heart.gained")
            ax.legend()
        ax.set_title(f"{task} ({rows[-1]['minutes']:.0f} min on this machine)" if rows else task)
        ax.set_xlabel("agent steps")
        ax.set_ylabel("episode reward per agent")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"# plot: {path}", flush=True)


def plot_svg(results: dict[str, list[dict]], path: Path) -> None:
    """Episode reward (and for the arenas heart.gained) per agent against minutes, every task
    in one chart."""
    from svg_chart import line_chart

    series = {}
    for task, rows in results.items():
        series[f"{task} reward"] = [(r["minutes"], r["reward"]) for r in rows if r["reward"] is not None]
        if task in ARENA_ENVS:
            # No heart in an epoch's finished episodes leaves the stat out of its row: 0 there.
            series[f"{task} heart.gained"] = [(r["minutes"], r["hearts"] or 0.0) for r in rows
                                              if r["reward"] is not None]
    line_chart(series, path, "per agent per episode, while training", "wall-clock minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="+", choices=sorted(TASKS))
    parser.add_argument("--minutes", type=float, default=30.0, help="wall-clock budget per task")
    parser.add_argument("--train-dir", type=Path, default=ROOT / "train_dir" / "bench")
    parser.add_argument("--plot", type=Path, default=None, help="write the curves here (PNG; SVG beside it without matplotlib)")
    parser.add_argument("--episodes", type=int, default=16, help="evaluation episodes (navigation; arenas: 4)")
    parser.add_argument("--run-dir", type=Path, default=None,
                        help="evaluate this finished run (train_dir/<run>) instead of training one")
    parser.add_argument("--table", type=Path, default=None, help="fill the arena learning table of this doc")
    parser.add_argument("--note", default="", help="conditions for the table's last column")
    parser.add_argument("overrides", nargs="*", default=[], help="extra train overrides (after --)")
    # argparse cannot split two open-ended positionals (tasks, overrides) at "--" itself.
    argv = sys.argv[1:]
    after = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:after])
    args.overrides += argv[after + 1:]
    results, table = {}, []
    for task in args.tasks:
        run_dir = args.run_dir or train(task, args.minutes, args.train_dir, args.overrides)
        results[task] = curve(run_dir)
        print_curve(task, results[task])
        if task == "navigation":
            learned = mean_episode_reward("mettagrid/navigation", trained_actor(run_dir), args.episodes, seed=123)
            scripted = mean_episode_reward("mettagrid/navigation", scripted_actor, args.episodes, seed=123)
            print(f"navigation: trained {learned:.3f} vs scripted shortest-path {scripted:.3f} "
                  f"= {100 * learned / scripted:.0f}% (target 80%)", flush=True)
        if task in ARENA_ENVS:
            episodes = args.episodes if args.episodes != 16 else 4
            scores = {"trained": arena_scores(ARENA_ENVS[task], trained_actor(run_dir), episodes, seed=123)}
            for name in ("arena", "random"):
                scores[name] = arena_scores(ARENA_ENVS[task], scripted_player(name), episodes, seed=123)
            last = results[task][-1]
            for name, score in scores.items():
                print(f"{task}: {name:>7}: heart.gained/agent {score['hearts']:.3f}  reward/agent "
                      f"{score['reward']:.3f}", flush=True)
            table.append(f"| {task} | {last['minutes']:.1f} min, {last['agent_steps']:,} steps | 1 | "
                         + " | ".join(f"{scores[n]['hearts']:.2f} / {scores[n]['reward']:.2f}"
                                      for n in ("trained", "arena", "random"))
                         + f" | {episodes} | {args.note} |")
    if args.table and table:
        write_table(args.table, table)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
