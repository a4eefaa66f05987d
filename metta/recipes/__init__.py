"""Recipes: small modules that bundle an env, trainer settings and simulations per experiment.

Each module defines functions named after tools (`train`, `evaluate`, `analyze`, ...) that
return a `RecipeCall`: the Hydra job config to compose and the overrides to compose it with
(or a `CommandCall`: a `cogames` command line). Recipes may sit in subpackages
(`experiment/cogsguard.py` is the recipe `experiment.cogsguard`).
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


@dataclass(frozen=True)
class CommandCall:
    """A `cogames` command line (metta/cogames/cli.py) for tools that are not Hydra jobs: the
    fixed leading arguments, and which flag each `key=value` argument of run.py becomes."""

    argv: list[str]
    flags: dict[str, str] = field(default_factory=dict)
