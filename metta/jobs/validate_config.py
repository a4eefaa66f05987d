"""`tools/validate_config.py`: compose any project config, print it, and check it against the typed schemas.

The config is named by its path (`configs/env/mettagrid/navigation.yaml`, `trainer/trainer.yaml`,
`configs/train_job.yaml`); what it is decides how it is composed and which schema checks it:

- a job (`configs/<name>_job.yaml`): composed whole; each config group is validated on its own
  (env, trainer, agent, sim, wandb) and so are the job's own keys;
- a group file (`configs/<group>/...`): composed as `+<group>=<name>` and validated alone.

Every problem becomes one `Problem` (dotted key, the file it most likely came from, why); checking
goes on after a problem so that one run lists them all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mettagrid.env_configs import CONFIGS_DIR
from mettagrid.errors import ConfigError

# Groups whose files hold one section of a job, and the schema each is checked with.
SCHEMA_GROUPS = ("env", "trainer", "agent", "sim", "wandb", "sweep")
COMMAND_LINE = "command line"


class UnknownConfig(ValueError):
    """The named config does not exist (exit code 2)."""


@dataclasses.dataclass(frozen=True)
class Problem:
    key: str
    source: str
    why: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.why}"


@dataclasses.dataclass
class Target:
    """What the command line named: a job at the configs root, or a file of a group."""

    rel: Path                 # path under configs/, with .yaml
    group: str | None         # None for a job
    name: str                 # the config name (job) or the group option (`mettagrid/navigation`)

    @property
    def source(self) -> str:
        return f"configs/{self.rel.as_posix()}"


@dataclasses.dataclass
class Report:
    data: Any
    problems: list[Problem]
    notes: list[str]


def find_target(arg: str) -> Target:
    """Turn `configs/env/x.yaml`, `env/x`, or an absolute path into a Target; UnknownConfig if none."""
    path = Path(arg)
    candidates: list[Path] = []
    if path.is_absolute() or path.exists():
        try:
            candidates.append(path.resolve().relative_to(CONFIGS_DIR.resolve()))
        except ValueError:
            pass
    text = path.as_posix()
    if not path.is_absolute():
        for head in ("./configs/", "configs/"):
            if text.startswith(head):
                text = text[len(head):]
                break
        candidates.append(Path(text))
    for rel in candidates:
        if rel.suffix not in (".yaml", ".yml"):
            rel = rel.with_name(rel.name + ".yaml")
        if rel.parts and rel.parts[0] == "sweep" and not (CONFIGS_DIR / "sweep").is_dir():
            raise UnknownConfig(f"{arg}: this project has no sweep configs (configs/sweep/ does not exist)")
        if (CONFIGS_DIR / rel).is_file():
            if len(rel.parts) == 1:
                return Target(rel, None, rel.stem)
            return Target(rel, rel.parts[0], Path(*rel.parts[1:]).with_suffix("").as_posix())
    raise UnknownConfig(f"{arg}: no such config under configs/ (e.g. configs/train_job.yaml, env/mettagrid/navigation)")


# ----------------------------------------------------------------------------- composing


def _prefix(override: str, group: str) -> str:
    """A group file's override is written relative to the group: `learning_rate=1` -> `trainer.learning_rate=1`."""
    sign = next((s for s in ("++", "+", "~") if override.startswith(s)), "")
    body = override[len(sign):]
    if body.startswith((f"{group}.", f"{group}=")):
        return override
    return f"{sign}{group}.{body}"


def compose(target: Target, overrides: list[str]) -> tuple[Any, dict[str, str]]:
    """Compose with Hydra's compose API; returns (config node without `hydra`, group choices)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf, open_dict

    from mettagrid.env_configs import isolated_hydra

    if target.group is None:
        config_name, hydra_overrides = target.name, list(overrides)
    else:
        config_name = None
        hydra_overrides = [f"+{target.group}={target.name}"] + [_prefix(o, target.group) for o in overrides]
    with isolated_hydra(), initialize_config_dir(config_dir=str(CONFIGS_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=config_name, overrides=hydra_overrides, return_hydra_config=True)
    # Which option each group took (env -> mettagrid/arena/basic), to name the file of a problem.
    raw = OmegaConf.to_container(cfg.hydra.runtime.choices, resolve=False)
    choices = {k: v for k, v in raw.items() if isinstance(v, str) and not k.startswith("hydra/")}
    with open_dict(cfg):
        del cfg["hydra"]
    if target.group is not None and target.group in cfg and _is_packaged_under_group(target):
        cfg = cfg[target.group]
    return cfg, choices


def _is_packaged_under_group(target: Target) -> bool:
    """False for `# @package _global_` files (hardware presets), which spread over the job."""
    head = (CONFIGS_DIR / target.rel).read_text().lstrip().splitlines()[:1]
    return not (head and head[0].replace(" ", "").startswith("#@package_global_"))


def resolve_all(node: Any, path: str, problems: list[Problem], source_of: Callable[[str], str]) -> Any:
    """A plain container of `node`, resolving interpolations leaf by leaf.

    A value that does not resolve is reported (with its key) and printed as written; a `???`
    value is reported as required.
    """
    from omegaconf import DictConfig, ListConfig, OmegaConf

    def key_of(key: Any) -> str:
        return f"{path}.{key}" if path else str(key)

    if isinstance(node, DictConfig):
        items = [(k, key_of(k)) for k in node]
    elif isinstance(node, ListConfig):
        items = [(i, key_of(i)) for i in range(len(node))]
    else:
        return node
    if node._is_none():
        return None
    out: dict | list = {} if isinstance(node, DictConfig) else []
    for key, dotted in items:
        if OmegaConf.is_missing(node, key):
            problems.append(Problem(dotted, source_of(dotted), "required value is missing (???)"))
            value: Any = "???"
        elif OmegaConf.is_interpolation(node, key):
            try:
                value = node[key]
                value = resolve_all(value, dotted, problems, source_of)
            except Exception as error:  # noqa: BLE001 - any resolver failure is a config problem
                raw = node._get_node(key)._value()
                problems.append(Problem(dotted, source_of(dotted), f"cannot resolve {raw}: {_first_line(error)}"))
                value = raw
        else:
            value = resolve_all(node._get_node(key), dotted, problems, source_of)
            if not isinstance(value, (dict, list)):
                value = node._get_node(key)._value()
        if isinstance(out, dict):
            out[key] = value
        else:
            out.append(value)
    return out


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


# ----------------------------------------------------------------------------- sources


class Sources:
    """Best-effort answer to "which file set this key?"."""

    def __init__(self, target: Target, choices: dict[str, str], overrides: list[str]) -> None:
        self.target = target
        self.choices = choices
        self.override_keys = []
        for override in overrides:
            body = override.lstrip("+~").split("=", 1)[0]
            self.override_keys.append(_prefix(body, target.group) if target.group and
                                      _is_packaged_under_group(target) else body)
        # `@package _global_` groups (hardware) set keys of other groups; later defaults win.
        self.global_files: list[tuple[str, dict]] = []
        for group, choice in choices.items():
            path = CONFIGS_DIR / group / f"{choice}.yaml"
            if "/" in group or not path.is_file():
                continue
            target_like = Target(path.relative_to(CONFIGS_DIR), group, choice)
            if not _is_packaged_under_group(target_like):
                data = yaml.safe_load(path.read_text()) or {}
                self.global_files.append((target_like.source, data))

    def __call__(self, key: str) -> str:
        for override in self.override_keys:
            if key == override or key.startswith(override + ".") or override.startswith(key + "."):
                return COMMAND_LINE
        for source, data in reversed(self.global_files):
            if "." in key and _has_key(data, key):
                return source
        group = key.split(".", 1)[0]
        if self.target.group is None and group in self.choices:
            return f"configs/{group}/{self.choices[group]}.yaml"
        return self.target.source


def _has_key(data: Any, dotted: str) -> bool:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


# ----------------------------------------------------------------------------- schemas


def _split(message: str) -> list[tuple[str, str]]:
    """`a.b: why; c: why` (one-line ConfigErrors) -> [(key, why), ...]."""
    out = []
    for part in message.split("; "):
        key, sep, why = part.partition(": ")
        if not sep or " " in key:
            key, why = "<root>", part
        out.append((key, why))
    return out


def _collect(check: Callable[[], Any], problems: list[Problem], source_of: Callable[[str], str],
             fallback_key: str) -> Any:
    """Run one schema check; its ConfigError becomes Problems (one per key)."""
    from pydantic import ValidationError

    from mettagrid.errors import describe_validation_error

    try:
        return check()
    except ValidationError as error:
        message = describe_validation_error(error, prefix=fallback_key)
    except (ConfigError, ValueError) as error:
        message = str(error)
    for key, why in _split(message):
        key = fallback_key if key == "<root>" else key
        problems.append(Problem(key, source_of(key), why))
    return None


def check_group(group: str, data: Any, prefix: str, problems: list[Problem],
                source_of: Callable[[str], str]) -> Any:
    """Validate one group's plain data against its schema; returns the typed config or None."""
    if data is None:
        problems.append(Problem(prefix, source_of(prefix), "required group is missing (null)"))
        return None
    if group == "env":
        from mettagrid.config import load_env_config

        return _collect(lambda: load_env_config(data, prefix=prefix), problems, source_of, prefix)
    if group == "agent":
        from metta.agent.architectures import parse_architecture

        if not isinstance(data, dict):
            problems.append(Problem(prefix, source_of(prefix), f"must be a mapping (got {data!r})"))
            return None
        return _collect(lambda: parse_architecture(data, prefix=prefix), problems, source_of, prefix)
    if group == "sweep":
        return _collect(lambda: _check_sweep(data, prefix), problems, source_of, prefix)
    model = _group_model(group)
    typed = _collect(lambda: model.model_validate(data), problems, source_of, prefix)
    if group == "sim" and typed is not None:
        from mettagrid.env_configs import ENV_CONFIGS_DIR

        for name, sim in typed.simulations.items():
            if not (ENV_CONFIGS_DIR / f"{sim.env}.yaml").is_file():
                key = f"{prefix}.simulations.{name}.env"
                problems.append(Problem(key, source_of(key), f"no such env config (got {sim.env!r})"))
    return typed


def _check_sweep(data: Any, prefix: str):
    """A sweep file: its shape, every parameter's distribution, the Protein settings, and each
    phase merged over the base (a phase can break a parameter the base has right)."""
    from pydantic import ValidationError

    from metta.sweep.distributions import SearchSpace
    from metta.sweep.lifecycle import SweepConfig, current_phase
    from metta.sweep.protein import parse_settings
    from mettagrid.errors import describe_validation_error

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


def _group_model(group: str):
    if group == "trainer":
        from metta.rl.trainer_config import TrainerConfig

        return TrainerConfig
    if group == "sim":
        from metta.sim.simulation_config import SimulationSuiteConfig

        return SimulationSuiteConfig
    from metta.rl.metrics_log import WandbConfig

    return WandbConfig


def _job_sections() -> dict[str, dict[str, Callable[[], type]]]:
    """Per job file: its own sections (key -> schema). Groups are found from the composed config."""

    def sim_job():
        from metta.jobs.sim import SimJobConfig

        return SimJobConfig

    def analysis():
        from metta.jobs.analyze import AnalysisConfig

        return AnalysisConfig

    def dashboard():
        from metta.jobs.dashboard import DashboardConfig

        return DashboardConfig

    def renderer_job():
        from metta.jobs.renderer import RendererJobConfig

        return RendererJobConfig

    def replay_job():
        from metta.jobs.replay import ReplayJobConfig

        return ReplayJobConfig

    def play_job():
        from metta.jobs.replay import PlayJobConfig

        return PlayJobConfig

    return {
        "sim_job": {"sim_job": sim_job},
        "analyze_job": {"analysis": analysis},
        "dashboard_job": {"dashboard": dashboard},
        "renderer_job": {"renderer_job": renderer_job},
        "replay_job": {"replay_job": replay_job},
        "play_job": {"replay_job": play_job},
    }


def check_job(name: str, data: dict, problems: list[Problem], source_of: Callable[[str], str]) -> None:
    typed = {}
    for group in SCHEMA_GROUPS:
        if group in data:
            typed[group] = check_group(group, data[group], group, problems, source_of)
    if name == "sweep_job" and typed.get("sweep") is not None and data.get("sweep_name") != "???":
        from metta.sweep.lifecycle import SweepJobConfig

        job_keys = {k: v for k, v in data.items() if k not in ("run", "sweep_params")}
        _collect(lambda: SweepJobConfig.model_validate(job_keys), problems, source_of, "")
    if name == "train_job":
        from pydantic import ValidationError

        from metta.rl.train_job import TrainJobConfig
        from metta.jobs.train import _ALIASES, _GROUPS
        from mettagrid.errors import describe_validation_error

        job_keys = {k: v for k, v in data.items() if k not in _GROUPS + _ALIASES}
        if data.get("run_name"):
            job_keys["run"] = data["run_name"]
        try:
            TrainJobConfig.model_validate(job_keys)
        except ValidationError as error:
            for key, why in _split(describe_validation_error(error, data=job_keys)):
                problems.append(Problem(key, source_of(key), why))
        if typed.get("env") is not None and typed.get("trainer") is not None:
            from metta.rl.trainer_config import rollout_shape

            _collect(lambda: rollout_shape(typed["trainer"], typed["env"].game.num_agents),
                     problems, source_of, "trainer.batch_size")
        return
    from pydantic import ValidationError

    from mettagrid.errors import describe_validation_error

    for key, model in _job_sections().get(name, {}).items():
        section = data.get(key) or {}
        try:
            model().model_validate(section)
        except ValidationError as error:
            for dotted, why in _split(describe_validation_error(error, prefix=key, data=section)):
                problems.append(Problem(dotted, source_of(dotted), why))


def check_hardware(target: Target, problems: list[Problem], source_of: Callable[[str], str]) -> None:
    """A hardware preset resizes the trainer: check the trainer group with the preset applied."""
    from metta.rl.train_job import SystemConfig

    merged, _ = _compose_overrides(["+trainer=trainer", f"+{target.group}={target.name}"])
    data = resolve_all(merged, "", [], source_of)  # unresolvable values were reported already
    if "trainer" in data:
        check_group("trainer", data["trainer"], "trainer", problems, source_of)
    if "system" in data:
        _collect(lambda: SystemConfig.model_validate(data["system"]), problems, source_of, "system")


def _compose_overrides(overrides: list[str]) -> tuple[Any, None]:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from mettagrid.env_configs import isolated_hydra

    with isolated_hydra(), initialize_config_dir(config_dir=str(CONFIGS_DIR), version_base="1.3"):
        return hydra_compose(overrides=overrides), None


# ----------------------------------------------------------------------------- the tool


def validate(arg: str, overrides: list[str]) -> Report:
    """Compose, resolve and check one config. Raises UnknownConfig for a path that is not a config."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    target = find_target(arg)
    problems: list[Problem] = []
    notes: list[str] = []
    try:
        cfg, choices = compose(target, overrides)
    except (HydraException, OmegaConfBaseException) as error:
        return Report(None, [_compose_problem(error, target)], notes)
    source_of = Sources(target, choices, overrides)
    prefix = target.group if target.group and _is_packaged_under_group(target) else ""
    data = resolve_all(cfg, prefix, problems, source_of)
    if target.group is None:
        if isinstance(data, dict):
            check_job(target.name, data, problems, source_of)
    elif target.group in SCHEMA_GROUPS:
        if target.group == "env" and target.name.startswith(("mettagrid/game/", "mettagrid/base/", "mettagrid/maps/")):
            notes.append(f"{target.source} is a building block of envs, not a whole env: expect missing keys")
        check_group(target.group, data, target.group, problems, source_of)
    elif target.group == "hardware":
        check_hardware(target, problems, source_of)
    else:
        notes.append(f"no schema for configs/{target.group}/: printed and interpolations checked only")
    return Report(data, _unique(problems), notes)


def _compose_problem(error: BaseException, target: Target) -> Problem:
    """Hydra's composition errors, as one Problem; an override of a key that does not exist names it."""
    import re

    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    match = re.match(r"Could not override '([^']+)'", lines[0] if lines else "")
    if match:
        key = match.group(1)
        return Problem(key, COMMAND_LINE, f"unknown key, cannot override it (to add a new key write +{key}=...)")
    return Problem("<compose>", target.source, f"could not compose: {' '.join(lines[:2])}")


def _unique(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


USAGE = "usage: validate_config.py CONFIG [overrides...]   (e.g. configs/train_job.yaml trainer.batch_size=4096)"


def main(argv: list[str], out=None, err=None) -> int:
    import sys

    out = out or sys.stdout
    err = err or sys.stderr
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=out if argv else err)
        return 0 if argv else 2
    try:
        report = validate(argv[0], argv[1:])
    except UnknownConfig as error:
        print(f"error: {error}", file=err)
        return 2
    if report.data is not None:
        out.write(to_yaml(report.data))
        out.flush()
    for note in report.notes:
        print(f"note: {note}", file=err)
    for problem in report.problems:
        print(f"error: {problem}", file=err)
    if report.problems:
        count = len(report.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=err)
        return 1
    print("ok: no problems found", file=err)
    return 0
