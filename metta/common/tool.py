"""What every Hydra tool shares: composing a job config, and turning it into typed, checked parts.

A script under tools/ is a docstring and `hydra_tool("<script>.py")`; the table in
`metta.common.config_table` says which job config it composes and which library function
runs it. Bad input anywhere (an override of a missing key, a wrong value, a file that does
not parse) ends as one line on stderr naming the key, and exit code 2.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ValidationError

from metta.common.config_table import GROUPS, JOBS, TOOLS, load, register_schema_defaults
from mettagrid.env_configs import CONFIGS_DIR, compose_config
from mettagrid.errors import ConfigError, YamlSyntaxError, describe_validation_error

Model = TypeVar("Model", bound=BaseModel)


def to_container(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


# ---------------------------------------------------------------------------------------------
# composing


def compose_job(config_name: str | None, overrides: list[str], return_hydra_config: bool = False,
                search_dirs: tuple[Path, ...] = ()) -> DictConfig:
    """Compose a job config (or, with None, only the overrides) with the schema defaults in
    place, also finding configs in `search_dirs` (`--config-dir`); a Hydra error is a one-line
    ConfigError."""
    register_schema_defaults(config_name if config_name in JOBS else None)
    source = f"configs/{config_name}.yaml" if config_name else "command line"
    return compose_config(config_name, normalize_overrides(overrides, config_name, search_dirs), source,
                          return_hydra_config=return_hydra_config, search_dirs=search_dirs)


def rejoin_split_lists(words: list[str]) -> list[str]:
    """Put back together a list value the shell split at its spaces.

    Typed unquoted, `dashboard.policies=["run1", "run2"]` reaches us as two words,
    `dashboard.policies=[run1,` and `run2]` (the shell drops the quotes and splits at the
    space). A `key=value` word whose value opens more `[` than it closes takes the following
    words (joined with a space) until the brackets balance; when they never do, that is a
    one-line ConfigError naming the key. Line breaks inside a word (a list typed
    over several lines inside quotes) become spaces, since Hydra's grammar has no newlines."""
    words = [re.sub(r"\s*\n\s*", " ", word) for word in words]
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        depth = _bracket_depth(word.partition("=")[2]) if "=" in word and not word.startswith("-") else 0
        end = index + 1
        while depth > 0 and end < len(words) and not words[end].startswith("-"):
            depth += _bracket_depth(words[end])
            end += 1
        if depth > 0:
            key = word.partition("=")[0].lstrip("+")
            raise ConfigError(f"{key}: the list {' '.join(words[index:end]).partition('=')[2]!r} is never closed "
                              f"with ']' (quote the whole value: {key}='[\"a\", \"b\"]')")
        if end > index + 1:
            out.append(" ".join(words[index:end]))
            index = end
        else:
            out.append(word)
            index += 1
    return out


def _bracket_depth(text: str) -> int:
    return text.count("[") - text.count("]")


def normalize_overrides(overrides: list[str], job: str | None = None, search_dirs: tuple[Path, ...] = ()) -> list[str]:
    """`+key=value` for a key the schema already has means "set it": Hydra would refuse to
    append a key that exists, and since every schema key exists now, the original's
    `+eval_db_uri=...` spelling becomes `++` (add or set). Group choices (`+sim=arena`)
    keep their meaning, also for groups of a `--config-dir` (`-cd`) given on the line or in
    `search_dirs`.
    `<group>=null` (`sim=null`: no evaluations) is Hydra's `~<group>`. A list the shell split
    at its spaces is joined back first (`rejoin_split_lists`). Below one of the job's
    `open_keys` (free-form mappings) a dotted override adds the key: `++` too."""
    open_keys = JOBS[job].open_keys if job in JOBS else ()
    dirs = [CONFIGS_DIR, *search_dirs]
    for flag, value in zip(overrides, overrides[1:] + [""]):
        if flag in ("--config-dir", "-cd"):
            dirs.append(Path(value))
        elif flag.startswith("--config-dir="):
            dirs.append(Path(flag.split("=", 1)[1]))
    out = []
    for override in rejoin_split_lists(overrides):
        key, eq, value = override.partition("=")
        if eq and value in ("null", "None") and (CONFIGS_DIR / key).is_dir():
            override = "~" + key
        if _is_map_file_override(override):
            out += map_file_overrides(override)
            continue
        if override.startswith("+") and not override.startswith("++") and "=" in override:
            key = override[1:].split("=", 1)[0]
            if "." in key or not any((d / key).is_dir() for d in dirs):
                override = "+" + override
        elif "=" in override and not override.startswith(("+", "~", "-")):
            key = override.split("=", 1)[0]
            if "." in key and key.split(".", 1)[0] in open_keys:
                override = "++" + override
        out.append(override)
    return out


MAP_FILE_KEY = "game.map"


def _is_map_file_override(override: str) -> bool:
    key, sep, value = override.lstrip("+").partition("=")
    return bool(sep) and value.startswith("@") and (key == MAP_FILE_KEY or key.endswith("." + MAP_FILE_KEY))


def map_file_overrides(override: str) -> list[str]:
    """`env.game.map=@file://./my_map.yaml` (the original's spelling): play on a stored map.

    The env's map builder becomes an `ascii` builder reading that file (a map saved by
    tools/map/gen.py, or plain ASCII rows), and `game.num_agents` becomes the map's agent
    count, so any env's rules can be tried on the map."""
    from pathlib import Path

    from mettagrid.map_builder import count_agents
    from mettagrid.map_builder.ascii import parse_stored_map

    key, _, value = override.lstrip("+").partition("=")
    uri = value[1:]
    if uri.startswith("s3://"):
        raise ConfigError(f"{key}: {value}: only local map files can be used here (copy it first: ./tools/map/view.py "
                          f"shows it, or aws s3 cp)")
    path = Path(uri.removeprefix("file://")).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"{key}: {value}: no such map file ({path})")
    try:
        grid, _ = parse_stored_map(path.read_text(encoding="utf-8"), str(path))
    except YamlSyntaxError:
        raise  # `map.yaml:2:6: not valid YAML: ...` names the file already
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"{key}: {str(error).splitlines()[0]}") from None
    game = key.removesuffix("map")
    quoted = str(path).replace("'", "\\'")
    return [f"~{game}map_builder", f"++{game}map_builder={{type: ascii, uri: '{quoted}'}}",
            f"{game}num_agents={count_agents(grid)}"]


# Hydra flags that change which configs are composed: those lines are left to Hydra alone.
_COMPOSITION_FLAGS = ("--config-name", "-cn", "--config-path", "-cp", "--experimental-rerun",
                      "--shell-completion", "-sc")
# Flags that take the next word as their value (`--cfg job`, `--package trainer`).
_FLAGS_WITH_VALUE = ("--cfg", "-c", "--package", "-p", "--info", "-i")


def precheck_overrides(config_name: str, argv: list[str]) -> None:
    """Compose `config_name` with the command line's overrides once, before `@hydra.main` does.

    Hydra reports an override of a missing key (`trainer.learning_rat=1`) as a multi-line
    message and a config file that is not YAML as a traceback; composing here first turns
    either into one line (`file:line:col: what` for the YAML), and exit code 2. The configs
    of `--config-dir` are composed too; under `-m` each sweep `key=a,b` with its first value.
    """
    words = argv[1:]
    if any(word.split("=", 1)[0] in _COMPOSITION_FLAGS for word in words):
        return
    search_dirs, overrides, flags = [], [], []
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("--config-dir", "-cd") or word.startswith("--config-dir="):
            value = word.split("=", 1)[1] if "=" in word else (words[index + 1] if index + 1 < len(words) else "")
            index += 1 if "=" in word else 2
            if not Path(value).is_dir():
                refuse(f"--config-dir: {value or '(nothing)'}: no such directory (give the folder holding your "
                       f"config groups)")
            search_dirs.append(Path(value))
            continue
        if word.startswith("-"):
            flags.append(word)
            takes_value = word in _FLAGS_WITH_VALUE and index + 1 < len(words) and "=" not in words[index + 1]
            index += 2 if takes_value else 1
            continue
        overrides.append(word)
        index += 1
    if "-m" in flags or "--multirun" in flags:
        overrides = _first_of_sweeps(overrides)
    exit_on_config_error(compose_job, config_name, overrides, False, tuple(search_dirs))


def _first_of_sweeps(overrides: list[str]) -> list[str]:
    """`-m` lines: each sweep override (`worker=w0,w1`, `x=range(1,3)`) with its first value,
    so the line composes as one job would."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return overrides  # Hydra will say what is wrong with the override
    out = []
    for override, text in zip(parsed, overrides):
        if override.is_sweep_override():
            first = next(iter(override.sweep_string_iterator()), None)
            if first is None:
                continue
            text = f"{override.get_key_element()}={first}"
        out.append(text)
    return out


def hydra_tool(script: str) -> None:
    """Run the tool `script` (a TOOLS row): compose its job config from the command line
    under `@hydra.main`, then hand the config to the tool's runner."""
    import hydra

    tool = TOOLS[script]
    register_schema_defaults(tool.job)
    sys.argv[1:] = exit_on_config_error(normalize_overrides, sys.argv[1:], tool.job)
    if any(arg.startswith("hydra/help=") for arg in sys.argv[1:]) and "--help" not in sys.argv:
        sys.argv.append("--help")  # choosing a help template means "show the help" (the config groups)
    precheck_overrides(tool.job, sys.argv)

    @hydra.main(config_path=str(CONFIGS_DIR), config_name=tool.job, version_base="1.3")
    def main(cfg: DictConfig) -> None:
        status = exit_on_config_error(load(tool.runner), cfg)
        if isinstance(status, int) and status:  # runners return None, or an exit status
            raise SystemExit(status)

    main()


def exit_on_config_error(run, *args: Any) -> Any:
    """Run a tool body; a ConfigError becomes one line on stderr and exit code 2."""
    try:
        return run(*args)
    except ConfigError as error:
        refuse(str(error))


def refuse(message: str) -> None:
    """The end of a tool given bad input: `error: <message>` on stderr, exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


# ---------------------------------------------------------------------------------------------
# typed parts


def job_config_from(cfg: DictConfig, key: str, model: type[Model]) -> Model:
    """The section `key` of the composed config, validated by `model`."""
    return validate_model(model, to_container(cfg.get(key)) or {}, key)


def validate_model(model: type[Model], data: Any, prefix: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=prefix, data=data)) from None


def check_group(group: str, data: Any, prefix: str | None = None) -> Any:
    """One group's data checked by the schema the table names; a one-line ConfigError if bad."""
    prefix = prefix or group
    if data is None:
        example = {"env": " (add e.g. env=mettagrid/arena/basic)"}.get(group, "")
        raise ConfigError(f"{prefix}: required group is missing (null){example}")
    schema = load(GROUPS[group].schema)
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return validate_model(schema, data, prefix)
    return schema(data, prefix=prefix)


def job_own_keys(config_name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The top-level keys of a job that are its own: not groups, aliases or Hydra's."""
    job = JOBS[config_name]
    skip = set(job.groups) | set(job.aliases) | set(job.sections) | {"hydra"}
    return {key: value for key, value in data.items() if key not in skip}


def section_data(config_name: str, key: str, data: dict[str, Any]) -> Any:
    """What the section's model reads; the top-level model also gets the groups it has fields
    for (the sweep job validates its `sweep` group as part of itself)."""
    if key:
        return data.get(key) or {}
    fields = load(JOBS[config_name].sections[""]).model_fields
    return {**job_own_keys(config_name, data),
            **{group: data[group] for group in JOBS[config_name].groups if group in fields and group in data}}


def validate_job(cfg: DictConfig | dict[str, Any], config_name: str) -> dict[str, Any]:
    """Every part of a composed job, typed: {group or section key: typed config}; the job's
    own top-level keys under "". Stops at the first problem (validate_config.py lists them all)."""
    job = JOBS[config_name]
    data = to_container(cfg) if isinstance(cfg, DictConfig) else cfg
    parts: dict[str, Any] = {}
    for group in (GROUPS[name] for name in job.groups if GROUPS[name].schema):
        value = data.get(group.name)
        parts[group.name] = None if group.optional and not value else check_group(group.name, value)
    for key, reference in job.sections.items():
        parts[key] = validate_model(load(reference), section_data(config_name, key, data), key)
    if job.cross_check:
        load(job.cross_check)(parts)
    return parts
