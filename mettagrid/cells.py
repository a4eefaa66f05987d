"""Turn a grid of cell names into the int32 cell codes the C++ core reads.

Codes (docs/mettagrid.md, section 9): 0 empty, k > 0 an object of the k-th object type
(in `game.objects` order), -(g + 1) an agent of the g-th group (in `game.groups` order).
An object with teams (alignable or team_only) may be named `<object>.<group>`: owned by that
group at reset, code k + TEAM_CODE_STRIDE * (g + 1).
"""

from __future__ import annotations

import numpy as np

from mettagrid.config import GameConfig
from mettagrid.errors import ConfigError
from mettagrid.map_builder.base import AGENT_PREFIX, EMPTY

TEAM_CODE_STRIDE = 1 << 16  # kTeamCodeStride of the core


def cell_codes(game: GameConfig) -> dict[str, int]:
    codes = {EMPTY: 0}
    codes.update({name: index + 1 for index, name in enumerate(game.objects)})
    codes.update({f"{AGENT_PREFIX}{name}": -(index + 1) for index, name in enumerate(game.groups)})
    for index, (name, obj) in enumerate(game.objects.items()):
        if obj.has_team:
            for g, group in enumerate(game.groups):
                codes[f"{name}.{group}"] = index + 1 + TEAM_CODE_STRIDE * (g + 1)
    return codes


def encode_map(grid: np.ndarray, game: GameConfig, source: str = "game.map_builder") -> np.ndarray:
    """Validate a map against the game and encode it; one-line ConfigError on a bad map."""
    if grid.ndim != 2 or grid.size == 0:
        raise ConfigError(f"{source}: a map must be a non-empty 2-D grid (got shape {grid.shape})")
    codes = cell_codes(game)
    names, inverse = np.unique(grid, return_inverse=True)
    unknown = [str(name) for name in names if name not in codes]
    if unknown:
        hint = [name for name in unknown if name.startswith(AGENT_PREFIX)]
        what = "agent group not in game.groups" if hint else "object not in game.objects"
        raise ConfigError(f"{source}: map cell {unknown[0]!r} is an {what} (known: {', '.join(codes)})")
    encoded = np.asarray([codes[str(name)] for name in names], dtype=np.int32)[inverse.reshape(grid.shape)]
    num_agents = int(np.count_nonzero(encoded < 0))
    if num_agents != game.num_agents:
        raise ConfigError(
            f"{source}: the map has {num_agents} agent cells but game.num_agents is {game.num_agents}"
        )
    return np.ascontiguousarray(encoded, dtype=np.int32)


def check_map_builds(game: GameConfig, source: str) -> None:
    """Build the map once (seed 0) and encode it, turning any builder error into a ConfigError."""
    from mettagrid.map_builder import build_map

    try:
        grid = build_map(game.map_builder, seed=0)
    except (ValueError, OSError) as error:
        raise ConfigError(f"{source}: {str(error).splitlines()[0]}") from None
    encode_map(grid, game, source=source)
