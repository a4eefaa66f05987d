"""The one table of config groups, job configs and tools, and the schema defaults behind them.

`configs/` holds YAML; the schemas (pydantic models) hold every key's default and its check.
Each YAML file states only what differs from its schema: before Hydra composes, the schema
defaults are registered in Hydra's ConfigStore (`register_schema_defaults`), and the YAML
pulls them in through its defaults list (`- _schema` in a group file, `- _<job>_schema` in a
job file). So `trainer.gamma=0.99` overrides a key no YAML mentions, and a default lives in
one place.

Who reads the table: every tool under `tools/` (`metta.common.tool.hydra_tool`), `run.py`
(which tool runs a recipe's job), `validate_config.py` (which schema checks which part) and
the jobs themselves (`validate_job`).

Entries name their schemas and runners as "module:attribute" strings: this package sits
below the ones that define them (docs/architecture.md), so it imports them only when a job
asks.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel


@dataclasses.dataclass(frozen=True)
class Group:
    """A config group: `configs/<name>/<option>.yaml`, chosen with `<name>=<option>`."""

    name: str
    # "module:attr": a pydantic model, or a function(data, prefix) returning the typed config
    # and raising a one-line ConfigError.
    schema: str | None
    # Register the schema's defaults as `<name>/_schema`, for group files to start from.
    defaults_from_schema: bool = False
    # A job may leave it out (null): its part is then None (a train job without evaluations).
    optional: bool = False
    # "module:attr" of a table {option: model or (model, ...)} whose options each have their own
    # schema; each is registered as `<name>/_<option>` (configs/agent/fast.yaml starts from `_fast`).
    option_schemas: str | None = None


@dataclasses.dataclass(frozen=True)
class Job:
    """A job config, `configs/<name>.yaml`: groups plus keys of its own."""

    name: str
    # Section key -> "module:Model" checking it; "" means the job's top-level keys (those that
    # are neither groups, nor `aliases`, nor `hydra`).
    sections: dict[str, str]
    groups: tuple[str, ...] = ()
    # Top-level keys accepted for the original's spellings; the job maps them itself.
    aliases: tuple[str, ...] = ()
    # Top-level keys holding free-form mappings (null by default): an override below one adds
    # the key (`sweep_job_overrides.trainer.gamma=0.99` is read as `++...`).
    open_keys: tuple[str, ...] = ()
    # "module:function" taking the typed parts ({group or section: typed}) and raising a
    # one-line ConfigError when they do not fit together (e.g. batch vs. agents).
    cross_check: str | None = None


@dataclasses.dataclass(frozen=True)
class Tool:
    """An executable under tools/ that composes a job config."""

    script: str  # path under tools/
    job: str  # the job config it composes
    runner: str  # "module:function(cfg) -> exit status or None": what it does with the config


GROUPS: dict[str, Group] = {
    group.name: group
    for group in (
        Group("env", "mettagrid.config:load_env_config"),
        Group("trainer", "metta.rl.trainer_config:TrainerConfig", defaults_from_schema=True),
        Group("agent", "metta.agent.architectures:parse_architecture",
              option_schemas="metta.agent.architectures:ARCHITECTURES"),
        Group("sim", "metta.sim.simulation_config:check_suite", optional=True),
        Group("wandb", "metta.rl.metrics_log:WandbConfig", defaults_from_schema=True),
        Group("sweep", "metta.sweep.lifecycle:check_sweep"),
        Group("hardware", None),  # `@package _global_` presets: checked through the groups they set
    )
}

JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("train_job", {"": "metta.rl.train_job:TrainJobConfig"},
            groups=("env", "trainer", "agent", "sim", "wandb", "hardware"),
            aliases=("run_name", "device", "stats_client"), cross_check="metta.jobs.train:cross_check"),
        Job("sim_job", {"sim_job": "metta.jobs.sim:SimJobConfig", "": "metta.jobs.sim:SimRunConfig"}),
        Job("analyze_job", {"analysis": "metta.jobs.analyze:AnalysisConfig"}),
        Job("dashboard_job", {"dashboard": "metta.jobs.dashboard:DashboardConfig"}),
        Job("observatory_job", {"observatory": "metta.observatory.job:ObservatoryConfig"}),
        Job("renderer_job", {"renderer_job": "metta.jobs.renderer:RendererJobConfig",
                             "": "metta.jobs.renderer:RendererRunConfig"}, groups=("env",)),
        Job("replay_job", {"replay_job": "metta.jobs.replay:ReplayJobConfig"}),
        Job("play_job", {"replay_job": "metta.jobs.replay:PlayJobConfig"}),
        Job("sweep_job", {"": "metta.sweep.lifecycle:SweepJobConfig"}, groups=("sweep",),
            aliases=("run", "sweep_params", "metric"), open_keys=("sweep_job_overrides",)),
        Job("autotune_job", {"autotune": "metta.jobs.autotune:AutotuneConfig"},
            groups=("env", "trainer", "agent", "hardware")),
        Job("stats_cli_job", {"": "metta.jobs.stats_cli:StatsCliConfig"}),
    )
}

TOOLS: dict[str, Tool] = {
    tool.script: tool
    for tool in (
        Tool("train.py", "train_job", "metta.jobs.train:main"),
        Tool("sim.py", "sim_job", "metta.jobs.sim:main"),
        Tool("analyze.py", "analyze_job", "metta.jobs.analyze:main"),
        Tool("dashboard.py", "dashboard_job", "metta.jobs.dashboard:main"),
        Tool("observatory.py", "observatory_job", "metta.observatory.job:main"),
        Tool("renderer.py", "renderer_job", "metta.jobs.renderer:main"),
        Tool("replay.py", "replay_job", "metta.jobs.replay:replay_main"),
        Tool("play.py", "play_job", "metta.jobs.replay:play_main"),
        Tool("sweep_init.py", "sweep_job", "metta.jobs.sweep:init_main"),
        Tool("sweep_execute.py", "sweep_job", "metta.jobs.sweep:execute_main"),
        Tool("sweep_eval.py", "sweep_job", "metta.jobs.sweep:eval_main"),
        Tool("autotune.py", "autotune_job", "metta.jobs.autotune:main"),
        Tool("stats_duckdb_cli.py", "stats_cli_job", "metta.jobs.stats_cli:main"),
    )
}


def tool_for_job(job: str) -> Tool:
    """The tool that runs a job config (the first listed, for configs several tools share)."""
    return next(tool for tool in TOOLS.values() if tool.job == job)


def load(reference: str) -> Any:
    """The object a "module:attribute" reference names."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


# ---------------------------------------------------------------------------------------------
# schema defaults for Hydra


def schema_defaults(model: type[BaseModel], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every field of `model` with its default as plain YAML data; required fields are `???`
    (OmegaConf's "missing"), so composing still lists them and a run without them fails with
    the key named."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        out[name] = "???" if field.is_required() else _plain(field.get_default(call_default_factory=True))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# Settings every job shares: Hydra writes no log files or output folders and does not change
# directory, so relative paths (train_dir/, ./report/) mean what the user typed.
JOB_HYDRA_SETTINGS: dict[str, Any] = {
    "defaults": [{"override hydra/job_logging": "none"}, {"override hydra/hydra_logging": "none"}],
    "hydra": {"run": {"dir": "."}, "output_subdir": None, "job": {"chdir": False}},
}


def job_defaults(job: Job) -> dict[str, Any]:
    """The node `configs/<job>.yaml` starts from: Hydra settings plus every section's defaults."""
    hydra = {**JOB_HYDRA_SETTINGS["hydra"], "job": {**JOB_HYDRA_SETTINGS["hydra"]["job"], "name": job.name}}
    node: dict[str, Any] = {"defaults": list(JOB_HYDRA_SETTINGS["defaults"]), "hydra": hydra}
    for key, reference in job.sections.items():
        model = load(reference)
        if key:
            node[key] = schema_defaults(model)
        else:  # the job's own top-level keys; its groups come from their own files
            node.update(schema_defaults(model, skip=job.groups))
    return node


_registered: set[str] = set()  # job and group names already in the ConfigStore


def register_schema_defaults(job: str | None = None) -> None:
    """Put the schema defaults into Hydra's ConfigStore: `_<job>_schema` for every job config,
    `<group>/_schema` for groups that start from their schema and `<group>/_<option>` for
    groups with a schema per option. With `job`, only that job and the groups it uses, so a
    tool imports only the schemas it composes (no torch for sim.py, no scipy for train.py)."""
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for entry in [JOBS[job]] if job else JOBS.values():
        if entry.name not in _registered:
            store.store(name=f"_{entry.name}_schema", node=job_defaults(entry))
            _registered.add(entry.name)
    wanted = JOBS[job].groups if job else tuple(GROUPS)
    for group in (GROUPS[name] for name in wanted if name not in _registered):
        if group.defaults_from_schema and group.schema:
            store.store(group=group.name, name="_schema", node=schema_defaults(load(group.schema)))
        if group.option_schemas:
            for option, entry in load(group.option_schemas).items():
                model = entry[0] if isinstance(entry, tuple) else entry
                store.store(group=group.name, name=f"_{option}", node=schema_defaults(model))
        _registered.add(group.name)
