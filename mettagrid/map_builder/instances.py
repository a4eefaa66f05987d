"""Several instances of one room in one map, each built from its own seed.

Instances are tiled row by row in a grid of ``columns`` columns, separated by wall strips of
``instance_border_width``; slots left over in the last row are wall. The arena uses this to
put 24 agents in one map as 4 rooms of 6.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

from mettagrid.map_builder.base import CELL_DTYPE, WALL, MapBuilder, add_border, child_seeds

if TYPE_CHECKING:
    from mettagrid.map_builder import MapBuilderConfig


class InstancesConfig(BaseModel):
    """``num_instances`` rooms built from the same config with different seeds, tiled in a grid."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["instances"] = "instances"
    # Resolved by InstancesConfig.model_rebuild() in mettagrid.map_builder, where the union lives.
    instance: MapBuilderConfig = Field(description="The room every instance is built from.")
    num_instances: PositiveInt = Field(description="How many rooms to build.")
    columns: PositiveInt | None = Field(
        default=None, description="Rooms per row; default ceil(sqrt(num_instances))."
    )
    instance_border_width: NonNegativeInt = Field(
        default=1, description="Wall cells between neighbouring rooms."
    )
    border_width: NonNegativeInt = Field(
        default=0, description="Wall cells added around the whole map on every side."
    )


def tile_instances(rooms: list[np.ndarray], columns: int, gap: int) -> np.ndarray:
    """Place equal-sized rooms in a grid of ``columns`` columns with ``gap`` wall cells between them."""
    height, width = rooms[0].shape
    rows = math.ceil(len(rooms) / columns)
    shape = (rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap)
    grid = np.full(shape, WALL, dtype=CELL_DTYPE)
    for index, room in enumerate(rooms):
        row, col = divmod(index, columns)
        top, left = row * (height + gap), col * (width + gap)
        grid[top : top + height, left : left + width] = room
    return grid


class InstancesBuilder:
    def __init__(self, config: InstancesConfig, instance_builder: MapBuilder):
        self.config = config
        self.instance_builder = instance_builder

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        rooms = [self.instance_builder.build(s) for s in child_seeds(seed, config.num_instances)]
        shapes = {room.shape for room in rooms}
        if len(shapes) > 1:
            raise ValueError(f"instances: rooms must all have the same shape, got {sorted(shapes)}")
        columns = config.columns or math.ceil(math.sqrt(config.num_instances))
        grid = tile_instances(rooms, columns, config.instance_border_width)
        return add_border(grid, config.border_width)
