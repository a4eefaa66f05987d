"""The map builder protocol and the helpers every builder shares.

A builder is a pure function of its config and an integer seed: ``build(seed)`` returns a
``(height, width)`` array of cell names and draws all its randomness from
``np.random.default_rng(seed)`` (or from seeds derived from it with ``child_seeds``), so the
same config and seed always give the same map on every machine.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

# Cell names are short ASCII strings; a fixed-width unicode dtype keeps grids compact and
# comparable with ``==``. numpy silently truncates longer strings, so ``check_cell_names``
# guards every name a builder writes.
CELL_DTYPE = np.dtype("<U32")
MAX_CELL_NAME_LENGTH = 32

EMPTY = "empty"
WALL = "wall"
AGENT_PREFIX = "agent."


class MapBuilder(Protocol):
    """Anything with ``build(seed) -> grid of cell names``."""

    def build(self, seed: int) -> np.ndarray: ...


def check_cell_names(names: list[str], owner: str) -> None:
    """Raise a one-line ValueError if a name would not fit the grid's string dtype."""
    for name in names:
        if not name or len(name) > MAX_CELL_NAME_LENGTH:
            raise ValueError(
                f"{owner}: cell name {name!r} must have 1 to {MAX_CELL_NAME_LENGTH} characters"
            )


def empty_grid(height: int, width: int) -> np.ndarray:
    return np.full((height, width), EMPTY, dtype=CELL_DTYPE)


def add_border(grid: np.ndarray, border_width: int) -> np.ndarray:
    """Return ``grid`` surrounded by ``border_width`` cells of wall on every side."""
    if border_width == 0:
        return grid
    return np.pad(grid, border_width, mode="constant", constant_values=WALL)


def agent_cell_names(agents: int | dict[str, int]) -> list[str]:
    """``6`` -> six ``agent.agent``; ``{"prey": 2}`` -> two ``agent.prey``."""
    if isinstance(agents, int):
        agents = {"agent": agents}
    return [f"{AGENT_PREFIX}{group}" for group, count in agents.items() for _ in range(count)]


def object_cell_names(objects: dict[str, int]) -> list[str]:
    return [name for name, count in objects.items() for _ in range(count)]


def place_at_random_empty_cells(
    grid: np.ndarray, names: list[str], rng: np.random.Generator, owner: str
) -> None:
    """Write each of ``names`` (in order) into a distinct empty cell chosen at random, in place."""
    if not names:
        return
    check_cell_names(names, owner)
    free = np.flatnonzero(grid.ravel() == EMPTY)
    if len(names) > len(free):
        raise ValueError(
            f"{owner}: asked for {len(names)} cells for objects and agents "
            f"but only {len(free)} empty cells exist"
        )
    chosen = rng.choice(free, size=len(names), replace=False)
    grid.flat[chosen] = names


def child_seeds(seed: int, count: int) -> list[int]:
    """``count`` independent seeds derived from ``seed`` (for sub-builders such as instances)."""
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(seed).spawn(count)]
