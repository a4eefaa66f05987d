"""Placing agents and objects on empty cells inside a part of the map (rooms, one half)."""

from __future__ import annotations

import numpy as np

from mettagrid.map_builder.base import EMPTY, check_cell_names


def place_in_cells(
    grid: np.ndarray, names: list[str], allowed: np.ndarray, rng: np.random.Generator, owner: str, where: str
) -> None:
    """Write each of ``names`` into a distinct random cell that is empty and ``allowed``, in place.

    ``where`` says which cells were allowed ("in rooms", "off the mirror axis") for the error.
    """
    if not names:
        return
    check_cell_names(names, owner)
    free = np.flatnonzero((grid == EMPTY) & allowed)
    if len(names) > len(free):
        raise ValueError(
            f"{owner}: asked for {len(names)} cells for objects and agents "
            f"but only {len(free)} empty cells exist {where}"
        )
    grid.flat[rng.choice(free, size=len(names), replace=False)] = names
