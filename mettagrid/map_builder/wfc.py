"""Wave Function Collapse (overlapping model): maps whose every NxN window occurs in an example.

The output is a grid of *positions*, one per NxN window of the map (``height - N + 1`` by
``width - N + 1``). Each position holds the set of example windows ("patterns") it may
still become. Two patterns may sit at neighbouring positions when they agree on the cells
they overlap, so once every position holds one pattern the windows tile the map
consistently and every window of the map is a pattern of the example.

Each step picks the undecided position of least Shannon entropy (ties broken by a fixed
per-position noise), fixes one of its patterns at random by frequency, and propagates: a
neighbour keeps only the patterns compatible with some pattern still possible here, until
nothing changes. A position left with no pattern is a contradiction; the attempt is thrown
away and the next one starts from a fresh seed, up to ``max_attempts``.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, PositiveInt

from mettagrid.map_builder.base import (
    add_border,
    child_seeds,
    place_at_random_empty_cells,
    placed_cell_names,
)
from mettagrid.map_builder.bitsets import EntropyTable, UnionTable, bitset_from_mask, members
from mettagrid.map_builder.patterns import PatternMapConfig, learn_windows, parse_example

# (row offset, column offset) of the neighbour in each direction: east, south, west, north.
DIRECTIONS = ((0, 1), (1, 0), (0, -1), (-1, 0))


class WfcConfig(PatternMapConfig):
    """A map in the style of a small ASCII example, by Wave Function Collapse."""

    type: Literal["wfc"] = "wfc"
    max_attempts: PositiveInt = Field(default=10, description="Fresh starts allowed after contradictions.")


def overlap_agrees(patterns: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``(T, T)`` bool: pattern ``q`` placed at offset ``(dy, dx)`` from ``p`` agrees on the overlap."""
    n = patterns.shape[1]
    here = patterns[:, max(0, dy) : n + min(0, dy), max(0, dx) : n + min(0, dx)]
    there = patterns[:, max(0, -dy) : n + min(0, -dy), max(0, -dx) : n + min(0, -dx)]
    return (here[:, None] == there[None, :]).all(axis=(2, 3))


def neighbour_tables(rows: int, cols: int) -> list[list[int]]:
    """Per direction, the flat index of each position's neighbour, or -1 off the edge."""
    index = np.arange(rows * cols).reshape(rows, cols)
    tables = []
    for dy, dx in DIRECTIONS:
        shifted = np.full((rows, cols), -1)
        shifted[max(0, -dy) : rows - max(0, dy), max(0, -dx) : cols - max(0, dx)] = index[
            max(0, dy) : rows + min(0, dy), max(0, dx) : cols + min(0, dx)
        ]
        tables.append(shifted.ravel().tolist())
    return tables


class WfcSolver:
    """Collapses a ``rows x cols`` grid of positions over a fixed pattern set.

    Built once per builder: the compatibility tables carry over between attempts and seeds.
    The caches of unions and entropies (keyed by a set of possible patterns) are emptied at
    the start of each solve, so an env that builds a map every episode does not grow them.
    """

    def __init__(self, patterns: np.ndarray, counts: np.ndarray, rows: int, cols: int):
        self.rows, self.cols = rows, cols
        self.count = len(patterns)
        self.weights = counts.astype(float).tolist()
        # Per position, (direction, neighbour) for the neighbours inside the grid.
        tables = neighbour_tables(rows, cols)
        self.links = [
            tuple((d, tables[d][p]) for d in range(len(DIRECTIONS)) if tables[d][p] >= 0)
            for p in range(rows * cols)
        ]
        # compatible[d].union(S) = every pattern allowed in direction d of some pattern of S.
        self.compatible = [
            UnionTable([bitset_from_mask(row) for row in overlap_agrees(patterns, dy, dx)])
            for dy, dx in DIRECTIONS
        ]
        self.compatible_cache: list[dict[int, int]] = [{} for _ in DIRECTIONS]
        self.entropy_table = EntropyTable(self.weights)
        self.entropy_cache: dict[int, float] = {}

    def entropy(self, possible: int) -> float:
        cached = self.entropy_cache.get(possible)
        if cached is None:
            cached = self.entropy_table.entropy(possible)
            self.entropy_cache[possible] = cached
        return cached

    def solve(self, rng: np.random.Generator) -> np.ndarray | None:
        """Pattern index per position, or None after a contradiction."""
        for cache in [*self.compatible_cache, self.entropy_cache]:
            cache.clear()
        size = self.rows * self.cols
        full = (1 << self.count) - 1
        wave = [full] * size
        # A per-position jitter far below any real entropy gap breaks ties at random. Decided
        # positions get an infinite key, so argmin finds the next undecided one in C.
        noise = rng.random(size) * 1e-6
        keys = self.entropy(full) + noise
        noise = noise.tolist()
        draws = rng.random(size).tolist()
        for draw in draws:
            position = int(keys.argmin())
            if keys[position] == math.inf:
                break
            wave[position] = 1 << self.pick_pattern(wave[position], draw)
            keys[position] = math.inf
            if not self.propagate(position, wave, keys, noise):
                return None
        return np.array([possible.bit_length() - 1 for possible in wave]).reshape(self.rows, self.cols)

    def pick_pattern(self, possible: int, draw: float) -> int:
        candidates = members(possible)
        target = draw * sum(self.weights[p] for p in candidates)
        for pattern in candidates:
            target -= self.weights[pattern]
            if target < 0:
                return pattern
        return candidates[-1]

    def propagate(self, start: int, wave: list[int], keys: np.ndarray, noise: list[float]) -> bool:
        """Remove patterns without support until nothing changes; False on a contradiction.

        Stack entries carry the direction the change came from: the neighbour there caused
        it, so its own support cannot have changed and it is not checked again.
        """
        stack = [(start, -1)]
        links, compatible, caches = self.links, self.compatible, self.compatible_cache
        entropy = self.entropy
        inf = math.inf
        while stack:
            position, came_from = stack.pop()
            possible = wave[position]
            for direction, neighbour in links[position]:
                if direction == came_from:
                    continue
                cache = caches[direction]
                allowed = cache.get(possible)
                if allowed is None:
                    allowed = cache[possible] = compatible[direction].union(possible)
                before = wave[neighbour]
                after = before & allowed
                if after == before:
                    continue
                if not after:
                    return False
                wave[neighbour] = after
                stack.append((neighbour, direction ^ 2))  # the opposite direction
                keys[neighbour] = entropy(after) + noise[neighbour] if after & (after - 1) else inf
        return True


class WfcBuilder:
    def __init__(self, config: WfcConfig):
        self.config = config
        self.owner = f"wfc {config.width}x{config.height}"
        example = parse_example(config.pattern, self.owner)
        # Work on small int codes; the cell names come back at the end.
        self.cell_names, codes = np.unique(example, return_inverse=True)
        codes = codes.reshape(example.shape)
        self.patterns, counts = learn_windows(
            codes, config.pattern_size, config.symmetry, config.periodic_input, self.owner
        )
        n = config.pattern_size
        self.solver = WfcSolver(self.patterns, counts, config.height - n + 1, config.width - n + 1)

    def build(self, seed: int) -> np.ndarray:
        config = self.config
        attempt_seeds = child_seeds(seed, config.max_attempts + 1)
        for attempt_seed in attempt_seeds[: config.max_attempts]:
            chosen = self.solver.solve(np.random.default_rng(attempt_seed))
            if chosen is not None:
                break
        else:
            raise ValueError(
                f"{self.owner}: could not satisfy the pattern in max_attempts={config.max_attempts} "
                "attempts (every one ran into a contradiction)"
            )
        grid = self.cell_names[self.paint(chosen)]
        names = placed_cell_names(config.objects, config.agents)
        place_at_random_empty_cells(grid, names, np.random.default_rng(attempt_seeds[-1]), self.owner)
        return add_border(grid, config.border_width)

    def paint(self, chosen: np.ndarray) -> np.ndarray:
        """Cell codes of the map: each cell from the window at the nearest position covering it."""
        rows = np.arange(self.config.height)
        cols = np.arange(self.config.width)
        top = np.minimum(rows, chosen.shape[0] - 1)
        left = np.minimum(cols, chosen.shape[1] - 1)
        pattern = chosen[top[:, None], left[None, :]]
        return self.patterns[pattern, (rows - top)[:, None], (cols - left)[None, :]]
