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
    field_validator,
)

from metta.common.config_table import GROUPS
from metta.common.uri import check_destination
from metta.sweep.distributions import SearchSpace
from metta.sweep.protein import Protein, parse_settings
from metta.sweep.store import HEARTBEAT_TIMEOUT_S, RunRecord, SweepStore
from mettagrid.env_configs import CONFIGS_DIR
from mettagrid.errors import ConfigError, describe_validation_error

SIM_DIR = CONFIGS_DIR / "sim"


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
    sim_name: str | None = Field(None, description="Suite that scores a run, unless the job names one")
    sweep_job_overrides: dict[str, Any] | list[str] | None = Field(
        None, description="Training overrides this sweep needs (the job's own come after and win)")


class SweepSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_consecutive_failures: NonNegativeInt = Field(3, description="Stop a worker after this many; 0 = never")
    rollout_retry_delay: NonNegativeFloat = Field(5.0, description="Seconds to wait after a failed run")
    max_observations_to_load: PositiveInt = Field(250, description="Newest finished runs given to Protein")
    heartbeat_timeout_s: float = Field(HEARTBEAT_TIMEOUT_S, gt=0, description="A silent run this old has failed")
    init_wait_s: float = Field(600.0, gt=0, description="sweep_init.py on NODE_INDEX>0: wait this long for node 0")
    sweep_server_uri: str | None = Field(
        None, description="The original's sweep server; unused: the record at sweep_dir coordinates workers")


class SweepJobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sweep_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
    sweep_dir: str = Field("train_dir/sweeps", description="Shared record: a directory or s3:// prefix")
    train_dir: str = Field("train_dir", description="Where runs train (train_dir/<run id>/)")
    sweep: SweepConfig
    settings: SweepSettings = Field(default_factory=SweepSettings)
    sim_name: str | None = Field(
        None, description="Suite that scores a run (configs/sim/); None = the sweep file's, else navigation")
    num_episodes: PositiveInt | None = Field(None, description="Evaluation episodes per simulation")
    sweep_job_overrides: dict[str, Any] | list[str] | None = Field(
        None, description="Overrides for every training run: a nested mapping or a list of key=value")
    seed: int = 0
    worker: str | None = Field(None, description="This worker's name in claims (default host:pid)")
    wandb_mode: Literal["off", "offline", "online"] = "offline"
    wandb_entity: str | None = Field(None, description="wandb entity of the sweep's runs (training and evaluation)")
    wandb_project: str = Field("metta", description="wandb project of the sweep's runs; the group is the sweep name")

    @field_validator("sweep_dir")
    @classmethod
    def _writable(cls, value: str) -> str:
        return check_destination(value)  # before any run is claimed or trained

    def wandb_namespace(self) -> dict[str, Any] | None:
        """Where the run's wandb runs go (None with wandb off): the dashboard selects by it."""
        if self.wandb_mode == "off":
            return None
        return {"entity": self.wandb_entity, "project": self.wandb_project, "group": self.sweep_name}

    def scoring(self) -> tuple[str, str]:
        """(suite, metric key in its results) that score a run. `<suite>_score` as the metric
        (the original's `navigation_score`) means: evaluate on configs/sim/<suite>.yaml and
        take its mean reward over simulations (`reward_avg`)."""
        metric = self.sweep.metric
        if metric.endswith("_score") and (SIM_DIR / f"{metric[: -len('_score')]}.yaml").is_file():
            return metric[: -len("_score")], "reward_avg"
        return self.sim_name or self.sweep.sim_name or "navigation", metric

    def train_overrides(self) -> list[str]:
        """The overrides every training run gets: the sweep file's, then the job's (which win)."""
        merged: dict[str, str] = {}
        for source in (self.sweep.sweep_job_overrides, self.sweep_job_overrides):
            merged.update(flatten_overrides(source))
        return list(merged.values())


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
    if sweep.sim_name is not None and not (SIM_DIR / f"{sweep.sim_name}.yaml").is_file():
        known = ", ".join(sorted(p.stem for p in SIM_DIR.glob("*.yaml")))
        raise ConfigError(f"{prefix}.sim_name: no suite {sweep.sim_name!r} in configs/sim/ (have: {known})")
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
    store.write_suggestion(run_id, {"params": params, "phase": phase, "info": _plain(info), "created_at": time.time(),
                                    "wandb": job.wandb_namespace()})
    store.heartbeat(run_id)
    return run_id, params, phase


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(info, default=float))


def override_args(params: dict[str, Any]) -> list[str]:
    """`++key=value` (force-add or replace) for each suggested parameter."""
    return [f"++{key}={value!r}" if isinstance(value, float) else f"++{key}={value}" for key, value in params.items()]


# The original's training keys in `sweep_job_overrides` mappings, and where they live here.
ORIGINAL_TRAIN_KEYS: dict[str, str] = {
    # A plain env (/env/mettagrid/arena/advanced) is the env= group; a curriculum config
    # (/env/mettagrid/curriculum/...) stays trainer.curriculum (see flatten_overrides).
    "trainer.curriculum": "env",
    "trainer.simulation.evaluate_interval": "trainer.evaluate_interval",
    "trainer.simulation.replay_dir": "trainer.replay_dir",
}


def flatten_overrides(overrides: dict[str, Any] | list[str] | None) -> dict[str, str]:
    """Training overrides as {key: Hydra override}. A list is taken as written; a nested mapping
    becomes one `++dotted.key=value` per leaf, except a group at the top (`env: x`), which is
    chosen (`env=x`), and the original's keys (ORIGINAL_TRAIN_KEYS), which are renamed."""
    if not overrides:
        return {}
    if isinstance(overrides, list):
        return {item.split("=", 1)[0].lstrip("+"): item for item in overrides}
    out: dict[str, str] = {}
    for key, value in flat_items(overrides, ""):
        if key == "trainer.curriculum" and "/curriculum/" in str(value):
            out[key] = f"++{key}={value}"
            continue
        key = ORIGINAL_TRAIN_KEYS.get(key, key)
        if key in GROUPS and isinstance(value, str):
            out[key] = f"{key}={value.removeprefix('/').removeprefix(f'{key}/')}"
        else:
            out[key] = f"++{key}={hydra_value(value)}"
    return out


def flat_items(tree: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        items += flat_items(value, path) if isinstance(value, dict) and value else [(path, value)]
    return items


def hydra_value(value: Any) -> str:
    """A value as Hydra's override grammar reads it back unchanged."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{hydra_value(item)}" for key, item in value.items()) + "}"
    return "'" + str(value).replace("'", "\\'") + "'"


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
    (score, its std and n across episodes, cost = training + evaluation seconds). A run without a checkpoint is recorded as
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
    suite_name, metric = job.scoring()
    suite = load_suite(suite_name)
    specs = resolve_policies(f"file://{checkpoints.resolve()}", selector="latest")
    results = run_suite(specs, suite, run_dir / "sweep_eval.duckdb", num_episodes=job.num_episodes,
                        seed=job.seed, num_workers=1, **({"log": log} if log else {}))
    metrics = {k: v for k, v in results[0].metrics.items() if v is not None}
    score = metrics.get(metric)
    score_std, score_n = results[0].spread(metric)  # measured across episodes, next to the model's prediction
    cost = train_s + (time.monotonic() - start)
    observation = {"params": params, "score": score, "score_std": score_std, "score_n": score_n, "cost": cost,
                   "failed": score is None, "metrics": metrics, "checkpoint": specs[0].uri}
    if score is None:
        observation["reason"] = f"metric {metric!r} missing (have: {', '.join(metrics) or 'none'})"
    store.record_observation(run_id, observation)
    log_to_wandb(job, run_id, observation)
    return observation


def log_to_wandb(job: SweepJobConfig, run_id: str, observation: dict[str, Any]) -> None:
    """One wandb run per evaluated sweep run, grouped by sweep (offline unless asked)."""
    if job.wandb_mode == "off":
        return
    import wandb

    run = wandb.init(project=job.wandb_project, entity=job.wandb_entity, group=job.sweep_name,
                     name=f"{run_id}.eval", mode=job.wandb_mode, dir=str(Path(job.train_dir) / run_id), config=observation.get("params", {}),
                     job_type="sweep_eval", reinit="finish_previous")
    run.summary.update({"score": observation.get("score"), "cost": observation.get("cost"),
                        "failed": observation.get("failed"), **observation.get("metrics", {})})
    run.finish()
