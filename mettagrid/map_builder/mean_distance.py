"""Mean distance: an agent at the centre, objects scattered around it at a chosen mean distance.

Each object is placed at a distance drawn from a Poisson distribution with mean
``mean_distance`` (at least 1) in a direction drawn uniformly from the circle, rounded to the
nearest cell; a draw that falls outside the interior or on a taken cell is drawn again. The
navigation evals use it to set how far the altars are from where the agent starts.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, PositiveFloat, PositiveInt

from mettagrid.map_builder.base import (
    EMPTY,
    AgentCounts,
    GridMapConfig,
    add_border,
    agent_cell_names,
    check_cell_names,
    empty_grid,
    object_cell_names,
    place_at_random_empty_cells,
)


class MeanDistanceConfig(GridMapConfig):
    """One agent at the centre of a ``width x height`` room, objects at about ``mean_distance`` from it."""

    type: Literal["mean_distance"] = "mean_distance"
    mean_distance: PositiveFloat = Field(description="Mean (Poisson) distance in cells of each object from the centre.")
    agents: AgentCounts = Field(
        default=1,
        description="Agents: the first stands at the centre, any others at random empty cells.",
    )
    max_draws: PositiveInt = Field(
        default=1000, description="Draws per object before giving up (a room too small for the distance)."
    )


class MeanDistanceBuilder:
    def __init__(self, config: MeanDistanceConfig):
        self.config = config

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        owner = f"mean_distance {config.width}x{config.height}"
        rng = np.random.default_rng(seed)
        grid = empty_grid(config.height, config.width)
        centre = (config.height // 2, config.width // 2)
        agents = agent_cell_names(config.agents)
        objects = object_cell_names(config.objects)
        check_cell_names(agents + objects, owner)
        if agents:
            grid[centre] = agents[0]
        for name in objects:
            grid[self._draw_cell(grid, centre, rng, owner, name)] = name
        place_at_random_empty_cells(grid, agents[1:], rng, owner)
        return add_border(grid, config.border_width)

    def _draw_cell(self, grid: np.ndarray, centre: tuple[int, int], rng: np.random.Generator,
                   owner: str, name: str) -> tuple[int, int]:
        height, width = grid.shape
        for _ in range(self.config.max_draws):
            distance = max(1, int(rng.poisson(self.config.mean_distance)))
            angle = rng.uniform(0.0, 2.0 * np.pi)
            row = centre[0] + round(distance * np.sin(angle))
            column = centre[1] + round(distance * np.cos(angle))
            if 0 <= row < height and 0 <= column < width and grid[row, column] == EMPTY:
                return row, column
        raise ValueError(
            f"{owner}: could not place {name!r} at mean_distance={self.config.mean_distance} in "
            f"max_draws={self.config.max_draws} draws (the room is too small or too full for that distance)"
        )
