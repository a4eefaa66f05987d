"""Scrambler: take scrambler gear, carry energy, neutralise the other team's junctions and chargers.

1. Without scrambler gear: fetch it (the station costs energy).
2. Without energy: take some from an own charger.
3. Walk to the nearest junction another team holds and scramble it; with none, the nearest
   charger another team holds; with neither, wait beside the nearest neutral or own junction.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import Action, Nav, arm
from mettagrid.cogsguard.world import World


def act(world: World, agent: int, nav: Nav) -> Action:
    step = arm(world, agent, "scrambler", nav)
    if step is not None:
        return step
    team = int(world.a_group[agent])
    for kind in ("junction", "charger"):
        theirs = [b for b in world.buildings(kind) if world.b_team[b] not in (-1, team)]
        b = world.nearest(agent, theirs)
        if b is not None:
            return nav.use(world, agent, b, "scramble")
    b = world.nearest(agent, world.buildings("junction"))
    return nav.use(world, agent, b, "noop") if b is not None else ("noop", 0)
