"""A sweep's life: create it, prepare a run (phase, suggestion, run id), train it, evaluate it,
record what it scored and cost. The tools (sweep_init, sweep_eval, sweep_execute) are thin
layers over these functions; the shared record is `metta.sweep.store.SweepStore`.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
)

from metta.sweep.distributions import SearchSpace
from metta.sweep.protein import Protein, parse_settings
from metta.sweep.store import HEARTBEAT_TIMEOUT_S, RunRecord, SweepStore
from mettagrid.errors import ConfigError, describe_validation_error


class PhaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    num_runs: PositiveInt = Field(description="Completed runs this phase lasts for")
    sweep: dict[str, Any] = Field(default_factory=dict, description="Overrides of protein/parameters")


class ScheduleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phases: list[PhaseConfig] = Field(default_factory=list)


class SweepConfig(BaseModel):
    """A sweep file (`configs/sweep/<name>.yaml`)."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field("reward_avg", description="Evaluation metric to optimize")
    goal: Literal["maximize", "minimize"] = "maximize"
    method: Literal["bayes"] = "bayes"
    max_runs: PositiveInt | None = Field(None, description="Runs in the whole sweep (all workers); None = no limit")
    protein: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any]
    schedule: ScheduleConfig | None = None


class SweepSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_consecutive_failures: NonNegativeInt = Field(3, description="Stop a worker after this many; 0 = never")
    rollout_retry_delay: NonNegativeFloat = Field(5.0, description="Seconds to wait after a failed run")
    max_observations_to_load: PositiveInt = Field(250, description="Newest finished runs given to Protein")
    heartbeat_timeout_s: float = Field(HEARTBEAT_TIMEOUT_S, gt=0, description="A silent run this old has failed")


class SweepJobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sweep_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
    sweep_dir: str = Field("train_dir/sweeps", description="Shared record: a directory or s3:// prefix")
    train_dir: str = Field("train_dir", description="Where runs train (train_dir/<run id>/)")
    sweep: SweepConfig
    settings: SweepSettings = Field(default_factory=SweepSettings)
    sim_name: str = Field("navigation", description="Simulation suite that scores a run (configs/sim/)")
    num_episodes: PositiveInt | None = Field(None, description="Evaluation episodes per simulation")
    sweep_job_overrides: list[str] = Field(default_factory=list, description="Overrides for every training run")
    seed: int = 0
    worker: str | None = Field(None, description="This worker's name in claims (default host:pid)")
    wandb_mode: Literal["off", "offline", "online"] = "offline"


def parse_job(data: dict[str, Any]) -> SweepJobConfig:
    try:
        return SweepJobConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


def check_sweep(data: Any, prefix: str = "sweep") -> SweepConfig:
    """A sweep file: its shape, every parameter's distribution, the Protein settings, and each
    phase merged over the base (a phase can break a parameter the base has right)."""
    try:
        sweep = SweepConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=prefix)) from None
    SearchSpace.from_dict(sweep.parameters, prefix=f"{prefix}.parameters")
    parse_settings(sweep.protein, f"{prefix}.protein")
    done = 0
    for phase in sweep.schedule.phases if sweep.schedule else []:
        _, merged = current_phase(sweep, done)
        SearchSpace.from_dict(merged.parameters, prefix=f"{prefix}.schedule.{phase.name}.parameters")
        parse_settings(merged.protein, f"{prefix}.schedule.{phase.name}.protein")
        done += phase.num_runs
    return sweep


# ---------------------------------------------------------------------------------------------
# phases and suggestions


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def current_phase(sweep: SweepConfig, completed: int) -> tuple[str | None, SweepConfig]:
    """The phase `completed` finished runs put the sweep in, and the sweep with its overrides.
    After the last phase the last one stays in force."""
    if not sweep.schedule or not sweep.schedule.phases:
        return None, sweep
    phases, seen = sweep.schedule.phases, 0
    phase = phases[-1]
    for candidate in phases:
        seen += candidate.num_runs
        if completed < seen:
            phase = candidate
            break
    merged = deep_merge(sweep.model_dump(exclude={"schedule"}), phase.sweep)
    try:
        return phase.name, SweepConfig.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=f"schedule.phases.{phase.name}.sweep")) from None


def observations_of(runs: list[RunRecord], limit: int) -> list[dict[str, Any]]:
    """Finished runs as Protein observations, newest `limit` (failures included)."""
    done = [r for r in runs if r.done]
    return [{"params": record.params, "score": record.observation.get("score"),
             "cost": float(record.observation.get("cost") or 0.0), "failed": bool(record.observation.get("failed"))}
            for record in done[-limit:]]


def prepare_run(store: SweepStore, job: SweepJobConfig) -> tuple[str, dict[str, Any], str | None] | None:
    """Claim the next run id and store its suggestion. None once the sweep has `max_runs`."""
    runs = store.runs()  # one read of the record (each run is 4 objects on S3)
    if store.fail_abandoned(job.settings.heartbeat_timeout_s, runs):
        runs = store.runs()
    if job.sweep.max_runs is not None and len(runs) >= job.sweep.max_runs:
        return None
    observations = observations_of(runs, job.settings.max_observations_to_load)
    phase, sweep = current_phase(job.sweep, sum(r.done for r in runs))  # all finished runs, not just those loaded
    run_id = store.claim_next(job.worker)
    number = int(run_id.rsplit(".", 1)[1])
    if job.sweep.max_runs is not None and number >= job.sweep.max_runs:
        store.record_observation(run_id, {"params": {}, "score": None, "cost": 0.0, "failed": True,
                                          "reason": "claimed past max_runs (another worker got there first)"})
        return None
    space = SearchSpace.from_dict(sweep.parameters, prefix="sweep.parameters")
    protein = Protein(space, parse_settings(sweep.protein, "sweep.protein"), seed=job.seed, goal=sweep.goal,
                      observations=observations)
    params, info = protein.suggest(index=number)
    params = space.to_overrides(params)
    store.write_suggestion(run_id, {"params": params, "phase": phase, "info": _plain(info), "created_at": time.time()})
    store.heartbeat(run_id)
    return run_id, params, phase


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(info, default=float))


def override_args(params: dict[str, Any]) -> list[str]:
    """`++key=value` (force-add or replace) for each suggested parameter."""
    return [f"++{key}={value!r}" if isinstance(value, float) else f"++{key}={value}" for key, value in params.items()]


def nested(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def write_overrides_file(run_dir: Path, params: dict[str, Any]) -> Path:
    """`train_config_overrides.yaml` in the run's directory: the suggestion as nested YAML."""
    import yaml

    from metta.common.uri import write_output

    path = run_dir / "train_config_overrides.yaml"
    write_output(str(path), yaml.safe_dump(nested(params), sort_keys=False).encode(), "train_dir")
    return path


# ---------------------------------------------------------------------------------------------
# evaluation and recording


def training_seconds(run_dir: Path) -> float:
    """Compute a run spent training, summed from its metrics.jsonl (collect + update per epoch)."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return 0.0
    total = 0.0
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            total += float(row.get("timing/collect_s", 0.0)) + float(row.get("timing/update_s", 0.0))
    return total


def evaluate_run(store: SweepStore, job: SweepJobConfig, run_id: str, log=None) -> dict[str, Any]:
    """Score the run's latest checkpoint on the sweep's suite and record the observation
    (score, cost = training + evaluation seconds). A run without a checkpoint is recorded as
    failed. Returns the observation."""
    from metta.agent.policy_uri import resolve_policies
    from metta.sim.simulation_config import load_suite
    from metta.sim.suite_runner import run_suite

    record = store.run(run_id)
    if record is None:
        raise ConfigError(f"run: {run_id} is not a run of sweep {store.sweep_name} (see {store.location}/runs/)")
    params = (record.suggestion or {}).get("params", {})
    run_dir = Path(job.train_dir) / run_id
    checkpoints = run_dir / "checkpoints"
    train_s = training_seconds(run_dir)
    if not any(checkpoints.glob("*.pt")):
        observation = {"params": params, "score": None, "cost": train_s, "failed": True,
                       "reason": f"no checkpoint in {checkpoints}"}
        store.record_observation(run_id, observation)
        return observation
    start = time.monotonic()
    suite = load_suite(job.sim_name)
    specs = resolve_policies(f"file://{checkpoints}", selector="latest")
    results = run_suite(specs, suite, run_dir / "sweep_eval.duckdb", num_episodes=job.num_episodes,
                        seed=job.seed, num_workers=1, **({"log": log} if log else {}))
    metrics = {k: v for k, v in results[0].metrics.items() if v is not None}
    score = metrics.get(job.sweep.metric)
    cost = train_s + (time.monotonic() - start)
    observation = {"params": params, "score": score, "cost": cost, "failed": score is None, "metrics": metrics,
                   "checkpoint": specs[0].uri}
    if score is None:
        observation["reason"] = f"metric {job.sweep.metric!r} missing (have: {', '.join(metrics) or 'none'})"
    store.record_observation(run_id, observation)
    log_to_wandb(job, run_id, observation)
    return observation


def log_to_wandb(job: SweepJobConfig, run_id: str, observation: dict[str, Any]) -> None:
    """One wandb run per evaluated sweep run, grouped by sweep (offline unless asked)."""
    if job.wandb_mode == "off":
        return
    import wandb

    run = wandb.init(project="metta-sweeps", group=job.sweep_name, name=f"{run_id}.eval", mode=job.wandb_mode,
                     dir=str(Path(job.train_dir) / run_id), config=observation.get("params", {}),
                     job_type="sweep_eval", reinit="finish_previous")
    run.summary.update({"score": observation.get("score"), "cost": observation.get("cost"),
                        "failed": observation.get("failed"), **observation.get("metrics", {})})
    run.finish()
