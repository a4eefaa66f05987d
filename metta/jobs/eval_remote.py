"""`./tools/run.py eval_remote <recipe> ...`: evaluation handed to a worker process through a queue.

The original sent such jobs to remote evaluation workers. Here the queue is a folder and the
worker a separate process on this machine; nothing else changes: the worker composes nothing
itself, it runs the very sim job the submitter composed (`metta.jobs.sim.run_sim_job`).

  <queue>/pending/<id>.yaml    the composed sim job, written atomically by the submitter
  <queue>/<id>/job.yaml        claimed by a worker (an atomic rename: one worker per job)
  <queue>/<id>/worker.log      the worker's progress lines for the job
  <queue>/<id>/stats.duckdb    the stats DB (unless the job names its own sim_job.stats_db_uri)
  <queue>/<id>/result.json     the report tools/sim.py would print; or error.txt, one line

`<queue>` is `<train_dir>/eval_remote` unless `queue_dir=` says otherwise. The submitter starts
a worker that drains the queue and exits (`worker=false`: only enqueue); a worker can also be
started by hand: `python -m metta.jobs.eval_remote <queue>`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from metta.common.uri import atomic_write_bytes
from mettagrid.errors import ConfigError

# run.py arguments of eval_remote itself (everything else overrides the sim job)
OPTIONS = ("queue_dir", "worker")


def submit(cfg: DictConfig, queue_dir: str | None = None, start_worker: bool = True, log=sys.stderr) -> dict[str, Any]:
    """Check the composed sim job, put it in the queue and (by default) start a worker for it.
    Returns {"job": id, "queue": dir, "result": path, "stats_db": where, "worker_pid": pid or None}."""
    from metta.common.tool import validate_job

    parts = validate_job(cfg, "sim_job")  # a bad job is refused here, not found later by the worker
    if not parts["sim_job"].policy_uris:
        raise ConfigError("sim_job.policy_uris: eval_remote needs policy_uri=... (the worker cannot guess a run)")
    queue = Path(queue_dir or Path(parts[""].train_dir) / "eval_remote")
    job_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    job_dir = queue / job_id
    if not parts["sim_job"].stats_db_uri:
        cfg.sim_job.stats_db_uri = str(job_dir / "stats.duckdb")
    atomic_write_bytes(queue / "pending" / f"{job_id}.yaml", OmegaConf.to_yaml(cfg, resolve=True).encode())
    pid = start_worker_process(queue) if start_worker else None
    receipt = {"job": job_id, "queue": str(queue), "result": str(job_dir / "result.json"),
               "stats_db": cfg.sim_job.stats_db_uri, "log": str(job_dir / "worker.log"), "worker_pid": pid}
    print(f"eval_remote: queued job {job_id} in {queue}/pending/"
          + (f"; worker pid {pid} is running it" if pid else "; start a worker: python -m metta.jobs.eval_remote "
             f"{queue}"), file=log)
    print(f"eval_remote: results will land in {receipt['result']} (stats DB {receipt['stats_db']}, "
          f"log {receipt['log']})", file=log)
    return receipt


def start_worker_process(queue: Path) -> int:
    """A worker in its own session, so it outlives the submitting command."""
    queue.mkdir(parents=True, exist_ok=True)
    with open(queue / "worker.out", "ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "metta.jobs.eval_remote", str(queue)],
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return process.pid


def claim_next(queue: Path) -> tuple[str, Path] | None:
    """The oldest pending job, moved into its own folder; None when the queue is empty. Two
    workers never get the same job: only one rename of the pending file succeeds."""
    for pending in sorted((queue / "pending").glob("*.yaml")):
        job_dir = queue / pending.stem
        job_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(pending, job_dir / "job.yaml")
        except FileNotFoundError:  # another worker took it
            continue
        return pending.stem, job_dir
    return None


def run_job(job_dir: Path) -> bool:
    """Run one claimed job; its report (or its one-line error) is written beside it."""
    from metta.jobs.sim import run_sim_job

    cfg = OmegaConf.load(job_dir / "job.yaml")
    with open(job_dir / "worker.log", "a") as log:
        try:
            report = run_sim_job(cfg, log=log)
        except ConfigError as error:
            atomic_write_bytes(job_dir / "error.txt", f"{error}\n".encode())
            print(f"error: {error}", file=log)
            return False
    atomic_write_bytes(job_dir / "result.json", json.dumps(report, indent=2).encode())
    return True


def work(queue: Path) -> int:
    """Drain the queue: run every pending job, oldest first. Returns how many failed."""
    failed = 0
    while (claimed := claim_next(queue)) is not None:
        job_id, job_dir = claimed
        print(f"worker {os.getpid()}: running {job_id}", flush=True)
        ok = run_job(job_dir)
        failed += not ok
        print(f"worker {os.getpid()}: {job_id} {'done' if ok else 'failed'}", flush=True)
    return failed


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m metta.jobs.eval_remote <queue dir>", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(1 if work(Path(sys.argv[1])) else 0)
