"""The sweep tools: sweep_init.py, sweep_eval.py, sweep_execute.py (docs/sweeps.md).

sweep_execute is the worker loop: prepare a run (phase, Protein suggestion, a claimed run
id), train it with devops/train.sh (tools/train.py) as a subprocess (`++` overrides),
evaluate it, record the observation; repeat until the sweep has `max_runs` runs or the worker has failed
`max_consecutive_failures` times in a row. Several workers on several machines run the same
sweep by sharing `sweep_dir` (a directory or an s3:// prefix).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from metta.common.process import start_tied_child, stop_child
from metta.common.tool import to_container
from metta.sweep.lifecycle import (
    SweepJobConfig,
    evaluate_run,
    override_args,
    parse_job,
    prepare_run,
    training_seconds,
    write_overrides_file,
)
from metta.sweep.store import SweepStore
from mettagrid.errors import ConfigError, read_yaml

ROOT = Path(__file__).resolve().parents[2]
TRAIN_LAUNCHER = ROOT / "devops" / "train.sh"
RUN_ID = re.compile(r"^(?P<sweep>.+)\.r\.\d+$")


def job_from_cfg(cfg: DictConfig) -> SweepJobConfig:
    """The typed job from the composed config, with the original's spellings mapped:
    `sweep_params=<file>` replaces the sweep group, `metric=<name>` sets `sweep.metric`, and
    without `sweep_name` a `run=<sweep>.r.<n>` names its sweep."""
    if OmegaConf.is_missing(cfg, "sweep_name") and cfg.get("run") and RUN_ID.match(str(cfg.run)):
        cfg = cfg.copy()
        cfg.sweep_name = RUN_ID.match(str(cfg.run))["sweep"]
    data = to_container(cfg)
    data.pop("run", None)
    metric = data.pop("metric", None)
    params_file = data.pop("sweep_params", None)
    if params_file:
        if not Path(params_file).is_file():
            raise ConfigError(f"sweep_params: {params_file}: no such file")
        data["sweep"] = read_yaml(params_file) or {}
    if metric:
        data["sweep"] = {**(data.get("sweep") or {}), "metric": metric}
    return parse_job(data)


def open_store(job: SweepJobConfig) -> SweepStore:
    store = SweepStore(job.sweep_dir, job.sweep_name)
    store.create_sweep(job.sweep.model_dump(mode="json"))  # first caller wins; later ones reuse it
    return store


def remove_leftovers(store: SweepStore) -> None:
    """Temp files that killed workers left in a local record (metta.common.uri); S3 writes
    leave none."""
    from metta.common.uri import remove_stale_temp_files
    from metta.sweep.store import LocalBackend

    if isinstance(store.backend, LocalBackend):
        remove_stale_temp_files(store.backend.root, recursive=True)


# ---------------------------------------------------------------------------------------------
# sweep_init.py


def node_index() -> int:
    """This node's index in a multi-node launch (NODE_INDEX, as SkyPilot and devops/train.sh set it)."""
    value = os.environ.get("NODE_INDEX", "0") or "0"
    if not value.isdigit():
        raise ConfigError(f"NODE_INDEX: {value!r} is not a node index (0, 1, ...)")
    return int(value)


def sweep_init(job: SweepJobConfig, log=sys.stderr) -> dict[str, Any]:
    """Create the sweep (once) and its first run's suggestion. Running it again changes nothing.

    On a multi-node launch only node 0 creates; the other nodes wait (up to
    `settings.init_wait_s`) until node 0 has stored the first suggestion, then write the same
    overrides file locally."""
    store = SweepStore(job.sweep_dir, job.sweep_name)
    node = node_index()
    if node > 0:
        runs = wait_for_first_run(store, job.settings.init_wait_s, log)
        created = False
    else:
        created = store.create_sweep(job.sweep.model_dump(mode="json"))
        runs = store.runs()
    if not runs:
        prepared = prepare_run(store, job)
        assert prepared is not None
        run_id, params, _ = prepared
    else:
        run_id, params = runs[0].run_id, (runs[0].suggestion or {}).get("params", {})
    overrides = write_overrides_file(Path(job.train_dir) / run_id, params)
    state = "created" if created else f"exists ({len(runs)} run(s) so far)"
    print(f"sweep {job.sweep_name}: {state} at {store.location}{f' (node {node})' if node else ''}", file=log)
    print(f"sweep {job.sweep_name}: first run {run_id}, overrides in {overrides}", file=log)
    return {"sweep": job.sweep_name, "store": store.location, "created": created, "node": node, "run": run_id,
            "params": params, "overrides_file": str(overrides)}


def wait_for_first_run(store: SweepStore, timeout_s: float, log) -> list:
    """Poll the record until node 0 has created the sweep and stored run 0's suggestion."""
    deadline = time.monotonic() + timeout_s
    print(f"sweep {store.sweep_name}: waiting for node 0 to create it at {store.location}", file=log, flush=True)
    while True:
        runs = store.runs() if store.sweep_config() is not None else []
        if runs and runs[0].suggestion is not None:
            return runs
        if time.monotonic() > deadline:
            raise SweepInitTimeout(f"sweep {store.sweep_name}: node 0 did not create it at {store.location} "
                                   f"within {timeout_s:g} s (settings.init_wait_s)")
        time.sleep(min(1.0, timeout_s / 10))


class SweepInitTimeout(RuntimeError):
    """A worker node waited for node 0 in vain."""


# ---------------------------------------------------------------------------------------------
# sweep_eval.py


def sweep_eval(job: SweepJobConfig, run_id: str | None, log=sys.stderr) -> dict[str, Any]:
    if not run_id:
        raise ConfigError("run: which run to evaluate? (run=<sweep_name>.r.<n>)")
    store = SweepStore(job.sweep_dir, job.sweep_name)
    if store.sweep_config() is None:
        raise ConfigError(f"sweep_name: no sweep {job.sweep_name!r} at {store.location} (run sweep_init.py first)")
    observation = evaluate_run(store, job, run_id, log=log)
    print(f"sweep {job.sweep_name}: {run_id} scored {observation.get('score')} "
          f"(cost {observation.get('cost', 0):.1f} s{', FAILED' if observation.get('failed') else ''})", file=log)
    return {"run": run_id, **observation}


# ---------------------------------------------------------------------------------------------
# sweep_execute.py


def sweep_execute(job: SweepJobConfig, log=sys.stderr) -> dict[str, Any]:
    store = open_store(job)
    remove_leftovers(store)
    failures_in_a_row, finished = 0, []
    while True:
        prepared = prepare_run(store, job)
        if prepared is None:
            print(f"sweep {job.sweep_name}: max_runs ({job.sweep.max_runs}) reached; worker done", file=log)
            break
        run_id, params, phase = prepared
        shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        print(f"sweep {job.sweep_name}: {run_id}{f' [{phase}]' if phase else ''}: {shown}", file=log, flush=True)
        observation = run_one(store, job, run_id, params, log)
        finished.append(run_id)
        if observation.get("failed"):
            failures_in_a_row += 1
            print(f"sweep {job.sweep_name}: {run_id} failed: {observation.get('reason')}", file=log, flush=True)
            limit = job.settings.max_consecutive_failures
            if limit and failures_in_a_row >= limit:
                print(f"sweep {job.sweep_name}: {failures_in_a_row} failures in a row; worker stops", file=log)
                break
            time.sleep(job.settings.rollout_retry_delay)
        else:
            failures_in_a_row = 0
            print(f"sweep {job.sweep_name}: {run_id} scored {observation['score']:.4g} "
                  f"in {observation['cost']:.0f} s", file=log, flush=True)
    return {"sweep": job.sweep_name, "runs": finished}


def train_command(job: SweepJobConfig, run_id: str, params: dict[str, Any]) -> list[str]:
    """devops/train.sh with the run's name, its wandb place (group = the sweep), the job's
    training overrides, then the suggestion as `++` overrides (which win)."""
    wandb = ["wandb.enabled=false"] if job.wandb_mode == "off" else [
        f"wandb.mode={job.wandb_mode}", *([f"wandb.entity={job.wandb_entity}"] if job.wandb_entity else []),
        f"wandb.project={job.wandb_project}", f"wandb.group={job.sweep_name}", f"wandb.name={run_id}"]
    # Absolute: the launcher runs from the checkout (cwd=ROOT), the run directory is the user's.
    train_dir = Path(job.train_dir).expanduser().resolve()
    return [str(TRAIN_LAUNCHER), f"run={run_id}", f"train_dir={train_dir}", *wandb, *job.train_overrides(),
            *override_args(params)]


def run_one(store: SweepStore, job: SweepJobConfig, run_id: str, params: dict[str, Any], log) -> dict[str, Any]:
    """Train (devops/train.sh as a subprocess, heartbeats meanwhile) and evaluate one run;
    returns its observation."""
    run_dir = Path(job.train_dir) / run_id
    write_overrides_file(run_dir, params)
    command = train_command(job, run_id, params)
    stop = threading.Event()
    store.heartbeat(run_id, worker_pid=os.getpid())
    beats = threading.Thread(target=_heartbeats, args=(store, run_id, job.settings.heartbeat_timeout_s, stop),
                             daemon=True)
    beats.start()
    child = None
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        link_run_under_sweep(Path(job.train_dir), job.sweep_name, run_id)
        with open(run_dir / "sweep_train.log", "w") as output:
            # Tied to this worker: if the worker dies, the kernel stops the training too
            # (metta/common/process.py), and the next worker here records the run as failed.
            child = start_tied_child(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
            code = child.wait()
        if code != 0:
            observation = {"params": params, "score": None, "cost": training_seconds(run_dir), "failed": True,
                           "reason": f"train.py exited with {code} (log: {run_dir / 'sweep_train.log'})"}
            store.record_observation(run_id, observation)
            return observation
        return evaluate_run(store, job, run_id, log=log)
    finally:
        if child is not None:
            stop_child(child)  # only does something when this worker is leaving early (Ctrl-C, an error)
        stop.set()
        beats.join(timeout=5)


def link_run_under_sweep(train_dir: Path, sweep_name: str, run_id: str) -> Path | None:
    """<train_dir>/<sweep>/<run>: the original's place for a sweep run's files, here a link to the
    run's directory (<train_dir>/<run>, where every tool looks for a run). None where the path is
    taken by something else."""
    link = train_dir / sweep_name / run_id
    if link.is_symlink() or link.exists():
        return link if link.resolve() == (train_dir / run_id).resolve() else None
    try:
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(Path("..") / run_id, target_is_directory=True)
    except OSError:
        return None
    return link


def _heartbeats(store: SweepStore, run_id: str, timeout: float, stop: threading.Event) -> None:
    interval = max(1.0, min(30.0, timeout / 4))
    while not stop.wait(interval):
        with contextlib.suppress(Exception):  # a missed beat is retried; the run must not die of it
            store.heartbeat(run_id, worker_pid=os.getpid())


def init_main(cfg: DictConfig) -> int | None:
    """tools/sweep_init.py."""
    import json

    try:
        report = sweep_init(job_from_cfg(cfg))
    except SweepInitTimeout as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return None


def execute_main(cfg: DictConfig) -> None:
    """tools/sweep_execute.py."""
    import json

    print(json.dumps(sweep_execute(job_from_cfg(cfg))))


def eval_main(cfg: DictConfig) -> None:
    """tools/sweep_eval.py: `run=<id>` scores that run; without it, the newest unscored one."""
    import json

    print(json.dumps(sweep_eval(job_from_cfg(cfg), cfg.get("run")), indent=2, default=str))
