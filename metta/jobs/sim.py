"""`tools/sim.py`: evaluate policies on a suite, write the stats DB, report JSON.

For every policy URI the selector picks checkpoints (built-ins are one policy each); every
checkpoint runs every simulation of the suite; the merged stats DB is written locally (by
default `<train_dir>/eval_<run>/stats.db`) and, when `sim_job.stats_db_uri` is an s3:// URI,
uploaded there. Every evaluation is recorded in `<train_dir>/evaluations.jsonl`
(`metta.sim.eval_index`), which is how `tools/analyze.py` finds it without being told.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from omegaconf import DictConfig
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from metta.common.tool import validate_job
from metta.common.uri import check_destination
from mettagrid.errors import ConfigError


class SimJobConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_uris: list[str] = Field(default_factory=list, description="Policies to evaluate")
    simulation_suite: str = Field("navigation", description="Suite name: configs/sim/<name>.yaml")
    metric: str = Field("score", description="Checkpoint metadata key ranked by selector_type=top")
    stats_db_uri: str | None = Field(None, description="Where the DB goes: a local path or s3:// URI")
    replay_dir: str | None = Field(None, description="Directory or s3:// prefix for one replay file per episode")
    num_workers: PositiveInt | None = Field(None, description="Worker processes; None = min(cores, simulations)")
    num_episodes: PositiveInt | None = Field(None, description="Episodes per simulation; None = the suite's")
    max_steps: PositiveInt | None = Field(None, description="Cap on each episode's steps (game.max_steps of every "
                                          "simulation's env); None = each env's own")

    @field_validator("stats_db_uri", "replay_dir")
    @classmethod
    def _writable(cls, value: str | None) -> str | None:
        return None if value is None else check_destination(value)

    @field_validator("policy_uris", mode="before")
    @classmethod
    def _one_uri_is_a_list_of_one(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class SimRunConfig(BaseModel):
    """The top-level keys of configs/sim_job.yaml."""

    model_config = ConfigDict(extra="forbid")

    selector_type: Literal["latest", "top", "all"] = Field(
        "latest", description="Which checkpoints of a run: latest | top (by sim_job.metric) | all")
    device: str = Field("cpu", description="torch device the policies run on")
    seed: int = 0
    train_dir: str = Field("train_dir", description="Default DB: <train_dir>/eval_<run>/stats.db; every evaluation "
                           "is recorded in <train_dir>/evaluations.jsonl")


def main(cfg: DictConfig) -> None:
    """tools/sim.py: the results as JSON on stdout."""
    print(json.dumps(run_sim_job(cfg), indent=2))


def newest_run_checkpoints(train_dir: Path) -> str | None:
    """file:// URI of the checkpoints folder of the most recently written run under train_dir."""
    folders = [d for d in train_dir.glob("*/checkpoints") if any(d.glob("*:v*.pt"))]
    if not folders:
        return None
    newest = max(folders, key=lambda d: max(f.stat().st_mtime for f in d.glob("*:v*.pt")))
    return f"file://{newest.absolute()}"


def run_sim_job(cfg: DictConfig, log=sys.stderr) -> dict[str, Any]:
    from metta.agent.policy_store import PolicyStore
    from metta.agent.policy_uri import resolve_policies
    from metta.common.uri import remove_stale_temp_files
    from metta.sim.eval_index import default_db_path, record_evaluation
    from metta.sim.simulation_config import load_suite
    from metta.sim.stats_db import StatsDBError, export_stats_db
    from metta.sim.suite_runner import run_suite

    parts = validate_job(cfg, "sim_job")
    job, run = parts["sim_job"], parts[""]
    selector = run.selector_type
    if not job.policy_uris:
        newest = newest_run_checkpoints(Path(run.train_dir))
        if newest is None:
            raise ConfigError(
                f"sim_job.policy_uris: no policies given and no trained run under {run.train_dir}/ "
                "(e.g. sim_job.policy_uris='[\"metta://policy/random\"]')"
            )
        print(f"sim: sim_job.policy_uris not set; evaluating the newest run: {newest}", file=log)
        job = job.model_copy(update={"policy_uris": [newest]})
    device = _device(run.device)
    suite = load_suite(job.simulation_suite)
    if job.max_steps is not None:
        suite = cap_episode_steps(suite, job.max_steps)

    store = PolicyStore(train_dir=run.train_dir)
    specs, sources = [], []
    for uri in job.policy_uris:
        try:
            found = resolve_policies(uri, selector=selector, metric=job.metric, store=store)
        except ValueError as error:
            raise ConfigError(f"sim_job.policy_uris: {error}") from None
        if (local := store.local_run_dir(uri)) is not None:
            print(f"sim: {uri}: the run trained here, {local} (wandb not asked)", file=log)
        specs += found
        sources += [uri] * len(found)

    replay_dir = job.replay_dir
    if replay_dir and "://" in replay_dir and not replay_dir.startswith(("s3://", "file://")):
        raise ConfigError(f"sim_job.replay_dir: {replay_dir}: use a local directory or an s3:// prefix")
    replay_dir = replay_dir.removeprefix("file://") if replay_dir else None

    remote = job.stats_db_uri is not None and job.stats_db_uri.startswith("s3://")
    if job.stats_db_uri and not remote:
        if "://" in job.stats_db_uri and not job.stats_db_uri.startswith("file://"):
            raise ConfigError(f"sim_job.stats_db_uri: {job.stats_db_uri}: use a local path or s3:// URI")
        db_path = Path(job.stats_db_uri.removeprefix("file://")).expanduser()
    else:
        db_path = default_db_path(run.train_dir, [spec.policy_key for spec in specs])

    # What an interrupted earlier evaluation left half-written where this one writes.
    for directory in {db_path.parent, Path(run.train_dir)}:
        remove_stale_temp_files(directory)
    try:
        results = run_suite(specs, suite, db_path, num_workers=job.num_workers, num_episodes=job.num_episodes,
                            seed=run.seed, device=device, replay_dir=replay_dir, log=log)
    except (ValueError, StatsDBError) as error:  # an unreadable checkpoint, a bad env in the suite
        raise ConfigError(str(error)) from None
    print(f"sim: stats DB written to {db_path}", file=log)
    if replay_dir:
        print(f"sim: replays written under {replay_dir} (view one with ./tools/replay.py "
              f"replay_job.replay_uri=<file>)", file=log)
    stats_db = str(db_path)
    if remote:
        try:
            stats_db = export_stats_db(db_path, job.stats_db_uri)
        except StatsDBError as error:
            raise ConfigError(f"sim_job.stats_db_uri: {error}") from None
        print(f"sim: stats DB exported to {stats_db}", file=log)
    record_evaluation(run.train_dir, db_path, stats_db, suite.name,
                      [(spec.policy_key, spec.policy_version) for spec in specs])
    return report(suite.name, job.policy_uris, sources, results, stats_db)


def cap_episode_steps(suite, max_steps: int):
    """The suite with every simulation's episodes cut at `max_steps` (an env override, after its own)."""
    simulations = {name: sim.model_copy(update={"env_overrides": [*sim.env_overrides, f"game.max_steps={max_steps}"]})
                   for name, sim in suite.simulations.items()}
    return suite.model_copy(update={"simulations": simulations})


def report(suite: str, policy_uris: list[str], sources: list[str], results: list,
           stats_db: str) -> dict[str, Any]:
    """The reference's JSON: checkpoints grouped under the URI that named them."""
    policies = []
    for uri in dict.fromkeys(policy_uris):  # a URI given twice is reported once
        checkpoints = [
            {"name": result.spec.name, "uri": result.spec.uri, "metrics": result.metrics}
            for source, result in zip(sources, results)
            if source == uri
        ]
        policies.append({"policy_uri": uri, "checkpoints": checkpoints})
    return {"simulation_suite": suite, "policies": policies, "stats_db": stats_db}


def _device(name: str) -> str:
    import torch

    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"device: {error}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} asked for, but CUDA is not available here")
    return name
