"""A CoGsGuard game on a tiny hand-drawn map: the real rules (the small mission's compiled
params), the map given as a picture, run through the core test harness."""

from __future__ import annotations

import numpy as np

from mettagrid.cells import cell_codes
from mettagrid.cogsguard.missions import load_mission
from mettagrid.config import compile_params
from tests.mettagrid.core_helpers import Harness

LEGEND = {
    "#": "wall", ".": "empty",
    "1": "agent.cogs", "2": "agent.clips",
    "H": "hub.cogs", "h": "hub.clips",
    "J": "junction.cogs", "K": "junction.clips", "j": "junction",
    "C": "charger.cogs", "c": "charger",
    "o": "ore_extractor", "i": "influence_extractor",
    "M": "miner_station.cogs", "S": "scout_station.cogs", "A": "aligner_station.cogs", "X": "scrambler_station.cogs",
}


def game(picture: str, cogs: dict[str, int] | None = None, clips: dict[str, int] | None = None, **params) -> Harness:
    """A Harness over `picture` (see LEGEND); `cogs` / `clips` give each team's starting items."""
    config = load_mission("cogsguard_arena.small")
    rows = [line.strip() for line in picture.strip("\n").splitlines() if line.strip()]
    names = np.array([[LEGEND[ch] for ch in row] for row in rows])
    codes = cell_codes(config.game)
    grid = np.vectorize(codes.__getitem__)(names).astype(np.int32)
    compiled = compile_params(config)
    compiled.update(num_agents=int((grid < 0).sum()), desync_episodes=False, **params)
    items = compiled["item_names"]
    for group, start in zip(compiled["groups"], (cogs or {}, clips or {})):
        for item, n in start.items():
            group["initial_inventory"][items.index(item)] = n
    h = Harness(params=compiled, grids=[grid])
    h.item = {name: i for i, name in enumerate(items)}
    return h


def held(h: Harness, agent: int, item: str) -> int:
    return h.inv(agent, h.item[item])


def building(h: Harness, type_name: str, index: int = 0) -> dict:
    return h.objects(type_name)[index]
