"""Aligner: take aligner gear, take hearts at the hub, claim neutral junctions (then chargers).

1. Without aligner gear: fetch it (the station costs energy).
2. Without a heart: take hearts from the own hub; while it has none, wait near it (at most
   LINGER moves away, never beside it, so miners can reach it).
3. Walk to the nearest neutral junction and align it; with none left, the nearest neutral
   charger; with neither, wait near the hub.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import Action, Nav, fetch_gear
from mettagrid.cogsguard.world import World


def act(world: World, agent: int, nav: Nav) -> Action:
    step = fetch_gear(world, agent, "aligner", nav)
    if step is not None:
        return step
    team = int(world.a_group[agent])
    hub = world.nearest(agent, world.owned("hub", team))
    if world.held(agent, "heart") == 0:
        if hub is None:
            return "noop", 0
        if world.output(hub, "heart") > 0:
            return nav.use(world, agent, hub, "get_items")
        return nav.linger(world, agent, hub)
    for kind in ("junction", "charger"):
        b = world.nearest(agent, world.owned(kind, -1))
        if b is not None:
            return nav.use(world, agent, b, "align")
    return nav.linger(world, agent, hub) if hub is not None else ("noop", 0)
