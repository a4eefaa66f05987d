#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Trainer throughput: end-to-end agent steps per second of `tools/train.py`, collect + update.

  devops/bench/train_sps.py                                  # agent=fast, hardware=cpu, 3 repeats
  devops/bench/train_sps.py --device cuda                    # hardware=gpu (AMP, pinned, compiled)
  devops/bench/train_sps.py --threads 2 -- trainer.minibatch_size=4096
  devops/bench/train_sps.py --compare /path/to/other/checkout   # A/B, runs alternating

Each repeat is a fresh run of tools/train.py (a subprocess, as a user runs it) stopped after
`--warmup + --epochs` epochs; its figure is the median `overview/sps` of the epochs after the
warm-up, and the per-phase `timing/*` seconds are averaged over them. With --compare the two
checkouts run alternately, back to back, so a loaded machine burdens both alike.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def require_device(device: str) -> None:
    """--device cuda on a machine without CUDA: one line, before anything starts."""
    if device == "cuda":
        try:
            import torch
        except ImportError:
            sys.exit("train_sps.py: --device cuda: torch is not installed in this Python; run devops/setup.sh")
        if not torch.cuda.is_available():
            sys.exit("train_sps.py: --device cuda: no CUDA device here (torch.cuda.is_available() is False); "
                     "use --device cpu or run on a GPU machine")


def overrides_for(args: argparse.Namespace) -> list[str]:
    hardware = "gpu" if args.device == "cuda" else "cpu"
    found = [f"hardware={hardware}", f"agent={args.agent}", f"env={args.env}", "wandb=off", "sim=smoke_test",
             "trainer.total_timesteps=10_000_000_000", "trainer.checkpoint_interval=100000",
             "trainer.checkpoint_interval_s=100000", "trainer.log_interval_s=100000"]
    if args.threads:
        found += [f"system.torch_threads={args.threads}", f"trainer.num_workers={args.threads}"]
    return found + args.overrides


def run_once(root: Path, overrides: list[str], epochs: int, timeout_s: float) -> list[dict]:
    """The metrics rows of a fresh run stopped once `epochs` epochs are logged."""
    with tempfile.TemporaryDirectory(prefix="train_sps_") as train_dir:
        metrics = Path(train_dir) / "sps" / "metrics.jsonl"
        env = {**os.environ, "PYTHONPATH": str(root)}
        process = subprocess.Popen([str(root / "tools" / "train.py"), "run=sps", f"train_dir={train_dir}", *overrides],
                                   cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout_s
        rows: list[dict] = []
        while process.poll() is None and time.monotonic() < deadline:
            if metrics.exists():
                rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.endswith("}")]
                if len(rows) >= epochs:
                    break
            time.sleep(0.5)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # finishes the epoch it is in and exits
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
        if len(rows) < epochs:
            error = (process.stderr.read() if process.stderr else "").strip().splitlines()
            sys.exit(f"train_sps.py: {root}: the run logged {len(rows)} of {epochs} epochs"
                     + (f": {error[-1]}" if error else ""))
        return rows[:epochs]


def summarise(rows: list[dict], warmup: int) -> dict[str, float]:
    kept = rows[warmup:]
    summary = {"sps": statistics.median(r["overview/sps"] for r in kept)}
    for key in sorted({k for r in kept for k in r if k.startswith("timing/") and k.endswith("_s")}):
        summary[key] = statistics.fmean(r.get(key, 0.0) for r in kept)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description="Trainer throughput: end-to-end agent steps per second.")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--agent", default="fast")
    parser.add_argument("--env", default="mettagrid/arena/basic_easy_shaped")
    parser.add_argument("--threads", type=int, default=None, help="torch threads and env workers (default: all)")
    parser.add_argument("--epochs", type=int, default=6, help="measured epochs per repeat")
    parser.add_argument("--warmup", type=int, default=2, help="epochs left out at the start of each repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None, help="another checkout to A/B against, alternating")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per repeat before giving up")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("overrides", nargs="*", default=[], help="train overrides (after --)")
    args = parser.parse_args()
    require_device(args.device)
    overrides = overrides_for(args)
    roots = {"this": ROOT} | ({"compare": args.compare.resolve()} if args.compare else {})
    print(f"# train_sps: {' '.join(overrides)}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[str, list[dict]] = {label: [] for label in roots}
    for repeat in range(args.repeats):
        for label, root in roots.items():
            summary = summarise(run_once(root, overrides, args.warmup + args.epochs, args.timeout), args.warmup)
            results[label].append(summary)
            phases = "  ".join(f"{k.removeprefix('timing/').removesuffix('_s')} {v:.3f}s"
                               for k, v in summary.items() if k != "sps")
            print(f"{label} #{repeat + 1}: {summary['sps']:,.0f} agent-steps/s  ({phases})", flush=True)
    for label, runs in results.items():
        figures = [r["sps"] for r in runs]
        print(f"{label}: median {statistics.median(figures):,.0f} agent-steps/s over {len(figures)} runs "
              f"(min {min(figures):,.0f}, max {max(figures):,.0f}), load now {os.getloadavg()[0]:.1f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"overrides": overrides, "results": results}, indent=1))


if __name__ == "__main__":
    main()
