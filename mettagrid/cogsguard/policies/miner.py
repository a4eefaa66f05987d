"""Miner: take miner gear, fill up at extractors (and held junctions), feed the hub.

1. Without miner gear: fetch it from the own miner station.
2. Carrying at least 6 ore and 2 influence, or 9 ore, or 4 influence: go to the own hub and
   put; then, beside it, take its hearts when it holds 5 or more (and there is room).
3. Otherwise go to the cheapest source of what is short (ore below 6: ore extractors;
   influence below 2: influence extractors and own junctions), counting moves plus
   EMPTY_COST for a source holding none, and take from it (or wait beside it).
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import EMPTY_COST, Action, Nav, fetch_gear
from mettagrid.cogsguard.world import World

HEART_TAKE = 5  # a miner empties the hub's hearts once it holds this many


def act(world: World, agent: int, nav: Nav) -> Action:
    step = fetch_gear(world, agent, "miner", nav)
    if step is not None:
        return step
    team = int(world.a_group[agent])
    ore, influence = world.held(agent, "ore"), world.held(agent, "influence")
    hub = world.nearest(agent, world.owned("hub", team))
    full = (ore >= 6 and influence >= 2) or ore >= 9 or influence >= 4
    if hub is not None and full:
        return nav.use(world, agent, hub, "put_items")
    if hub is not None and world.distance_to(agent, hub) == 0:
        if ore >= 3 and influence >= 1:
            return nav.use(world, agent, hub, "put_items")
        if world.output(hub, "heart") >= HEART_TAKE and world.room(agent, "heart") > 0:
            return nav.use(world, agent, hub, "get_items")
    sources: list[tuple[int, str]] = []
    if ore < 6:
        sources += [(b, "ore") for b in world.buildings("ore_extractor")]
    if influence < 2:
        sources += [(b, "influence") for b in world.buildings("influence_extractor")]
        sources += [(b, "influence") for b in world.owned("junction", team)]
    b = world.cheapest(agent, sources, EMPTY_COST)
    if b is not None:
        item = dict(sources)[b]
        return nav.use(world, agent, b, "get_items" if world.output(b, item) > 0 else "noop")
    return nav.use(world, agent, hub, "put_items") if hub is not None else ("noop", 0)
