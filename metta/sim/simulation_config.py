"""Typed simulation suites (the `sim:` group): named envs to run a policy on."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class SimulationConfig(BaseModel):
    """One evaluation: an env config plus overrides."""

    model_config = ConfigDict(extra="forbid")

    env: str = Field(description="Env config name under configs/env/, e.g. mettagrid/navigation/evals/walls")
    env_overrides: list[str] = Field(default_factory=list, description="key=value overrides of the env")
    num_episodes: PositiveInt | None = Field(None, description="Episodes to run; None = the suite's")


class SimulationSuiteConfig(BaseModel):
    """A named set of simulations, with defaults for episodes and wall-clock budget."""

    model_config = ConfigDict(extra="forbid")

    name: str
    num_episodes: PositiveInt = Field(1, description="Episodes per simulation")
    max_time_s: float = Field(300.0, gt=0, description="Wall-clock budget per simulation")
    simulations: dict[str, SimulationConfig] = Field(min_length=1)
