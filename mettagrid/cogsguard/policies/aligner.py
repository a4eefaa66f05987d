"""Aligner: take aligner gear, take hearts at the hub, claim neutral junctions (then chargers).

1. Without aligner gear: fetch it (the station costs energy).
2. Without a heart: take hearts from the own hub; while it has none, wait near it (at most
   LINGER moves away, never beside it, so miners can reach it).
3. Walk to the nearest neutral junction and align it; with none left, the nearest neutral
   charger; with neither, wait near the hub.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import Action, Nav, fetch_gear, fetch_heart
from mettagrid.cogsguard.world import World


def act(world: World, agent: int, nav: Nav) -> Action:
    step = fetch_gear(world, agent, "aligner", nav)
    if step is not None:
        return step
    step = fetch_heart(world, agent, nav)
    if step is not None:
        return step
    for kind in ("junction", "charger"):
        b = world.nearest(agent, world.owned(kind, -1))
        if b is not None:
            return nav.use(world, agent, b, "align")
    hub = world.nearest(agent, world.owned("hub", int(world.a_group[agent])))
    return nav.linger(world, agent, hub) if hub is not None else ("noop", 0)
