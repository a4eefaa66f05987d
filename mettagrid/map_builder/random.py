"""Random placement: an empty room holding counted objects and agents at distinct random cells,
optionally with a ``density`` of wall cells scattered over what is left."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from mettagrid.map_builder.base import (
    EMPTY,
    WALL,
    GridMapConfig,
    add_border,
    empty_grid,
    place_at_random_empty_cells,
    placed_cell_names,
)


class RandomMapConfig(GridMapConfig):
    """An empty ``width x height`` interior with objects and agents scattered at random."""

    type: Literal["random"] = "random"
    density: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="Fraction of the interior's cells turned into walls, placed after objects and agents "
        "on cells still empty (at most all of them).",
    )


class RandomMapBuilder:
    def __init__(self, config: RandomMapConfig):
        self.config = config

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        rng = np.random.default_rng(seed)
        grid = empty_grid(config.height, config.width)
        names = placed_cell_names(config.objects, config.agents)
        place_at_random_empty_cells(grid, names, rng, f"random map {config.width}x{config.height}")
        if config.density > 0:
            walls = min(round(config.density * grid.size), int(np.count_nonzero(grid == EMPTY)))
            place_at_random_empty_cells(grid, [WALL] * walls, rng, f"random map {config.width}x{config.height}")
        return add_border(grid, config.border_width)
