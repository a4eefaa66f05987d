"""Plays the four fixed roles do not make: the raider, and taking a chance that is right there.

*Raider* (`act_raider`): one agent carrying both aligner and scrambler gear, so it can take a
junction from the other team by itself: scramble it, then align it on the next step.
1. Without aligner gear, then without scrambler gear: fetch them (the stations cost energy).
2. Without energy: take some from an own charger. Without a heart: take hearts from the own
   hub, or wait near it.
3. Go to the nearest target and scramble it when the other team holds it, align it when it is
   neutral. Targets are junctions held by the other team or neutral (`enemy_first=False`);
   with `enemy_first=True` only those the other team holds, plus a neutral one the raider is
   standing beside (the one it just scrambled), and neutral ones when the other team holds
   none. With no junction to take: the same for chargers; else wait near the hub.

*Opportunity* (`opportunity`): whatever the agent can do this step without turning, with what
it already holds: align the neutral junction or charger in front (aligner gear, a heart),
scramble the other team's one in front (scrambler gear, energy), attack an unfrozen enemy in
the 3x3 block ahead (scout gear, energy). None when there is nothing to take.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import Action, Nav, fetch_energy, fetch_gear, fetch_heart
from mettagrid.cogsguard.world import DIRS, World

CLAIMABLE = ("junction", "charger")
ROLE_GEAR = {"raider": ("aligner_gear", "scrambler_gear")}  # roles whose gear is not `<role>_gear`


def raid_targets(world: World, agent: int, kind: str, enemy_first: bool) -> list[int]:
    team = int(world.a_group[agent])
    theirs = [b for b in world.buildings(kind) if world.b_team[b] not in (-1, team)]
    neutral = world.owned(kind, -1)
    if not enemy_first or not theirs:
        return theirs + neutral
    return theirs + [b for b in neutral if world.distance_to(agent, b) == 0]


def act_raider(world: World, agent: int, nav: Nav, enemy_first: bool = False) -> Action:
    for role in ("aligner", "scrambler"):
        step = fetch_gear(world, agent, role, nav)
        if step is not None:
            return step
    if world.held(agent, "energy") == 0:
        return fetch_energy(world, agent, nav)
    step = fetch_heart(world, agent, nav)
    if step is not None:
        return step
    for kind in CLAIMABLE:
        b = world.nearest(agent, raid_targets(world, agent, kind, enemy_first))
        if b is not None:
            return nav.use(world, agent, b, "align" if world.b_team[b] == -1 else "scramble")
    hub = world.nearest(agent, world.owned("hub", int(world.a_group[agent])))
    return nav.linger(world, agent, hub) if hub is not None else ("noop", 0)


def building_ahead(world: World, agent: int) -> int | None:
    """The building in the cell the agent faces, or None."""
    dr, dc = DIRS[int(world.a_orient[agent])]
    return world.layout.at.get((int(world.a_row[agent]) + dr, int(world.a_col[agent]) + dc))


def opportunity(world: World, agent: int) -> Action | None:
    team = int(world.a_group[agent])
    b = building_ahead(world, agent)
    if b is not None and world.layout.type_name[b] in CLAIMABLE:
        owner = int(world.b_team[b])
        if owner == -1 and world.held(agent, "aligner_gear") and world.held(agent, "heart"):
            return "align", 0
        if owner not in (-1, team) and world.held(agent, "scrambler_gear") and world.held(agent, "energy"):
            return "scramble", 0
    if world.held(agent, "scout_gear") and world.held(agent, "energy"):
        targets = world.attack_targets(agent, int(world.a_orient[agent]))
        enemy = next((i for i, t in enumerate(targets) if world.a_group[t] != team), None)
        if enemy is not None:
            return "attack", enemy
    return None
