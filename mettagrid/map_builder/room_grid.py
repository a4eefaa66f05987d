"""A grid of rooms separated by wall strips with doors, each room optionally built by a child.

``rows x columns`` rooms share the interior; when the size does not divide evenly the first
rooms of each row (column) are one cell larger. Doors are gaps of ``door_width`` cells at a
random place in the wall between two neighbouring rooms: between every pair (``all``),
along a random spanning tree of the rooms (``tree``: exactly one way between two rooms), or
nowhere (``none``). A child builder fills each room (resized to it, its own seed per room);
a child that puts walls in front of a door can cut rooms off, so wrap the grid in
``make_connected`` when that matters. Room interiors are the map's areas tagged ``cell``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, PositiveInt, model_validator

from mettagrid.map_builder.areas import Area, add_border_with_areas, areas_mask
from mettagrid.map_builder.base import (
    CELL_DTYPE,
    EMPTY,
    WALL,
    AgentCounts,
    GridMapConfig,
    MapBuilder,
    ObjectCounts,
    child_seeds,
    object_cell_names,
    placed_cell_names,
)
from mettagrid.map_builder.maze import kruskal_passages
from mettagrid.map_builder.placement import place_in_cells
from mettagrid.map_builder.sizing import check_shape, fit_to_area, with_area_size

if TYPE_CHECKING:
    from mettagrid.map_builder import MapBuilderConfig

CELL_TAG = "cell"


class RoomGridConfig(GridMapConfig):
    """``rows x columns`` rooms with walls and doors between them."""

    type: Literal["room_grid"] = "room_grid"
    rows: PositiveInt = Field(default=2, description="Rooms per column.")
    columns: PositiveInt = Field(default=2, description="Rooms per row.")
    wall_width: PositiveInt = Field(default=1, description="Thickness of the walls between rooms.")
    doors: Literal["all", "tree", "none"] = Field(
        default="all", description="Which neighbouring rooms get a door: all, a spanning tree, none."
    )
    door_width: PositiveInt = Field(default=1, description="Door size in cells (at most the room's side).")
    # Resolved by model_rebuild() in mettagrid.map_builder, where the union lives.
    room: MapBuilderConfig | None = Field(
        default=None, description="Builds each room's inside; default empty."
    )
    room_objects: ObjectCounts = Field(
        default_factory=dict, description="Object name -> how many in every room."
    )
    agents: AgentCounts = Field(default=0, description="Agents in all, at random empty cells of any room.")
    objects: ObjectCounts = Field(
        default_factory=dict, description="Object name -> how many in all, at random empty cells of any room."
    )

    @model_validator(mode="before")
    @classmethod
    def _room_takes_room_size(cls, data: Any) -> Any:
        """A room's size follows from the grid's, so YAML may leave it out (checked on the first room)."""
        if not (isinstance(data, Mapping) and isinstance(data.get("room"), Mapping)):
            return data
        sizes = {
            key: data.get(key, cls.model_fields[key].default)
            for key in ("width", "height", "rows", "columns", "wall_width")
        }
        if not all(isinstance(value, int) and value > 0 for value in sizes.values()):
            return data  # field validation reports the bad value
        (_, height), (_, width) = (
            room_spans(sizes[size], sizes[count], sizes["wall_width"])[0]
            for size, count in (("height", "rows"), ("width", "columns"))
        )
        if min(height, width) < 1:
            return data  # _rooms_fit reports it
        return {**data, "room": with_area_size(data["room"], height, width, "room_grid room")}

    @model_validator(mode="after")
    def _rooms_fit(self) -> RoomGridConfig:
        for size, count, name in ((self.width, self.columns, "columns"), (self.height, self.rows, "rows")):
            if size < count + (count - 1) * self.wall_width:
                raise ValueError(
                    f"room_grid {self.width}x{self.height}: {name}={count} rooms with wall_width="
                    f"{self.wall_width} do not fit"
                )
        return self


def room_spans(size: int, count: int, wall: int) -> list[tuple[int, int]]:
    """(start, length) of each room along one axis, the first ones taking the leftover cells."""
    inner = size - (count - 1) * wall
    spans, start = [], 0
    for index in range(count):
        length = inner // count + (1 if index < inner % count else 0)
        spans.append((start, length))
        start += length + wall
    return spans


def door_pairs(rows: int, columns: int, doors: str, rng: np.random.Generator) -> list[tuple[int, bool]]:
    """(room index, True for the door to its east neighbour else its south one) per door."""
    if doors == "none":
        return []
    if doors == "tree":
        starts, goes_east = kruskal_passages(columns, rows, rng)
        return list(zip(starts.tolist(), goes_east.tolist()))
    east = [(r * columns + c, True) for r in range(rows) for c in range(columns - 1)]
    south = [(r * columns + c, False) for r in range(rows - 1) for c in range(columns)]
    return east + south


class RoomGridBuilder:
    def __init__(self, config: RoomGridConfig, make_builder: Callable[[MapBuilderConfig], MapBuilder]):
        self.config = config
        self.owner = f"room_grid {config.width}x{config.height}"
        self.row_spans = room_spans(config.height, config.rows, config.wall_width)
        self.col_spans = room_spans(config.width, config.columns, config.wall_width)
        # Rooms come in at most four sizes; one fitted child builder per size.
        self.room_builders: dict[tuple[int, int], MapBuilder] = {}
        if config.room is not None:
            for _, height in self.row_spans:
                for _, width in self.col_spans:
                    if (height, width) not in self.room_builders:
                        fitted = fit_to_area(config.room, height, width, f"{self.owner} room")
                        self.room_builders[height, width] = make_builder(fitted)

    def build(self, seed: int) -> np.ndarray:
        return self.build_with_areas(seed)[0]

    def build_with_areas(self, seed: int) -> tuple[np.ndarray, list[Area]]:
        config = self.config
        layout_seed, placement_seed, *room_seeds = child_seeds(seed, 2 + config.rows * config.columns)
        layout_rng = np.random.default_rng(layout_seed)
        grid = np.full((config.height, config.width), WALL, dtype=CELL_DTYPE)
        rooms = [
            Area(top, left, height, width, (CELL_TAG,))
            for top, height in self.row_spans
            for left, width in self.col_spans
        ]
        for room, room_seed in zip(rooms, room_seeds):
            builder = self.room_builders.get((room.height, room.width))
            if builder is None:
                grid[room.slices] = EMPTY
            else:
                inside = builder.build(room_seed)
                check_shape(inside, room.height, room.width, self.owner)
                grid[room.slices] = inside
        for index, goes_east in door_pairs(config.rows, config.columns, config.doors, layout_rng):
            self.open_door(grid, rooms[index], goes_east, layout_rng)

        placement_rng = np.random.default_rng(placement_seed)
        room_things = object_cell_names(config.room_objects)
        for room in rooms:
            place_in_cells(
                grid, room_things, areas_mask(grid.shape, [room]), placement_rng, self.owner, "in a room"
            )
        names = placed_cell_names(config.objects, config.agents)
        place_in_cells(grid, names, areas_mask(grid.shape, rooms), placement_rng, self.owner, "in rooms")
        return add_border_with_areas(grid, rooms, config.border_width)

    def open_door(self, grid: np.ndarray, room: Area, goes_east: bool, rng: np.random.Generator) -> None:
        """Empty a ``door_width`` gap through the wall on the room's east or south side."""
        wall = self.config.wall_width
        side = room.height if goes_east else room.width
        size = min(self.config.door_width, side)
        offset = int(rng.integers(0, side - size + 1))
        if goes_east:
            top, left = room.top + offset, room.left + room.width
            grid[top : top + size, left : left + wall] = EMPTY
        else:
            top, left = room.top + room.height, room.left + offset
            grid[top : top + wall, left : left + size] = EMPTY
