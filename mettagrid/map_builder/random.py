"""Random placement: an empty room holding counted objects and agents at distinct random cells."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

from mettagrid.map_builder.base import (
    add_border,
    agent_cell_names,
    empty_grid,
    object_cell_names,
    place_at_random_empty_cells,
)


class RandomMapConfig(BaseModel):
    """An empty ``width x height`` interior with objects and agents scattered at random."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["random"] = "random"
    width: PositiveInt = Field(description="Interior width in cells (the border is added outside it).")
    height: PositiveInt = Field(description="Interior height in cells (the border is added outside it).")
    objects: dict[str, NonNegativeInt] = Field(
        default_factory=dict, description="Object name -> how many to place."
    )
    agents: NonNegativeInt | dict[str, NonNegativeInt] = Field(
        default=0, description="Number of agents of group 'agent', or group name -> count."
    )
    border_width: NonNegativeInt = Field(
        default=0, description="Wall cells added around the interior on every side."
    )


class RandomMapBuilder:
    def __init__(self, config: RandomMapConfig):
        self.config = config

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        rng = np.random.default_rng(seed)
        grid = empty_grid(config.height, config.width)
        names = object_cell_names(config.objects) + agent_cell_names(config.agents)
        place_at_random_empty_cells(grid, names, rng, f"random map {config.width}x{config.height}")
        return add_border(grid, config.border_width)
