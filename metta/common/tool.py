"""What every Hydra tool shares: turning the composed config into typed, validated pieces.

A tool's `@hydra.main` function stays a few lines: it calls `env_config_from(cfg)` and
`job_config_from(cfg, key, Model)`, which refuse bad input with one line naming the key, and
hands the typed pieces to one library function.
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ValidationError

from mettagrid.config import EnvConfig, load_env_config
from mettagrid.errors import ConfigError, describe_validation_error

Model = TypeVar("Model", bound=BaseModel)


def to_container(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node


def env_config_from(cfg: DictConfig, key: str = "env") -> EnvConfig:
    if key not in cfg or cfg[key] is None:
        raise ConfigError(f"{key}: no env selected (add e.g. {key}=mettagrid/arena/basic)")
    return load_env_config(to_container(cfg[key]), prefix=key)


def job_config_from(cfg: DictConfig, key: str, model: type[Model]) -> Model:
    try:
        return model.model_validate(to_container(cfg.get(key)) or {})
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=key)) from None


def exit_on_config_error(run, *args: Any) -> Any:
    """Run a tool body; a ConfigError becomes one line on stderr and exit code 2."""
    try:
        return run(*args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def precheck_overrides(config_name: str, argv: list[str]) -> None:
    """Compose `config_name` with the command line's overrides once, before `@hydra.main` does.

    Hydra reports an override of a missing key (`trainer.learning_rat=1`) as a multi-line
    message; composing here first turns it into one line naming the key, and exit code 2.
    Command lines with Hydra flags (`--help`, `--cfg job`, `-m`) are left to Hydra.
    """
    overrides = argv[1:]
    if any(arg.startswith("-") for arg in overrides):
        return
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from mettagrid.env_configs import CONFIGS_DIR

    try:
        with initialize_config_dir(config_dir=str(CONFIGS_DIR), version_base="1.3"):
            compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        print(f"error: {' '.join(lines[:2])}", file=sys.stderr)
        raise SystemExit(2) from None
