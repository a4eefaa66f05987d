"""The map builder protocol and the helpers every builder shares.

A builder is a pure function of its config and an integer seed: ``build(seed)`` returns a
``(height, width)`` array of cell names and draws all its randomness from
``np.random.default_rng(seed)`` (or from seeds derived from it with ``child_seeds``), so the
same config and seed always give the same map on every machine.

``GridMapConfig`` holds the fields every generator with a size shares (``width``,
``height``, ``agents``, ``objects``, ``border_width``); a generator's config inherits it and
overrides a field only where its default or meaning differs.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

# Cell names are short ASCII strings; a fixed-width unicode dtype keeps grids compact and
# comparable with ``==``. numpy silently truncates longer strings, so ``check_cell_names``
# guards every name a builder writes.
CELL_DTYPE = np.dtype("<U32")
MAX_CELL_NAME_LENGTH = 32

EMPTY = "empty"
WALL = "wall"
AGENT_PREFIX = "agent."


# Field types of the counts a builder places: a number of group-``agent`` agents or group ->
# count, and cell name -> count.
AgentCounts = NonNegativeInt | dict[str, NonNegativeInt]
ObjectCounts = dict[str, NonNegativeInt]


class GridMapConfig(BaseModel):
    """The fields of a generator that builds a ``width x height`` interior, places agents and
    objects in it and adds a wall border outside it (sizing.py fits such configs to an area)."""

    model_config = ConfigDict(extra="forbid")

    # Every config narrows this to its own literal (the union's discriminator); declared here
    # so that it stays the first field, and so first in dumps such as a stored map's metadata.
    type: str
    width: PositiveInt = Field(description="Interior width in cells (the border is added outside it).")
    height: PositiveInt = Field(description="Interior height in cells (the border is added outside it).")
    agents: AgentCounts = Field(
        default=0, description="Number of agents of group 'agent', or group name -> count."
    )
    objects: ObjectCounts = Field(
        default_factory=dict, description="Object name -> how many to place on empty cells."
    )
    border_width: NonNegativeInt = Field(
        default=0, description="Wall cells added around the interior on every side."
    )


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


def placed_cell_names(objects: dict[str, int], agents: int | dict[str, int]) -> list[str]:
    """What a builder places from its ``objects`` and ``agents`` fields: objects first, then agents."""
    return object_cell_names(objects) + agent_cell_names(agents)


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
