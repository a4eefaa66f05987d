"""Mirror symmetry: a child map built on half (or a quarter) of the area and reflected.

``horizontal`` puts the child on the left and its mirror image on the right; ``vertical``
puts it on top and its mirror image below; ``x4`` fills the four quadrants. With an odd
size the middle column (or row) is shared by both copies and comes from the child.

For fair team maps the mirror places its own ``agents`` and ``objects`` (counts per copy)
in the child's part, off the shared middle line, and reflects them, so every copy gets the
same things at mirrored places. ``groups`` renames the agents of each copy, e.g.
``[team_1, team_2]``: the same layout for both teams. Agents the child places itself are
reflected too, except any on the shared middle line, which stay single.

With ``connected`` the child's part is carved connected and given an open cell on every
line it shares with a mirror image, so the reflected map is connected and still symmetric
(carving the whole map afterwards would break the symmetry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from mettagrid.map_builder.base import (
    AGENT_PREFIX,
    EMPTY,
    AgentCounts,
    GridMapConfig,
    MapBuilder,
    ObjectCounts,
    add_border,
    check_cell_names,
    child_seeds,
    placed_cell_names,
)
from mettagrid.map_builder.connectivity import connect_components, open_cells
from mettagrid.map_builder.placement import place_in_cells
from mettagrid.map_builder.sizing import check_shape, fit_to_area, with_area_size

if TYPE_CHECKING:
    from mettagrid.map_builder import MapBuilderConfig

COPIES = {"horizontal": 2, "vertical": 2, "x4": 4}


class MirrorConfig(GridMapConfig):
    """A child map reflected left-right, top-bottom, or into four quadrants."""

    type: Literal["mirror"] = "mirror"
    # Resolved by model_rebuild() in mettagrid.map_builder, where the union lives.
    child: MapBuilderConfig = Field(
        description="Builds the first copy; resized to half or a quarter of the area."
    )
    symmetry: Literal["horizontal", "vertical", "x4"] = Field(
        default="horizontal", description="horizontal: left|right; vertical: top/bottom; x4: four quadrants."
    )
    width: PositiveInt = Field(
        description="Interior width of the whole map (the border is added outside it)."
    )
    height: PositiveInt = Field(
        description="Interior height of the whole map (the border is added outside it)."
    )
    agents: AgentCounts = Field(
        default=0, description="Agents per copy: a count of group 'agent', or group name -> count."
    )
    objects: ObjectCounts = Field(default_factory=dict, description="Object name -> how many per copy.")
    groups: list[str] | None = Field(
        default=None,
        description="Agent group of each copy (2, or 4 for x4), first = the child's part; default: keep groups.",
    )
    connected: bool = Field(
        default=False, description="Carve the part connected and open to its mirror images, symmetrically."
    )
    border_width: NonNegativeInt = Field(
        default=0, description="Wall cells added around the whole map on every side."
    )

    @model_validator(mode="before")
    @classmethod
    def _child_takes_part_size(cls, data: Any) -> Any:
        """The child's size follows from the mirror's, so YAML may leave it out."""
        if isinstance(data, Mapping) and isinstance(data.get("child"), Mapping):
            width, height = data.get("width"), data.get("height")
            if isinstance(width, int) and isinstance(height, int) and min(width, height) > 0:
                part = part_shape(data.get("symmetry", "horizontal"), height, width)
                data = {**data, "child": with_area_size(data["child"], *part, "mirror child")}
        return data

    @model_validator(mode="after")
    def _one_group_per_copy(self) -> MirrorConfig:
        copies = COPIES[self.symmetry]
        if self.groups is not None and len(self.groups) != copies:
            raise ValueError(
                f"mirror {self.symmetry}: groups needs {copies} names (one per copy), got {len(self.groups)}"
            )
        return self


def part_shape(symmetry: str, height: int, width: int) -> tuple[int, int]:
    """The child's (height, width): half or a quarter of the map, rounding up."""
    halve_cols = symmetry in ("horizontal", "x4")
    halve_rows = symmetry in ("vertical", "x4")
    return (height + 1) // 2 if halve_rows else height, (width + 1) // 2 if halve_cols else width


def mirror_child(config: MirrorConfig) -> MapBuilderConfig:
    """The child's config fitted to the part of the map it builds."""
    height, width = part_shape(config.symmetry, config.height, config.width)
    return fit_to_area(config.child, height, width, "mirror child")


def connected_part(part: np.ndarray, symmetry: str, owner: str) -> np.ndarray:
    """The part carved connected, with an open cell on each side that meets a mirror image.

    The part meets its images along its last column (horizontal, x4) and last row
    (vertical, x4). An open cell there joins the part to its image, since the image of a
    connected part is connected and touches it at that cell's mirror.
    """
    part = part.copy()
    edges = []
    if symmetry != "vertical":
        edges.append((slice(None), -1))
    if symmetry != "horizontal":
        edges.append((-1, slice(None)))
    for edge in edges:
        line = part[edge]
        if not open_cells(line).any():
            line[len(line) // 2] = EMPTY  # a view: writes into the part
    return connect_components(part, owner)


def with_group(grid: np.ndarray, group: str | None) -> np.ndarray:
    if group is None:
        return grid
    renamed = grid.copy()
    renamed[np.char.startswith(grid, AGENT_PREFIX)] = f"{AGENT_PREFIX}{group}"
    return renamed


def side_by_side(left: np.ndarray, right: np.ndarray, shared: int) -> np.ndarray:
    """Join two copies, dropping the right copy's first ``shared`` columns (the middle line)."""
    return np.concatenate([left, right[:, shared:]], axis=1)


def reflect(part: np.ndarray, config: MirrorConfig) -> np.ndarray:
    groups = config.groups or [None] * COPIES[config.symmetry]
    odd_cols, odd_rows = config.width % 2, config.height % 2
    if config.symmetry == "horizontal":
        return side_by_side(with_group(part, groups[0]), with_group(part[:, ::-1], groups[1]), odd_cols)
    if config.symmetry == "vertical":
        top, bottom = with_group(part, groups[0]), with_group(part[::-1], groups[1])
        return side_by_side(top.T, bottom.T, odd_rows).T
    top = side_by_side(with_group(part, groups[0]), with_group(part[:, ::-1], groups[1]), odd_cols)
    bottom = side_by_side(
        with_group(part[::-1], groups[2]), with_group(part[::-1, ::-1], groups[3]), odd_cols
    )
    return np.concatenate([top, bottom[odd_rows:]], axis=0)


class MirrorBuilder:
    def __init__(self, config: MirrorConfig, child: MapBuilder):
        """``child`` builds the config ``mirror_child(config)``: the child fitted to its part."""
        self.config = config
        self.child = child
        self.owner = f"mirror {config.symmetry} {config.width}x{config.height}"
        if config.groups:
            check_cell_names([f"{AGENT_PREFIX}{group}" for group in config.groups], self.owner)

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        child_seed, placement_seed = child_seeds(seed, 2)
        height, width = part_shape(config.symmetry, config.height, config.width)
        part = self.child.build(child_seed)
        check_shape(part, height, width, self.owner)
        if config.connected:
            part = connected_part(part, config.symmetry, self.owner)
        # The shared middle line is the child's last column / row; keep things off it.
        off_axis = np.ones(part.shape, dtype=bool)
        if config.symmetry != "vertical" and config.width % 2:
            off_axis[:, -1] = False
        if config.symmetry != "horizontal" and config.height % 2:
            off_axis[-1, :] = False
        names = placed_cell_names(config.objects, config.agents)
        part = part.copy()
        place_in_cells(
            part, names, off_axis, np.random.default_rng(placement_seed), self.owner, "off the mirror axis"
        )
        return add_border(reflect(part, config), config.border_width)
