"""Example patterns for the texture generators (WFC and ConvChain): parsing and NxN windows.

An example is a few ASCII rows (``#`` wall, ``.`` empty, or any other map character). Both
generators learn from the ``N x N`` windows of the example; a symmetry option adds the
mirrored (``horizontal``) or all rotated and mirrored (``all``) copies of the example, so a
small drawing yields a richer set of windows.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from mettagrid.map_builder.ascii import parse_ascii
from mettagrid.map_builder.base import GridMapConfig

Symmetry = Literal["none", "horizontal", "all"]


class PatternMapConfig(GridMapConfig):
    """The fields both texture generators take: the example and how its windows are learned."""

    pattern: str = Field(description="The example: ASCII rows, one per line (see the map character table).")
    pattern_size: int = Field(default=3, ge=2, le=5, description="N: windows of N x N cells are learned.")
    symmetry: Symmetry = Field(
        default="all", description="Copies of the example also learned: none, horizontal mirror, or all 8."
    )
    periodic_input: bool = Field(default=True, description="Windows wrap around the example's edges.")

    @model_validator(mode="after")
    def _fits_one_window(self) -> PatternMapConfig:
        if self.width < self.pattern_size or self.height < self.pattern_size:
            raise ValueError(
                f"{self.type} {self.width}x{self.height} is smaller than one pattern of size {self.pattern_size}"
            )
        return self


def parse_example(text: str, owner: str) -> np.ndarray:
    """The example as a grid of cell names; errors name the generator that was given it."""
    return parse_ascii(text, source=f"{owner} pattern")


def symmetric_copies(grid: np.ndarray, symmetry: Symmetry) -> list[np.ndarray]:
    """The example itself plus the copies its symmetry option asks for."""
    if symmetry == "none":
        return [grid]
    if symmetry == "horizontal":
        return [grid, grid[:, ::-1]]
    rotations = [np.rot90(grid, k) for k in range(4)]
    return rotations + [rotation[:, ::-1] for rotation in rotations]


def windows(grid: np.ndarray, size: int, periodic: bool) -> np.ndarray:
    """Every ``size x size`` window of ``grid`` as rows of a ``(count, size * size)`` array.

    With ``periodic`` the example wraps around, so every cell starts a window.
    """
    if periodic:
        grid = np.pad(grid, ((0, size - 1), (0, size - 1)), mode="wrap")
    if grid.shape[0] < size or grid.shape[1] < size:
        return np.empty((0, size * size), dtype=grid.dtype)
    view = np.lib.stride_tricks.sliding_window_view(grid, (size, size))
    return view.reshape(-1, size * size)


def learn_windows(
    example: np.ndarray, size: int, symmetry: Symmetry, periodic: bool, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct windows of the symmetry-expanded example and how often each occurs.

    Returns ``(patterns, counts)``: ``patterns`` is ``(count, size, size)`` of the example's
    dtype, sorted, so the same example always gives the same pattern order.
    """
    if not periodic and (example.shape[0] < size or example.shape[1] < size):
        raise ValueError(
            f"{owner}: pattern_size {size} is larger than the {example.shape[1]}x{example.shape[0]} "
            "pattern (use a smaller pattern_size or periodic: true)"
        )
    rows = np.concatenate([windows(copy, size, periodic) for copy in symmetric_copies(example, symmetry)])
    patterns, counts = np.unique(rows, axis=0, return_counts=True)
    return patterns.reshape(-1, size, size), counts
