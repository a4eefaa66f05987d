"""Tagged rectangles of a built map, for scenes that place sub-maps into parts of a parent.

Builders that know their structure (BSP rooms, room-grid cells) offer
``build_with_areas(seed) -> (grid, areas)`` besides ``build(seed)``; the scene builder asks
for areas by tag and builds its children into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from mettagrid.map_builder.base import add_border


@dataclass(frozen=True)
class Area:
    """Rows ``top .. top + height - 1`` and columns ``left .. left + width - 1`` of a map."""

    top: int
    left: int
    height: int
    width: int
    tags: tuple[str, ...] = ()

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    def shifted(self, rows: int, cols: int) -> Area:
        return Area(self.top + rows, self.left + cols, self.height, self.width, self.tags)


@runtime_checkable
class AreaMapBuilder(Protocol):
    """A builder that also reports the tagged areas of the map it builds."""

    def build(self, seed: int) -> np.ndarray: ...

    def build_with_areas(self, seed: int) -> tuple[np.ndarray, list[Area]]: ...


def build_with_areas(builder, seed: int) -> tuple[np.ndarray, list[Area]]:
    """The map and its tagged areas; builders without structure have none."""
    if isinstance(builder, AreaMapBuilder):
        return builder.build_with_areas(seed)
    return builder.build(seed), []


def areas_mask(shape: tuple[int, ...], areas: list[Area]) -> np.ndarray:
    """Bool array of ``shape``: true inside any of ``areas``."""
    mask = np.zeros(shape, dtype=bool)
    for area in areas:
        mask[area.slices] = True
    return mask


def add_border_with_areas(
    grid: np.ndarray, areas: list[Area], border_width: int
) -> tuple[np.ndarray, list[Area]]:
    """``add_border`` for a map with areas: the areas move with the interior."""
    return add_border(grid, border_width), [area.shifted(border_width, border_width) for area in areas]
