"""ConvChain: a two-kind texture (usually wall and empty) sampled by MCMC from an example.

The example's NxN windows are counted (with the symmetry option's copies); a window never
seen gets a small count, ``UNSEEN_COUNT``, so it is unlikely but possible. The map starts
as coin flips and each step proposes flipping one cell, accepted with the Metropolis rule
on ``(product of the counts of the windows holding the cell after / before) ^ (1 / T)``:
low ``temperature`` copies the example's local structure closely, high is noisier.

Cells whose windows do not overlap can be flipped independently, so a sweep updates the
``N x N`` residue classes of cells (``row % N``, ``col % N``) one at a time, each class in
one vectorised step. Only windows wholly inside the map count (no wrap-around), which also
keeps every class's cells at least N apart.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, PositiveFloat, PositiveInt

from mettagrid.map_builder.base import (
    add_border,
    child_seeds,
    place_at_random_empty_cells,
    placed_cell_names,
)
from mettagrid.map_builder.patterns import PatternMapConfig, learn_windows, parse_example

UNSEEN_COUNT = 0.1


class ConvChainConfig(PatternMapConfig):
    """A two-kind map (e.g. wall and empty) whose local texture follows an ASCII example."""

    type: Literal["convchain"] = "convchain"
    pattern: str = Field(description="The example: ASCII rows using exactly two map characters.")
    # At most 4: every window of N x N bits has an entry in a table of 2^(N*N) weights.
    pattern_size: int = Field(default=3, ge=2, le=4, description="N: windows of N x N cells are learned.")
    iterations: PositiveInt = Field(default=8, description="Sweeps: each proposes a flip of every cell once.")
    temperature: PositiveFloat = Field(
        default=1.0, description="Metropolis temperature; lower follows the example closer."
    )


def window_log_weights(patterns: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """log(count) of every binary window, indexed by its bits (cell (i, j) is bit i * N + j)."""
    size = patterns.shape[1]
    bit_values = 1 << np.arange(size * size)
    index = patterns.reshape(len(patterns), -1) @ bit_values
    weights = np.full(1 << (size * size), UNSEEN_COUNT)
    weights[index] = counts
    return np.log(weights)


def window_indices(field: np.ndarray, size: int) -> np.ndarray:
    """The bit index of every window wholly inside ``field`` (shape shrunk by ``size - 1``)."""
    rows, cols = field.shape[0] - size + 1, field.shape[1] - size + 1
    index = np.zeros((rows, cols), dtype=np.int64)
    for i in range(size):
        for j in range(size):
            index |= field[i : i + rows, j : j + cols].astype(np.int64) << (i * size + j)
    return index


def flip_log_ratio(field: np.ndarray, log_weights: np.ndarray, size: int) -> np.ndarray:
    """Per cell: log of (product of its windows' counts if flipped / as it is)."""
    index = window_indices(field, size)
    here = log_weights[index]
    ratio = np.zeros(field.shape)
    rows, cols = index.shape
    for i in range(size):
        for j in range(size):
            # Window (y, x) holds cell (y + i, x + j) at bit i * N + j.
            flipped = log_weights[index ^ (1 << (i * size + j))]
            ratio[i : i + rows, j : j + cols] += flipped - here
    return ratio


def sample(
    log_weights: np.ndarray,
    height: int,
    width: int,
    size: int,
    iterations: int,
    temperature: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Run the chain; returns a ``(height, width)`` array of 0/1."""
    field = rng.integers(0, 2, size=(height, width), dtype=np.int8)
    classes = [(a, b) for a in range(size) for b in range(size)]
    for _ in range(iterations):
        for a, b in classes:
            ratio = flip_log_ratio(field, log_weights, size)
            part = (slice(a, None, size), slice(b, None, size))
            threshold = np.log(rng.random(field[part].shape)) * temperature
            field[part] ^= (ratio[part] >= threshold).astype(np.int8)
    return field


class ConvChainBuilder:
    def __init__(self, config: ConvChainConfig):
        self.config = config
        self.owner = f"convchain {config.width}x{config.height}"
        example = parse_example(config.pattern, self.owner)
        self.cell_names, codes = np.unique(example, return_inverse=True)
        if len(self.cell_names) != 2:
            raise ValueError(
                f"{self.owner}: pattern must use exactly 2 kinds of cell, "
                f"got {len(self.cell_names)} ({', '.join(self.cell_names.tolist())})"
            )
        patterns, counts = learn_windows(
            codes.reshape(example.shape),
            config.pattern_size,
            config.symmetry,
            config.periodic_input,
            self.owner,
        )
        self.log_weights = window_log_weights(patterns, counts)

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        chain_seed, placement_seed = child_seeds(seed, 2)
        field = sample(
            self.log_weights,
            config.height,
            config.width,
            config.pattern_size,
            config.iterations,
            config.temperature,
            np.random.default_rng(chain_seed),
        )
        grid = self.cell_names[field]
        names = placed_cell_names(config.objects, config.agents)
        place_at_random_empty_cells(grid, names, np.random.default_rng(placement_seed), self.owner)
        return add_border(grid, config.border_width)
