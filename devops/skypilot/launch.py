#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active.
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
"""Launch a sweep or a training run on cloud GPUs with SkyPilot (`sky launch` of
devops/skypilot/<sweep|train>.yaml).

  ./devops/skypilot/launch.py sweep run=my_sweep                          # 1 node, 1 GPU, spot
  ./devops/skypilot/launch.py sweep run=my_sweep --gpus 8 --nodes 4 sweep_dir=s3://bucket/sweeps
  ./devops/skypilot/launch.py sweep run=my_sweep --no-spot sweep=full
  ./devops/skypilot/launch.py train run=my_run --gpus 4 env=mettagrid/navigation
  ./devops/skypilot/launch.py sweep run=my_sweep --dry-run                # print the command only

`run=` names the sweep (or the training run); other key=value arguments are overrides for
devops/sweep.sh (sweep: `sweep=<file>` and `sweep_dir=` become the task's SWEEP_CONFIG and
SWEEP_DIR) or devops/train.sh (train). A sweep on several nodes needs a shared record
(sweep_dir=s3://...): each node's workers claim run ids in it. --gpus N asks for N GPUs of
--gpu-type per node (or give TYPE:N); a sweep runs one worker per GPU.

SkyPilot itself (`pip install skypilot`, cloud credentials) is not part of this project: without
the `sky` command this prints what it would run and how to run the same thing here, and exits 1.
"""

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASKS = {"sweep": "devops/skypilot/sweep.yaml", "train": "devops/skypilot/train.yaml"}
LOCAL = {"sweep": "./devops/sweep.sh", "train": "./devops/train.sh"}


class LaunchError(ValueError):
    """Bad arguments: one line, exit code 2."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="devops/skypilot/launch.py", description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(TASKS), help="what to launch")
    parser.add_argument("overrides", nargs="*", help="run=NAME, then key=value overrides")
    parser.add_argument("--gpus", default="1", help="GPUs per node: N (of --gpu-type) or TYPE:N")
    parser.add_argument("--gpu-type", default="H100", help="GPU type when --gpus is a count (default H100)")
    parser.add_argument("--nodes", type=int, default=1, help="nodes in the cluster")
    parser.add_argument("--no-spot", action="store_true", help="on-demand instances instead of spot")
    parser.add_argument("--cluster", help="cluster name (default: the run name)")
    parser.add_argument("--dry-run", action="store_true", help="print the sky command and exit")
    return parser.parse_intermixed_args(argv)


def plan(args: argparse.Namespace) -> dict:
    """The `sky launch` command line for these arguments, and the local equivalent."""
    settings: dict[str, str] = {}
    extra: list[str] = []
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LaunchError(f"{item}: expected key=value (e.g. run=my_sweep)")
        if key in ("run", "sweep_name") or (args.kind == "sweep" and key in ("sweep", "sweep_dir")):
            settings["run" if key == "sweep_name" else key] = value
        else:
            extra.append(item)
    run = settings.get("run")
    if not run:
        raise LaunchError("run: which run? (run=NAME names the sweep or the training run)")
    gpu_type, _, count = args.gpus.rpartition(":")
    if not count.isdigit() or int(count) < 1:
        raise LaunchError(f"--gpus: {args.gpus!r}: expected a count (8) or TYPE:COUNT (A100:8)")
    gpus = f"{gpu_type or args.gpu_type}:{count}"
    if args.nodes < 1:
        raise LaunchError(f"--nodes: {args.nodes}: at least 1")
    envs = {"GPUS_PER_NODE": count, "ARGS": shlex.join(extra)}
    if args.kind == "sweep":
        sweep_dir = settings.get("sweep_dir", "")
        if args.nodes > 1 and not sweep_dir.startswith("s3://"):
            raise LaunchError(f"--nodes {args.nodes}: the nodes need a shared record: sweep_dir=s3://bucket/prefix")
        envs.update(SWEEP=run, SWEEP_DIR=sweep_dir, SWEEP_CONFIG=settings.get("sweep", "quick"))
        local = [LOCAL["sweep"], f"run={run}", *(f"{k}={settings[k]}" for k in ("sweep", "sweep_dir") if k in settings)]
    else:
        envs.update(RUN=run)
        local = [LOCAL["train"], f"run={run}"]
    command = ["sky", "launch", "-c", args.cluster or run.replace(".", "-").replace("_", "-"), TASKS[args.kind],
               "--num-nodes", str(args.nodes), "--gpus", gpus, "--no-use-spot" if args.no_spot else "--use-spot",
               "--yes", "--detach-run"]
    for key, value in envs.items():
        command += ["--env", f"{key}={value}"]
    return {"command": command, "local": [*local, *extra]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        launch = plan(args)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shown = shlex.join(launch["command"])
    if args.dry_run:
        print(json.dumps({"command": shown, "local": shlex.join(launch["local"])}))
        return 0
    if shutil.which("sky") is None:
        print(f"error: SkyPilot's `sky` is not installed (pip install skypilot, then `sky check`); it would run: "
              f"{shown} -- to run here instead: {shlex.join(launch['local'])}", file=sys.stderr)
        return 1
    print(shown, file=sys.stderr, flush=True)
    return subprocess.run(launch["command"], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
