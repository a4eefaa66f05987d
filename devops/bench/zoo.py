#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """The policy zoo on one budget: for each architecture of metta/agent/architectures.py, its
parameter count, its training agent-steps/s here, and its navigation score after the same
wall-clock training budget; writes the "Policy zoo" section of docs/performance.md and a curves
PNG (reward against minutes) in docs/images/.

  devops/bench/zoo.py                                  # every architecture, 1 minute each
  devops/bench/zoo.py --minutes 3 --only fast mamba    # a subset, longer
  devops/bench/zoo.py --no-docs                        # print only

One function per kind of row (`architecture_rows`); a `--losses` mode adds one for the loss table
(same columns: a training run per row on the same budget, scored the same way).
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "devops" / "bench"))

from bc_student import TRAIN_OVERRIDES as BASE_OVERRIDES  # noqa: E402  (train() applies them first)
from bc_student import score, train  # noqa: E402  (the bench's run-and-score helpers)
from learn import curve  # noqa: E402

ENV = "mettagrid/navigation"
# A smaller rollout than the cpu preset, so slow architectures still finish several epochs in a minute.
TRAIN_OVERRIDES = ["trainer.batch_size=1024", "trainer.minibatch_size=256", "trainer.bptt_horizon=16"]
SECTION = "## Policy zoo (`devops/bench/zoo.py`)"


def parameter_count(name: str) -> int:
    from metta.agent.architectures import make_policy
    from metta.agent.env_info import PolicyEnvInfo
    from mettagrid.env_configs import compose_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    env = MettaGridVecEnv(compose_env_config(ENV), num_envs=1, seed=0)
    try:
        policy = make_policy({"name": name}, PolicyEnvInfo.from_vec_env(env))
    finally:
        env.close()
    return sum(p.numel() for p in policy.parameters())


def run_row(label: str, overrides: list[str], minutes: float, train_dir: Path, episodes: int) -> dict:
    """Train one configuration for `minutes`, then measure it: the columns every row kind shares."""
    run = f"zoo_{label}_{time.strftime('%Y%m%d_%H%M%S')}"
    run_dir = train(run, ENV, None, minutes, train_dir, [*TRAIN_OVERRIDES, *overrides])
    if not (run_dir / "metrics.jsonl").is_file() or not list((run_dir / "checkpoints").glob("*:v*.pt")):
        # Not one epoch within the budget (a loaded machine): a row of zeros says so.
        return {"label": label, "agent_steps": 0, "sps": 0.0, "score": float("nan"), "curve": []}
    points = curve(run_dir)
    rates = [p["sps"] for p in points[1:] if p["sps"]] or [p["sps"] for p in points if p["sps"]]
    reward = score({label: f"file://{run_dir}/checkpoints"}, ENV, episodes, seed=12345)[label]
    return {"label": label, "agent_steps": points[-1]["agent_steps"] if points else 0,
            "sps": sum(rates) / len(rates) if rates else 0.0, "score": reward, "curve": points}


def architecture_rows(names: list[str], minutes: float, train_dir: Path, episodes: int) -> list[dict]:
    rows = []
    for name in names:
        row = run_row(name, [f"agent={name}"], minutes, train_dir, episodes)
        row["params"] = parameter_count(name)
        print(f"{name}: {row['params']:,} params, {row['sps']:,.0f} agent steps/s, "
              f"{row['agent_steps']:,} steps, navigation {row['score']:.3f}", flush=True)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| architecture | parameters | train agent steps/s | agent steps in budget | navigation score |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| `{r['label']}` | {r.get('params', 0):,} | {r['sps']:,.0f} | {r['agent_steps']:,} | {r['score']:.3f} |"
              for r in rows]
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # not in the venv: a dependency-free SVG instead
        from zoo_losses import plot_svg

        plot_svg({row["label"]: row["curve"] for row in rows}, path.with_suffix(".svg"))
        return

    figure, axis = plt.subplots(figsize=(8, 5))
    for row in rows:
        points = [p for p in row["curve"] if p["reward"] is not None]
        axis.plot([p["minutes"] for p in points], [p["reward"] for p in points], label=row["label"])
    axis.set_xlabel("minutes of training")
    axis.set_ylabel("mean episode reward (training)")
    axis.set_title(f"Policy zoo on {ENV}")
    axis.legend(fontsize=8)
    figure.tight_layout()
    from metta.common.uri import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as scratch:
        figure.savefig(scratch, dpi=80, format="png")


def write_section(doc: Path, text: str) -> None:
    """Replace the section (up to the next `## `) or append it."""
    from metta.common.uri import atomic_write_bytes

    content = doc.read_text()
    if SECTION in content:
        start = content.index(SECTION)
        end = content.find("\n## ", start + len(SECTION))
        content = content[:start] + text + (content[end:] if end >= 0 else "\n")
    else:
        content = content.rstrip("\n") + "\n\n" + text + "\n"
    atomic_write_bytes(doc, content.encode())


def main() -> None:
    from metta.agent.architectures import ARCHITECTURES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="wall-clock training budget per architecture")
    parser.add_argument("--only", nargs="*", default=None, help="architectures to run (default: all)")
    parser.add_argument("--episodes", type=int, default=8, help="navigation episodes scored per policy")
    parser.add_argument("--train-dir", type=Path, default=ROOT / "train_dir" / "bench")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--note", default="", help="the machine's conditions, for the doc (e.g. 'quiet 2-core box')")
    args = parser.parse_args()

    names = args.only or list(ARCHITECTURES)
    unknown = sorted(set(names) - set(ARCHITECTURES))
    if unknown:
        raise SystemExit(f"--only: unknown architecture(s) {', '.join(unknown)}; known: {', '.join(ARCHITECTURES)}")
    started = time.monotonic()
    rows = architecture_rows(names, args.minutes, args.train_dir, args.episodes)
    print(table(rows))
    if args.no_docs:
        return
    image = ROOT / "docs" / "images" / "zoo_curves.png"
    plot(rows, image)
    drawn = next((path for path in (image, image.with_suffix(".svg")) if path.is_file()), None)
    picture = f"\n\n![reward against minutes per architecture](images/{drawn.name})" if drawn else ""
    (args.train_dir / "zoo_rows.json").write_text(json.dumps([{k: v for k, v in r.items() if k != "curve"}
                                                              for r in rows], indent=1))
    command = "devops/bench/zoo.py --minutes " + f"{args.minutes:g}" + (f" --only {' '.join(names)}"
                                                                        if args.only else "")
    text = (f"{SECTION}\n\n`{command}` ({time.strftime('%Y-%m-%d')}, "
            f"{(time.monotonic() - started) / 60:.0f} min in all): each architecture trained on {ENV} for "
            f"{args.minutes:g} wall-clock minute(s) with `{' '.join([*BASE_OVERRIDES, *TRAIN_OVERRIDES])}` (later "
            f"settings win), one after another, then scored on {args.episodes} fresh episodes (mean reward per "
            f"agent; the scripted shortest-path player scores about 9.4 here). {args.note}\n\n"
            f"{table(rows)}{picture}\n")
    write_section(ROOT / "docs" / "performance.md", text)


if __name__ == "__main__":
    main()
