"""BSP dungeons: rooms in a binary space partition, joined by corridors along the tree.

The interior is split in two again and again (always the largest part that can still hold
two rooms, across its longer side) until there are ``rooms`` parts or none can be split.
Each part gets one room with at least one wall cell on every side, so rooms never touch.
Then, for every split, one corridor joins a random room on one side to a random room on
the other; a tree of corridors over a tree of parts connects every room.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, PositiveInt, model_validator

from mettagrid.map_builder.areas import Area, add_border_with_areas, areas_mask
from mettagrid.map_builder.base import (
    CELL_DTYPE,
    EMPTY,
    WALL,
    AgentCounts,
    GridMapConfig,
    ObjectCounts,
    child_seeds,
    placed_cell_names,
)
from mettagrid.map_builder.placement import place_in_cells

ROOM_TAG = "room"


class BspConfig(GridMapConfig):
    """Rectangular rooms from a binary space partition, connected by corridors."""

    type: Literal["bsp"] = "bsp"
    rooms: PositiveInt = Field(
        default=8, description="Rooms wanted; fewer when the area cannot be split further."
    )
    min_room_size: PositiveInt = Field(default=3, description="Smallest room side in cells.")
    corridor_width: PositiveInt = Field(default=1, description="Width of the corridors in cells.")
    agents: AgentCounts = Field(
        default=0, description="Number of agents of group 'agent', or group name -> count; placed in rooms."
    )
    objects: ObjectCounts = Field(
        default_factory=dict, description="Object name -> how many to scatter in rooms."
    )

    @model_validator(mode="after")
    def _fits_one_room(self) -> BspConfig:
        needed = self.min_room_size + 2
        if self.width < needed or self.height < needed:
            raise ValueError(
                f"bsp {self.width}x{self.height} cannot hold a room of min_room_size={self.min_room_size} "
                f"(needs at least {needed}x{needed} with its walls)"
            )
        return self


@dataclass
class Part:
    """A node of the partition; leaves hold one room each."""

    top: int
    left: int
    height: int
    width: int
    children: tuple[Part, Part] | None = None
    room: Area | None = None

    def leaves(self) -> list[Part]:
        if self.children is None:
            return [self]
        return self.children[0].leaves() + self.children[1].leaves()


def partition(height: int, width: int, parts: int, min_part: int, rng: np.random.Generator) -> Part:
    """Split the largest splittable leaf until there are ``parts`` leaves or none can be split."""
    root = Part(0, 0, height, width)
    leaves = [root]
    while len(leaves) < parts:
        splittable = [p for p in leaves if max(p.height, p.width) >= 2 * min_part]
        if not splittable:
            break
        part = max(splittable, key=lambda p: p.height * p.width)  # first of the largest: deterministic
        across_rows = part.height >= 2 * min_part and (part.height > part.width or part.width < 2 * min_part)
        side = part.height if across_rows else part.width
        cut = int(rng.integers(min_part, side - min_part + 1))
        if across_rows:
            first = Part(part.top, part.left, cut, part.width)
            second = Part(part.top + cut, part.left, part.height - cut, part.width)
        else:
            first = Part(part.top, part.left, part.height, cut)
            second = Part(part.top, part.left + cut, part.height, part.width - cut)
        part.children = (first, second)
        leaves.remove(part)
        leaves += [first, second]
    return root


def place_room(part: Part, min_size: int, rng: np.random.Generator) -> Area:
    """A random room inside ``part`` keeping one wall cell free on every side."""
    height = int(rng.integers(min_size, part.height - 2 + 1))
    width = int(rng.integers(min_size, part.width - 2 + 1))
    top = part.top + 1 + int(rng.integers(0, part.height - 2 - height + 1))
    left = part.left + 1 + int(rng.integers(0, part.width - 2 - width + 1))
    return Area(top, left, height, width, (ROOM_TAG,))


def carve_corridor(
    is_open: np.ndarray, start: tuple[int, int], end: tuple[int, int], width: int, rng
) -> None:
    """An L-shaped corridor ``width`` cells wide from ``start`` to ``end``, bend chosen at random."""
    (r0, c0), (r1, c1) = start, end
    bend = (r0, c1) if rng.random() < 0.5 else (r1, c0)
    for (ra, ca), (rb, cb) in ((start, bend), (bend, end)):
        top, left = min(ra, rb), min(ca, cb)
        is_open[top : max(ra, rb) + width, left : max(ca, cb) + width] = True


def room_cell(room: Area, rng: np.random.Generator) -> tuple[int, int]:
    return room.top + int(rng.integers(room.height)), room.left + int(rng.integers(room.width))


class BspBuilder:
    def __init__(self, config: BspConfig):
        self.config = config
        self.owner = f"bsp {config.width}x{config.height}"

    def build(self, seed: int) -> np.ndarray:
        return self.build_with_areas(seed)[0]

    def build_with_areas(self, seed: int) -> tuple[np.ndarray, list[Area]]:
        config = self.config
        layout_rng, placement_rng = (np.random.default_rng(s) for s in child_seeds(seed, 2))
        root = partition(config.height, config.width, config.rooms, config.min_room_size + 2, layout_rng)
        is_open = np.zeros((config.height, config.width), dtype=bool)
        for leaf in root.leaves():
            leaf.room = place_room(leaf, config.min_room_size, layout_rng)
            is_open[leaf.room.slices] = True
        self.join_children(root, is_open, layout_rng)
        grid = np.where(is_open, EMPTY, WALL).astype(CELL_DTYPE)

        rooms = [leaf.room for leaf in root.leaves()]
        names = placed_cell_names(config.objects, config.agents)
        place_in_cells(grid, names, areas_mask(grid.shape, rooms), placement_rng, self.owner, "in rooms")
        return add_border_with_areas(grid, rooms, config.border_width)

    def join_children(self, part: Part, is_open: np.ndarray, rng: np.random.Generator) -> None:
        """One corridor per split, from a room on one side to a room on the other, all the way down."""
        if part.children is None:
            return
        first, second = part.children
        self.join_children(first, is_open, rng)
        self.join_children(second, is_open, rng)
        a = first.leaves()[int(rng.integers(len(first.leaves())))].room
        b = second.leaves()[int(rng.integers(len(second.leaves())))].room
        carve_corridor(is_open, room_cell(a, rng), room_cell(b, rng), self.config.corridor_width, rng)
