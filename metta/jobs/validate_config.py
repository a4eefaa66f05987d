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

from metta.common.config_table import GROUPS
from metta.common.uri import first_line
from mettagrid.env_configs import CONFIGS_DIR
from mettagrid.errors import ConfigError, YamlSyntaxError

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
    """Compose with the schema defaults in place; returns (config node without `hydra`, group
    choices). A composition error is a ConfigError."""
    from omegaconf import OmegaConf, open_dict

    from metta.common.tool import compose_job

    if target.group is None:
        cfg = compose_job(target.name, list(overrides), return_hydra_config=True)
    else:
        hydra_overrides = [f"+{target.group}={target.name}"] + [_prefix(o, target.group) for o in overrides]
        cfg = compose_job(None, hydra_overrides, return_hydra_config=True)
    # Which option each group took (env -> mettagrid/arena/basic), to name the file of a problem.
    raw = OmegaConf.to_container(cfg.hydra.runtime.choices, resolve=False)
    choices = {k: v for k, v in raw.items() if isinstance(v, str) and not k.startswith(("hydra/", "_"))}
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
                problems.append(Problem(dotted, source_of(dotted), f"cannot resolve {raw}: {first_line(error)}"))
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
        self.own = yaml.safe_load((CONFIGS_DIR / target.rel).read_text()) or {}
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
        if self.target.group is None and "." in key and _has_key(self.own, key):
            return self.target.source  # the job file states it (after its defaults: `_self_` last)
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
    """Validate one group's plain data against the schema the table names; the typed config or None."""
    from metta.common.tool import check_group as check

    return _collect(lambda: check(group, data, prefix), problems, source_of, prefix)


def check_job(name: str, data: dict, problems: list[Problem], source_of: Callable[[str], str]) -> None:
    """Every part of a job config, as the table describes it: each group its own schema, each
    section of the job its own, then the checks across parts (when the parts are all good)."""
    from metta.common.config_table import JOBS, load
    from metta.common.tool import section_data, validate_model

    job = JOBS.get(name)
    if job is None:
        return
    typed: dict[str, Any] = {}
    found_before = len(problems)
    for group in (GROUPS[group_name] for group_name in job.groups if GROUPS[group_name].schema):
        value = data.get(group.name)
        typed[group.name] = None if group.optional and not value else check_group(
            group.name, value, group.name, problems, source_of)
    complete = True
    for key, reference in job.sections.items():
        section = section_data(name, key, data)
        if key == "" and any(value == "???" for value in section.values()):
            complete = False  # a required key left for the command line (sweep_name), reported already
            continue
        typed[key] = _collect(lambda reference=reference, section=section, key=key:
                              validate_model(load(reference), section, key), problems, source_of, key)
    # The checks across parts need every part, each good on its own.
    if job.cross_check and complete and len(problems) == found_before:
        _collect(lambda: load(job.cross_check)(typed), problems, source_of, "trainer.batch_size")


def check_own_file(target: Target, data: dict, problems: list[Problem], notes: list[str],
                   source_of: Callable[[str], str]) -> None:
    """A file of the user's at the configs root (configs/my_config.yaml) is no job of the table:
    check each config group it holds (env, trainer, agent, ...) against that group's schema."""
    from metta.common.config_table import JOBS

    if target.name in JOBS:
        return
    groups = [name for name, group in GROUPS.items() if group.schema and data.get(name)]
    for name in groups:
        check_group(name, data[name], name, problems, source_of)
    checked = f"checked its groups: {', '.join(groups)}" if groups else "it holds no config group to check"
    notes.append(f"{target.source} is not a job of the table (configs/<tool>_job.yaml); {checked}")


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
    from metta.common.tool import compose_job

    return compose_job(None, overrides), None


# ----------------------------------------------------------------------------- the tool


def validate(arg: str, overrides: list[str]) -> Report:
    """Compose, resolve and check one config. Raises UnknownConfig for a path that is not a config."""
    target = find_target(arg)
    problems: list[Problem] = []
    notes: list[str] = []
    try:
        cfg, choices = compose(target, overrides)
    except YamlSyntaxError:
        raise  # nothing to check in a file that does not parse: main() reports the one line
    except ConfigError as error:
        return Report(None, [_compose_problem(error, target)], notes)
    source_of = Sources(target, choices, overrides)
    prefix = target.group if target.group and _is_packaged_under_group(target) else ""
    data = resolve_all(cfg, prefix, problems, source_of)
    if target.group is None:
        if isinstance(data, dict):
            check_job(target.name, data, problems, source_of)
            check_own_file(target, data, problems, notes, source_of)
    elif target.group in GROUPS and GROUPS[target.group].schema:
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

    message = str(error).split(": ", 1)[1] if ": " in str(error) else str(error)  # drop the "configs/x.yaml: "
    match = re.match(r"Could not override '([^']+)'", message)
    if match:
        key = match.group(1)
        return Problem(key, COMMAND_LINE, f"unknown key, cannot override it (to add a new key write +{key}=...)")
    return Problem("<compose>", target.source, f"could not compose: {message}")


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
    except (UnknownConfig, YamlSyntaxError) as error:
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
