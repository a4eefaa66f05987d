"""Compose the env YAML of `configs/env/` with Hydra and validate it into an EnvConfig.

Tools that run under `@hydra.main` already hold the composed `env` node and call
`load_env_config` directly; this module is for everything else (tests, scripts, notebooks)
that wants `env=mettagrid/arena/basic` without a job config around it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from mettagrid.config import EnvConfig, load_env_config
from mettagrid.errors import ConfigError, YamlSyntaxError, yaml_error_line

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIGS_DIR = PROJECT_ROOT / "configs"
ENV_CONFIGS_DIR = CONFIGS_DIR / "env"

# Folders of shared building blocks (composed into envs) and of curricula: not envs by themselves.
_NOT_ENVS = ("mettagrid/game/", "mettagrid/base/", "mettagrid/maps/", "mettagrid/curriculum/")


@contextlib.contextmanager
def isolated_hydra() -> Iterator[None]:
    """Let Hydra's compose API run inside a `@hydra.main` tool (e.g. the trainer's evaluation).

    `initialize_config_dir` refuses to start while the tool's own global Hydra instance is
    live; it is set aside meanwhile and put back afterwards (the same bookkeeping Hydra's
    context managers do, keyed the same way).
    """
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.singleton import Singleton

    saved = Singleton._instances.pop(GlobalHydra, None)
    try:
        yield
    finally:
        Singleton._instances.pop(GlobalHydra, None)
        if saved is not None:
            Singleton._instances[GlobalHydra] = saved


def list_env_names() -> list[str]:
    """Every complete env config shipped, as `env=` names (e.g. `mettagrid/arena/basic`)."""
    names = []
    for path in sorted(ENV_CONFIGS_DIR.rglob("*.yaml")):
        name = path.relative_to(ENV_CONFIGS_DIR).with_suffix("").as_posix()
        if not name.startswith(_NOT_ENVS):
            names.append(name)
    return names


def compose_config(
    config_name: str | None, overrides: list[str], source: str, return_hydra_config: bool = False,
    search_dirs: tuple[Path, ...] = (),
):
    """Compose `configs/<config_name>.yaml` (or only the overrides, when None) with Hydra's
    compose API, also finding configs in `search_dirs` (a tool's `--config-dir`). Every
    composition in the project goes through here, so that every Hydra error reaches the user
    as one `ConfigError` line starting with `source`, and a file that is not YAML as
    `file:line:col: what` (Hydra lets PyYAML's four-line error through unchanged)."""
    import yaml
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = list(overrides)
    if search_dirs:
        overrides.append("hydra.searchpath=[" + ",".join(f"'file://{d.resolve()}'" for d in search_dirs) + "]")
    try:
        with isolated_hydra(), initialize_config_dir(config_dir=str(CONFIGS_DIR), version_base="1.3"):
            return compose(config_name=config_name, overrides=overrides, return_hydra_config=return_hydra_config)
    except yaml.YAMLError as error:
        raise YamlSyntaxError(yaml_error_line(error)) from None
    except (HydraException, OmegaConfBaseException) as error:
        if isinstance(error.__cause__, yaml.YAMLError):
            raise YamlSyntaxError(yaml_error_line(error.__cause__)) from None
        raise ConfigError(f"{source}: {hydra_error_line(error)}") from None


def hydra_error_line(error: BaseException) -> str:
    # Hydra's message is a sentence plus a hint ("To append to your config use +key=..."), or
    # for an unknown group option the sentence, "Available options in 'group':" and one option
    # per line: the options are what the user needs, so they are kept, comma-separated.
    # Hydra's "Config search path:" listing that may follow says nothing the user can act on.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    lines = lines[:next((i for i, line in enumerate(lines) if line.startswith("Config search path")), len(lines))]
    if len(lines) > 2 and lines[1].startswith("Available options") and lines[1].endswith(":"):
        options = [line for line in lines[2:] if not line.startswith("_")]  # `_schema`: the defaults, not a choice
        return f"{lines[0]} {lines[1]} {', '.join(options)}"
    return " ".join(lines[:2])


def compose_env_config(name: str, overrides: list[str] | tuple[str, ...] = ()) -> EnvConfig:
    """Compose `configs/env/<name>.yaml` with Hydra, apply `key=value` overrides, validate.

    Overrides are written relative to the env (`game.max_steps=100`), as they would be after
    `env.` on a tool's command line.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    source = f"configs/env/{name}.yaml"
    if not (ENV_CONFIGS_DIR / f"{name}.yaml").is_file():
        known = ", ".join(list_env_names())
        raise ConfigError(f"{source}: no such env config (known: {known})")
    hydra_overrides = [f"+env={name}"] + [_prefix_env(override) for override in overrides]
    composed = compose_config(None, hydra_overrides, source)
    try:
        data = OmegaConf.to_container(composed.env, resolve=True)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{source}: {hydra_error_line(error)}") from None
    return load_env_config(data, source=source)


def _prefix_env(override: str) -> str:
    for sign in ("++", "+", "~"):
        if override.startswith(sign):
            return sign + "env." + override[len(sign):]
    return "env." + override
