"""Recipes: small modules that bundle an env, trainer settings and simulations per experiment.

Each module defines functions named after tools (`train`, `evaluate`, `analyze`, ...) that
return a `RecipeCall`: the Hydra job config to compose and the overrides to compose it with.
`./tools/run.py <tool> <recipe> [key=value ...]` composes exactly what the matching Hydra tool
(`./tools/train.py`, `./tools/sim.py`, ...) would, and calls the same library function.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecipeCall:
    """A Hydra job config name (`train_job`, `sim_job`, ...) plus override strings for it."""

    config_name: str
    overrides: list[str] = field(default_factory=list)
