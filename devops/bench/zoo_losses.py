#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """The loss zoo on a budget: train navigation with PPO and with each zoo loss added (or, for
GRPO, instead), each for the same wall-clock minutes, then score every policy on the same
fresh navigation episodes; write the "Loss zoo" table into docs/performance.md and the
curves into docs/images/zoo_losses.svg.

  devops/bench/zoo_losses.py --losses                    # every row, 2 minutes each
  devops/bench/zoo_losses.py --losses --minutes 1 --only ppo grpo
  devops/bench/zoo_losses.py --losses --teacher file://train_dir/nav/checkpoints

The kickstarter needs a trained teacher: `--teacher` (any policy URI), else the PPO row's own
checkpoint (so it measures distillation from an equally short run). `--losses` names the mode
the combined devops/bench/zoo.py will have; this file is that mode on its own.
Training runs as `tools/train.py` (a subprocess) and is stopped by SIGTERM at the budget.
"""

import argparse
import datetime
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bc_student import train  # noqa: E402  (the bench scripts are not a package)
from learn import curve, mean_episode_reward, trained_actor  # noqa: E402

ENV = "mettagrid/navigation"
# row key -> (label in the table, train overrides)
ROWS: dict[str, tuple[str, list[str]]] = {
    "ppo": ("ppo", []),
    "kickstarter": ("ppo + kickstarter", ["trainer.losses.kickstarter.enabled=true"]),  # + teacher_uri below
    "action_supervised": ("ppo + action_supervised", [
        "trainer.losses.action_supervised.enabled=true",
        "trainer.losses.action_supervised.supervisor_uri=metta://policy/scripted"]),
    "grpo": ("grpo (ppo off)", ["trainer.losses.ppo.enabled=false", "trainer.losses.grpo.enabled=true"]),
    "contrastive": ("ppo + contrastive", ["trainer.losses.contrastive.enabled=true"]),
    "dynamics": ("ppo + dynamics", ["trainer.losses.dynamics.enabled=true"]),
}
SECTION = "## Loss zoo"


def plot_svg(curves: dict[str, list[dict]], path: Path) -> None:
    """Training reward against minutes, one line per row, as a dependency-free SVG."""
    from svg_chart import line_chart

    line_chart({name: [(r["minutes"], r["reward"]) for r in rows if r["reward"] is not None]
                for name, rows in curves.items()}, path,
               "navigation: training episode reward per agent vs minutes", "minutes of training")


def write_section(doc: Path, text: str) -> None:
    """Replace the "Loss zoo" section of docs/performance.md (or append it)."""
    old = doc.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    doc.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--losses", action="store_true", required=True, help="the loss-zoo mode")
    parser.add_argument("--minutes", type=float, default=2.0, help="wall-clock training budget per row")
    parser.add_argument("--episodes", type=int, default=16, help="evaluation episodes per policy")
    parser.add_argument("--only", nargs="*", choices=list(ROWS), help="rows to run (default: all)")
    parser.add_argument("--teacher", help="the kickstarter's teacher (a policy URI); default: the ppo row's run")
    parser.add_argument("--train-dir", type=Path, default=ROOT / "train_dir" / "bench")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "images" / "zoo_losses.svg")
    parser.add_argument("overrides", nargs="*", default=[], help="extra train overrides for every row (after --)")
    args = parser.parse_args()

    rows = {key: row for key, row in ROWS.items() if not args.only or key in args.only}
    stamp = time.strftime("%Y%m%d_%H%M%S")
    runs: dict[str, Path] = {}
    for key, (name, extra) in rows.items():
        extra = list(extra)
        if key == "kickstarter":
            teacher = args.teacher or (f"{runs['ppo']}/checkpoints" if "ppo" in runs else None)
            if teacher is None:
                print("# kickstarter skipped: give --teacher or run the ppo row too", flush=True)
                continue
            if not teacher.startswith(("file://", "s3://", "wandb://", "metta://")):
                teacher = f"file://{teacher}"
            extra.append(f"trainer.losses.kickstarter.teacher_uri={teacher}")
        run = f"zoo_{key}_{stamp}"
        runs[name] = train(run, ENV, None, args.minutes, args.train_dir,
                           ["system.torch_threads=1", *extra, *args.overrides])

    curves, lines = {}, []
    for name, run_dir in runs.items():
        curves[name] = curve(run_dir)
        last = curves[name][-1]
        score = mean_episode_reward(ENV, trained_actor(run_dir), args.episodes, seed=123)
        lines.append(f"| {name} | {last['agent_steps']:,} | {last['sps']:,.0f} | {score:.2f} |")
        print(lines[-1], flush=True)
    scripted = mean_episode_reward(ENV, __import__("learn").scripted_actor, args.episodes, seed=123)
    plot_svg(curves, args.plot)
    today = datetime.date.today().isoformat()
    command = f"devops/bench/zoo_losses.py --losses --minutes {args.minutes:g} --episodes {args.episodes}"
    text = (f"{SECTION}\n\n"
            f"`nice -n 10 {command}` ({today}): `{ENV}`, the `fast` policy and cpu preset, "
            f"{args.minutes:g} minutes of wall clock per row on the shared 2-core machine (other jobs were "
            "running, so agent-steps/s and therefore the scores are low and noisy; compare rows, not "
            f"absolute values). Score: mean episode reward per agent over {args.episodes} fresh episodes "
            f"(seed 123, sampled actions); the scripted shortest-path player scores {scripted:.2f}. "
            "The kickstarter's teacher is "
            + (f"`{args.teacher}`." if args.teacher else "the ppo row's own checkpoint (as short a run).")
            + " Curves: training episode reward against minutes.\n\n"
            "| row | agent steps | agent-steps/s (last epoch) | eval score |\n| --- | --- | --- | --- |\n"
            + "\n".join(lines) + f"\n\n![loss zoo curves](images/{args.plot.name})\n\n")
    write_section(args.doc, text)
    print(json.dumps({"doc": str(args.doc), "rows": len(lines)}), flush=True)


if __name__ == "__main__":
    main()
