"""Connectivity of a map: which cells an agent can reach, and carving walls to join regions.

A cell is *open* unless it is a wall: empty cells, agents and objects are all open, so "the
map is connected" means every agent can get next to every object and every other agent
(moving between 4-neighbours). Objects sitting in a corridor are treated as passable for
this purpose, as the maze builder's own checks do.
"""

from __future__ import annotations

import numpy as np

from mettagrid.map_builder.base import EMPTY, WALL


def open_cells(grid: np.ndarray) -> np.ndarray:
    return grid != WALL


def label_components(is_open: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of the open cells: (labels with -1 for closed cells, count)."""
    height, width = is_open.shape
    labels = np.full(height * width, -1, dtype=np.int64)
    flat_open = is_open.ravel().tolist()
    label_list = labels.tolist()
    count = 0
    for start in np.flatnonzero(is_open).tolist():
        if label_list[start] >= 0:
            continue
        label_list[start] = count
        stack = [start]
        while stack:  # iterative flood fill; recursion would overflow on big rooms
            cell = stack.pop()
            row, col = divmod(cell, width)
            for neighbour, inside in (
                (cell - width, row > 0),
                (cell + width, row < height - 1),
                (cell - 1, col > 0),
                (cell + 1, col < width - 1),
            ):
                if inside and flat_open[neighbour] and label_list[neighbour] < 0:
                    label_list[neighbour] = count
                    stack.append(neighbour)
        count += 1
    return np.asarray(label_list, dtype=np.int64).reshape(height, width), count


def is_connected(grid: np.ndarray) -> bool:
    """True when every non-wall cell can reach every other through non-wall 4-neighbours."""
    return label_components(open_cells(grid))[1] <= 1


def wall_frame_width(grid: np.ndarray) -> int:
    """How many outer rings of ``grid`` are solid wall (the border), leaving some interior."""
    width = 0
    while 2 * (width + 1) < min(grid.shape):
        inner = grid[width : grid.shape[0] - width, width : grid.shape[1] - width]
        ring = np.concatenate([inner[0], inner[-1], inner[:, 0], inner[:, -1]])
        if not (ring == WALL).all():
            break
        width += 1
    return width


def grow(mask: np.ndarray) -> np.ndarray:
    """The cells 4-adjacent to ``mask`` (not including ``mask`` itself unless adjacent)."""
    grown = np.zeros_like(mask)
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def adjacent_cell_in(mask: np.ndarray, row: int, col: int) -> tuple[int, int]:
    """A 4-neighbour of (row, col) inside ``mask``, trying north, south, west, east in order."""
    height, width = mask.shape
    for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
        if 0 <= r < height and 0 <= c < width and mask[r, c]:
            return r, c
    raise AssertionError("a BFS layer cell always has a neighbour in the layer before it")


def connect_components(grid: np.ndarray, owner: str = "make_connected") -> np.ndarray:
    """A copy of ``grid`` with the fewest-wall paths carved until all open cells are connected.

    Starting from the largest region, a breadth-first search through walls finds the
    nearest other region; the walls on that path become empty and the region joins. Solid
    outer wall rings (the border) are never carved. Deterministic: no randomness involved.
    """
    grid = grid.copy()
    is_open = open_cells(grid)
    labels, count = label_components(is_open)
    if count <= 1:
        return grid
    sizes = np.bincount(labels[labels >= 0], minlength=count)
    joined = labels == int(sizes.argmax())
    frame = wall_frame_width(grid)
    carvable = ~is_open
    if frame:
        carvable[:frame] = carvable[-frame:] = False
        carvable[:, :frame] = carvable[:, -frame:] = False
    while not joined[is_open].all():
        layers = [joined]
        reached = joined.copy()
        while True:
            grown = grow(layers[-1]) & ~reached
            hits = grown & is_open & ~joined
            if hits.any():
                break
            frontier = grown & carvable
            if not frontier.any():
                raise ValueError(f"{owner}: cannot connect the map (a region is walled off by the border)")
            reached |= frontier
            layers.append(frontier)
        row, col = (int(v) for v in np.argwhere(hits)[0])
        region = labels == labels[row, col]
        # Walk back one layer at a time; every cell on the way (layers 1..k) is a wall to carve.
        for layer in reversed(layers[1:]):
            row, col = adjacent_cell_in(layer, row, col)
            grid[row, col] = EMPTY
            is_open[row, col] = True
            joined[row, col] = True
        joined |= region
    return grid
