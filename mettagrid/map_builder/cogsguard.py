"""CoGsGuard maps: two team bases at opposite ends, a contested field between, left-right mirror.

The left part (half the width, the middle column shared when the width is odd) is built and
reflected onto the right, so both teams get the same layout at mirrored places:

* a **base** around the team hub, `base_col` cells in from the left edge on the middle row:
  the hub (`hub.<team>`), the four gear stations two cells above and below it
  (`miner_station`, `aligner_station` above; `scout_station`, `scrambler_station` below) and
  the team's own charger (`charger.<team>`) three cells to its right. Agents start on random
  free cells of the base box (rows `±base_radius` around the hub, columns up to
  `base_col + base_radius`); no walls are placed there.
* the **field** beyond the base: neutral `junction`s, neutral `charger`s, `ore_extractor`s and
  `influence_extractor`s at random free cells (counts per side), never two buildings side by
  side, and `walls` short random wall segments (2-4 cells) that never touch a building.
* `center_junctions` neutral junctions on the middle column (odd widths only), spread evenly.

Names ending in `.<first team>` become `.<second team>` in the reflected copy, and the second
team's agents stand on the mirror images of the first team's start cells (a team with fewer
agents uses the first ones of that list). A layout whose free cells are not all connected is
redrawn from a derived seed, up to 20 times.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

from mettagrid.map_builder.base import AGENT_PREFIX, CELL_DTYPE, EMPTY, WALL, add_border, child_seeds
from mettagrid.map_builder.connectivity import grow, label_components

STATIONS = (("miner_station", -2, 0), ("aligner_station", -2, 2), ("scout_station", 2, 0), ("scrambler_station", 2, 2))
ATTEMPTS = 20


class CogsGuardMapConfig(BaseModel):
    """A mirrored two-team CoGsGuard map (see the module docstring for the layout)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["cogsguard"] = "cogsguard"
    width: PositiveInt = Field(description="Interior width (odd: the middle column holds the center junctions).")
    height: PositiveInt = Field(description="Interior height.")
    agents: dict[str, NonNegativeInt] = Field(
        default_factory=lambda: {"cogs": 8, "clips": 8},
        description="Two teams, left first: team name -> number of agents.",
    )
    junctions: NonNegativeInt = Field(3, description="Neutral junctions per side, in the field.")
    center_junctions: NonNegativeInt = Field(1, description="Neutral junctions on the middle column.")
    chargers: NonNegativeInt = Field(1, description="Neutral chargers per side, in the field.")
    ore_extractors: NonNegativeInt = Field(3, description="Ore extractors per side.")
    influence_extractors: NonNegativeInt = Field(2, description="Influence extractors per side.")
    walls: NonNegativeInt = Field(6, description="Random wall segments per side.")
    base_col: PositiveInt = Field(3, description="Column of the hub (0 = the first interior column).")
    base_radius: PositiveInt = Field(4, description="Half-size of the base box around the hub.")
    border_width: NonNegativeInt = Field(1, description="Wall cells around the whole map.")

    @model_validator(mode="after")
    def _fits(self) -> CogsGuardMapConfig:
        if len(self.agents) != 2:
            raise ValueError(f"cogsguard: agents needs exactly two teams, got {list(self.agents)}")
        if self.height < 2 * self.base_radius + 1:
            raise ValueError(f"cogsguard {self.width}x{self.height}: height must be >= 2 * base_radius + 1")
        part = (self.width + 1) // 2
        if part < self.base_col + self.base_radius + 3:
            raise ValueError(
                f"cogsguard {self.width}x{self.height}: half the width ({part}) leaves no field beyond the base"
            )
        if self.center_junctions and self.width % 2 == 0:
            raise ValueError(f"cogsguard {self.width}x{self.height}: center_junctions need an odd width")
        return self


class CogsGuardMapBuilder:
    def __init__(self, config: CogsGuardMapConfig):
        self.config = config
        self.owner = f"cogsguard {config.width}x{config.height}"

    def build(self, seed: int) -> np.ndarray:
        for attempt_seed in child_seeds(seed, ATTEMPTS):
            grid = self._attempt(np.random.default_rng(attempt_seed))
            if grid is not None:
                return add_border(grid, self.config.border_width)
        raise ValueError(f"{self.owner}: no connected layout in {ATTEMPTS} attempts (fewer walls or buildings?)")

    # -- one attempt ---------------------------------------------------------------------------

    def _attempt(self, rng: np.random.Generator) -> np.ndarray | None:
        config = self.config
        first, second = list(config.agents)
        height, part_width = config.height, (config.width + 1) // 2
        shared = config.width % 2  # the middle column belongs to both copies
        part = np.full((height, part_width), EMPTY, dtype=CELL_DTYPE)
        r0, c0 = height // 2, config.base_col

        part[r0, c0] = f"hub.{first}"
        for name, dr, dc in STATIONS:
            part[r0 + dr, c0 + dc] = f"{name}.{first}"
        part[r0, c0 + 3] = f"charger.{first}"

        base = np.zeros(part.shape, dtype=bool)
        base[max(0, r0 - config.base_radius) : r0 + config.base_radius + 1, : c0 + config.base_radius + 1] = True
        field = ~base
        if shared:
            field[:, -1] = False  # the middle column gets only the center junctions

        names = (
            ["junction"] * config.junctions
            + ["charger"] * config.chargers
            + ["ore_extractor"] * config.ore_extractors
            + ["influence_extractor"] * config.influence_extractors
        )
        if not self._place_apart(part, names, field, rng):
            return None
        if shared and config.center_junctions:
            rows = np.linspace(0, height - 1, config.center_junctions + 2)[1:-1].round().astype(int)
            part[rows, -1] = "junction"
        self._add_walls(part, field, rng)

        free_base = np.flatnonzero((part == EMPTY) & base)
        count = max(config.agents.values())
        if count > len(free_base):
            raise ValueError(f"{self.owner}: {count} agents do not fit in the base ({len(free_base)} free cells)")
        starts = rng.choice(free_base, size=count, replace=False)

        right = np.char.replace(part[:, ::-1], f".{first}", f".{second}")
        grid = np.concatenate([part, right[:, shared:]], axis=1).astype(CELL_DTYPE)
        rows, cols = np.unravel_index(starts, part.shape)
        grid[rows[: config.agents[first]], cols[: config.agents[first]]] = f"{AGENT_PREFIX}{first}"
        n = config.agents[second]
        grid[rows[:n], config.width - 1 - cols[:n]] = f"{AGENT_PREFIX}{second}"
        return grid if _free_cells_connected(grid) else None

    def _place_apart(self, part: np.ndarray, names: list[str], allowed: np.ndarray, rng) -> bool:
        """Place each name on a free allowed cell with no building beside it."""
        for name in names:
            buildings = (part != EMPTY) & (part != WALL)
            free = np.flatnonzero(allowed & (part == EMPTY) & ~grow(buildings))
            if len(free) == 0:
                return False
            part.flat[rng.choice(free)] = name
        return True

    def _add_walls(self, part: np.ndarray, field: np.ndarray, rng) -> None:
        buildings = (part != EMPTY) & (part != WALL)
        keep_clear = buildings | grow(buildings)
        height, width = part.shape
        for _ in range(self.config.walls):
            length = int(rng.integers(2, 5))
            dr, dc = ((0, 1), (1, 0))[int(rng.integers(0, 2))]
            r, c = int(rng.integers(0, height)), int(rng.integers(0, width))
            cells = [(r + i * dr, c + i * dc) for i in range(length)]
            if all(0 <= y < height and 0 <= x < width and field[y, x] and not keep_clear[y, x] for y, x in cells):
                for y, x in cells:
                    part[y, x] = WALL


def _free_cells_connected(grid: np.ndarray) -> bool:
    """Every cell an agent can stand on (empty or an agent) is reachable from every other."""
    walkable = (grid == EMPTY) | np.char.startswith(grid, AGENT_PREFIX)
    return label_components(walkable)[1] <= 1
