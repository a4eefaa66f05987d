"""The sweep tools: sweep_init.py, sweep_eval.py, sweep_execute.py (docs/sweeps.md).

sweep_execute is the worker loop: prepare a run (phase, Protein suggestion, a claimed run
id), train it with tools/train.py as a subprocess (`++` overrides), evaluate it, record the
observation; repeat until the sweep has `max_runs` runs or the worker has failed
`max_consecutive_failures` times in a row. Several workers on several machines run the same
sweep by sharing `sweep_dir` (a directory or an s3:// prefix).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

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
from mettagrid.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TRAIN_TOOL = ROOT / "tools" / "train.py"


def job_from_cfg(cfg: DictConfig) -> SweepJobConfig:
    """The typed job from the composed config; `sweep_params=<file>` replaces the sweep group."""
    data = to_container(cfg)
    data.pop("run", None)
    params_file = data.pop("sweep_params", None)
    if params_file:
        import yaml

        path = Path(params_file)
        if not path.is_file():
            raise ConfigError(f"sweep_params: {params_file}: no such file")
        data["sweep"] = yaml.safe_load(path.read_text()) or {}
    return parse_job(data)


def open_store(job: SweepJobConfig) -> SweepStore:
    store = SweepStore(job.sweep_dir, job.sweep_name)
    store.create_sweep(job.sweep.model_dump(mode="json"))  # first caller wins; later ones reuse it
    return store


# ---------------------------------------------------------------------------------------------
# sweep_init.py


def sweep_init(job: SweepJobConfig, log=sys.stderr) -> dict[str, Any]:
    """Create the sweep (once) and its first run's suggestion. Running it again changes nothing."""
    store = SweepStore(job.sweep_dir, job.sweep_name)
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
    print(f"sweep {job.sweep_name}: {state} at {store.location}", file=log)
    print(f"sweep {job.sweep_name}: first run {run_id}, overrides in {overrides}", file=log)
    return {"sweep": job.sweep_name, "store": store.location, "created": created, "run": run_id,
            "params": params, "overrides_file": str(overrides)}


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


def run_one(store: SweepStore, job: SweepJobConfig, run_id: str, params: dict[str, Any], log) -> dict[str, Any]:
    """Train (subprocess, heartbeats meanwhile) and evaluate one run; returns its observation."""
    run_dir = Path(job.train_dir) / run_id
    write_overrides_file(run_dir, params)
    command = [sys.executable, str(TRAIN_TOOL), f"run={run_id}", f"train_dir={job.train_dir}",
               *job.sweep_job_overrides, *override_args(params)]
    stop = threading.Event()
    beats = threading.Thread(target=_heartbeats, args=(store, run_id, job.settings.heartbeat_timeout_s, stop),
                             daemon=True)
    beats.start()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "sweep_train.log", "w") as output:
            code = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT, check=False).returncode
        if code != 0:
            observation = {"params": params, "score": None, "cost": training_seconds(run_dir), "failed": True,
                           "reason": f"train.py exited with {code} (log: {run_dir / 'sweep_train.log'})"}
            store.record_observation(run_id, observation)
            return observation
        return evaluate_run(store, job, run_id, log=log)
    finally:
        stop.set()
        beats.join(timeout=5)


def _heartbeats(store: SweepStore, run_id: str, timeout: float, stop: threading.Event) -> None:
    interval = max(1.0, min(30.0, timeout / 4))
    while not stop.wait(interval):
        with contextlib.suppress(Exception):  # a missed beat is retried; the run must not die of it
            store.heartbeat(run_id)


def init_main(cfg: DictConfig) -> None:
    """tools/sweep_init.py."""
    import json

    print(json.dumps(sweep_init(job_from_cfg(cfg)), indent=2))


def execute_main(cfg: DictConfig) -> None:
    """tools/sweep_execute.py."""
    import json

    print(json.dumps(sweep_execute(job_from_cfg(cfg))))


def eval_main(cfg: DictConfig) -> None:
    """tools/sweep_eval.py: `run=<id>` scores that run; without it, the newest unscored one."""
    import json

    print(json.dumps(sweep_eval(job_from_cfg(cfg), cfg.get("run")), indent=2, default=str))
