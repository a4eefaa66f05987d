"""Typed simulation suites (the `sim:` group): named envs to run a policy on."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator


class SimulationConfig(BaseModel):
    """One evaluation: an env config plus overrides."""

    model_config = ConfigDict(extra="forbid")

    env: str = Field(description="Env config name under configs/env/, e.g. mettagrid/navigation/evals/walls")
    env_overrides: list[str] = Field(default_factory=list, description="key=value overrides of the env")
    num_episodes: PositiveInt | None = Field(None, description="Episodes to run; None = the suite's")
    max_time_s: float | None = Field(None, gt=0, description="Wall-clock budget; None = the suite's")
    npc_policy_uri: str | None = Field(
        None, description="Policy playing the agents the evaluated one does not (metta://policy/..., file://...)"
    )
    policy_agents_pct: float = Field(
        1.0, gt=0, le=1, description="Share of each episode's agents the evaluated policy plays (rest: NPC)"
    )

    @model_validator(mode="after")
    def _npc_needed_for_a_share(self) -> SimulationConfig:
        if self.policy_agents_pct < 1 and not self.npc_policy_uri:
            raise ValueError("policy_agents_pct below 1 needs npc_policy_uri (who plays the other agents?)")
        return self


class SimulationSuiteConfig(BaseModel):
    """A named set of simulations, with defaults for episodes and wall-clock budget."""

    model_config = ConfigDict(extra="forbid")

    name: str
    num_episodes: PositiveInt = Field(1, description="Episodes per simulation")
    max_time_s: float = Field(300.0, gt=0, description="Wall-clock budget per simulation")
    simulations: dict[str, SimulationConfig] = Field(min_length=1)


def list_suite_names() -> list[str]:
    from mettagrid.env_configs import CONFIGS_DIR

    return sorted(path.stem for path in (CONFIGS_DIR / "sim").glob("*.yaml"))


def load_suite(name: str) -> SimulationSuiteConfig:
    """The suite of `configs/sim/<name>.yaml`, composed with Hydra and validated; unknown
    names and invalid files are one-line ConfigErrors."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from mettagrid.env_configs import compose_config, hydra_error_line
    from mettagrid.errors import ConfigError

    source = f"configs/sim/{name}.yaml"
    if name not in list_suite_names():
        raise ConfigError(f"{source}: no such simulation suite (known: {', '.join(list_suite_names())})")
    composed = compose_config(None, [f"+sim={name}"], source)
    try:
        data = OmegaConf.to_container(composed.sim, resolve=True)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{source}: {hydra_error_line(error)}") from None
    return check_suite(data, source=source)


def check_suite(data: Any, prefix: str = "sim", source: str | None = None) -> SimulationSuiteConfig:
    """Validate a suite (the `sim` group); every simulation's env must be a shipped env config."""
    from pydantic import ValidationError

    from mettagrid.env_configs import ENV_CONFIGS_DIR
    from mettagrid.errors import ConfigError, describe_validation_error

    try:
        suite = SimulationSuiteConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix="" if source else prefix, source=source,
                                                    data=data)) from None
    missing = [f"{prefix}.simulations.{name}.env: no such env config (got {sim.env!r})"
               for name, sim in suite.simulations.items() if not (ENV_CONFIGS_DIR / f"{sim.env}.yaml").is_file()]
    if missing:
        raise ConfigError("; ".join(missing))
    return suite
