"""Typed simulation suites (the `sim:` group): named envs to run a policy on."""

from __future__ import annotations


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
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    from pydantic import ValidationError

    from mettagrid.env_configs import CONFIGS_DIR, isolated_hydra
    from mettagrid.errors import ConfigError, describe_validation_error

    source = f"configs/sim/{name}.yaml"
    if name not in list_suite_names():
        raise ConfigError(f"{source}: no such simulation suite (known: {', '.join(list_suite_names())})")
    try:
        with isolated_hydra(), initialize_config_dir(config_dir=str(CONFIGS_DIR), version_base="1.3"):
            data = OmegaConf.to_container(compose(overrides=[f"+sim={name}"]).sim, resolve=True)
    except (HydraException, OmegaConfBaseException) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise ConfigError(f"{source}: {' '.join(lines[:2])}") from None
    try:
        return SimulationSuiteConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, source=source, data=data)) from None
