"""Perfect mazes: every corridor cell reachable from every other by exactly one path.

The maze is carved on a lattice of ``nx x ny`` rooms. Each room is a ``corridor_width``
square; neighbouring rooms are ``wall_width`` apart, and carving a passage opens the wall
strip between them. Both algorithms return a spanning tree of the lattice, which is what
makes the maze perfect; they differ in texture (Kruskal: many short dead ends; DFS: long
winding corridors). Space left over when the size is not a whole number of rooms stays wall
on the bottom and right.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, PositiveInt, model_validator

from mettagrid.map_builder.base import (
    CELL_DTYPE,
    EMPTY,
    WALL,
    AgentCounts,
    GridMapConfig,
    add_border,
    place_at_random_empty_cells,
    placed_cell_names,
)


class MazeConfig(GridMapConfig):
    """A perfect maze with agents and objects on random corridor cells."""

    type: Literal["maze"] = "maze"
    algorithm: Literal["kruskal", "dfs"] = Field(
        description="Randomized Kruskal (union-find) or iterative DFS."
    )
    corridor_width: PositiveInt = Field(default=1, description="Width of every corridor in cells.")
    wall_width: PositiveInt = Field(
        default=1, description="Thickness of the walls between corridors in cells."
    )
    agents: AgentCounts = Field(
        default=1, description="Number of agents of group 'agent', or group name -> count."
    )

    @model_validator(mode="after")
    def _fits_one_room(self) -> MazeConfig:
        if self.width < self.corridor_width or self.height < self.corridor_width:
            raise ValueError(
                f"maze {self.width}x{self.height} is smaller than one corridor of width {self.corridor_width}"
            )
        return self


def kruskal_passages(nx: int, ny: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Spanning tree by joining lattice edges in random order when they link two components.

    Returns (room index, True if the passage goes east else south) per carved passage.
    """
    rooms = np.arange(nx * ny).reshape(ny, nx)
    east = rooms[:, :-1].ravel()
    south = rooms[:-1, :].ravel()
    # Edge k < len(east) joins east[k] to east[k] + 1; otherwise south[k'] to south[k'] + nx.
    starts = np.concatenate([east, south])
    ends = np.concatenate([east + 1, south + nx])
    order = rng.permutation(len(starts))
    starts_l, ends_l = starts[order].tolist(), ends[order].tolist()

    parent = list(range(nx * ny))
    carved: list[int] = []
    needed = nx * ny - 1
    for k, (a, b) in enumerate(zip(starts_l, ends_l)):
        while parent[a] != a:  # find with path halving
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a != b:
            parent[a] = b
            carved.append(k)
            if len(carved) == needed:
                break
    carved_edges = order[np.asarray(carved, dtype=np.int64)]
    return starts[carved_edges], carved_edges < len(east)


def dfs_passages(nx: int, ny: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Spanning tree by a randomized depth-first walk with an explicit stack (no recursion)."""
    count = nx * ny
    visited = bytearray(count)
    # Exactly one draw per carved passage, so draw them all up front.
    draws = rng.random(max(count - 1, 1)).tolist()
    start = int(rng.integers(count))
    visited[start] = 1
    stack = [start]
    carved_from: list[int] = []
    carved_to: list[int] = []
    options: list[int] = []
    while stack:
        room = stack[-1]
        row, col = divmod(room, nx)
        options.clear()
        if row > 0 and not visited[room - nx]:
            options.append(room - nx)
        if row < ny - 1 and not visited[room + nx]:
            options.append(room + nx)
        if col > 0 and not visited[room - 1]:
            options.append(room - 1)
        if col < nx - 1 and not visited[room + 1]:
            options.append(room + 1)
        if not options:
            stack.pop()
            continue
        nxt = options[int(draws[len(carved_to)] * len(options))]
        visited[nxt] = 1
        carved_from.append(room)
        carved_to.append(nxt)
        stack.append(nxt)
    a = np.asarray(carved_from, dtype=np.int64)
    b = np.asarray(carved_to, dtype=np.int64)
    return np.minimum(a, b), np.abs(a - b) == 1


def render_lattice(
    nx: int, ny: int, starts: np.ndarray, goes_east: np.ndarray, corridor: int, wall: int
) -> np.ndarray:
    """Boolean open-cell mask of the carved lattice, before padding to the requested size."""
    # Lattice picture: even/even entries are rooms, even/odd east passages, odd/even south
    # passages, odd/odd always wall. Repeating rows and columns by (corridor, wall, ...)
    # scales it to cells in one vectorised step.
    lattice = np.zeros((2 * ny - 1, 2 * nx - 1), dtype=bool)
    lattice[0::2, 0::2] = True
    rows, cols = np.divmod(starts, nx)
    lattice[2 * rows[goes_east], 2 * cols[goes_east] + 1] = True
    lattice[2 * rows[~goes_east] + 1, 2 * cols[~goes_east]] = True
    row_repeats = np.where(np.arange(2 * ny - 1) % 2 == 0, corridor, wall)
    col_repeats = np.where(np.arange(2 * nx - 1) % 2 == 0, corridor, wall)
    return np.repeat(np.repeat(lattice, row_repeats, axis=0), col_repeats, axis=1)


PASSAGE_ALGORITHMS = {"kruskal": kruskal_passages, "dfs": dfs_passages}


class MazeBuilder:
    def __init__(self, config: MazeConfig):
        self.config = config

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        rng = np.random.default_rng(seed)
        pitch = config.corridor_width + config.wall_width
        nx = (config.width + config.wall_width) // pitch
        ny = (config.height + config.wall_width) // pitch
        starts, goes_east = PASSAGE_ALGORITHMS[config.algorithm](nx, ny, rng)
        carved = render_lattice(nx, ny, starts, goes_east, config.corridor_width, config.wall_width)
        is_open = np.zeros((config.height, config.width), dtype=bool)
        is_open[: carved.shape[0], : carved.shape[1]] = carved
        grid = np.where(is_open, EMPTY, WALL).astype(CELL_DTYPE)
        names = placed_cell_names(config.objects, config.agents)
        place_at_random_empty_cells(grid, names, rng, f"maze {config.width}x{config.height}")
        return add_border(grid, config.border_width)
