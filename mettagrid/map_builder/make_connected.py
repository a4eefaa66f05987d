"""The ``make_connected`` wrapper: any builder's map with its separate regions joined."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mettagrid.map_builder.base import MapBuilder
from mettagrid.map_builder.connectivity import connect_components

if TYPE_CHECKING:
    from mettagrid.map_builder import MapBuilderConfig


class MakeConnectedConfig(BaseModel):
    """The child's map, with the fewest walls carved so every non-wall cell reaches every other."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["make_connected"] = "make_connected"
    # Resolved by model_rebuild() in mettagrid.map_builder, where the union lives.
    child: MapBuilderConfig = Field(description="The map to connect; its border is never carved.")


class MakeConnectedBuilder:
    def __init__(self, config: MakeConnectedConfig, child: MapBuilder):
        self.config = config
        self.child = child

    def build(self, seed: int) -> np.ndarray:
        # The same seed as the child: wrapping a map connects it without changing it otherwise.
        return connect_components(self.child.build(seed))
