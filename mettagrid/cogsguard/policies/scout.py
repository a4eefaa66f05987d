"""Scout: take scout gear, carry energy, freeze the other team's agents.

1. Without scout gear: fetch it (the station costs energy).
2. Without energy: take some from an own charger.
3. An unfrozen enemy in the 3x3 block ahead: attack it (the arg picks it in the core's scan
   order). One ahead after turning: turn (current facing first, then up, down, left, right).
4. Otherwise walk toward the nearest unfrozen enemy (Manhattan distance; ties: lowest id);
   with no enemy, patrol the junctions in turn, 50 steps each, starting from the agent's id.
"""

from __future__ import annotations

import numpy as np

from mettagrid.cogsguard.policies.base import Action, Nav, arm
from mettagrid.cogsguard.world import World

PATROL_STEPS = 50


def act(world: World, agent: int, nav: Nav) -> Action:
    step = arm(world, agent, "scout", nav)
    if step is not None:
        return step
    team = int(world.a_group[agent])
    orient = int(world.a_orient[agent])
    for d in (orient, 0, 1, 2, 3):
        targets = world.attack_targets(agent, d)
        enemy = next((i for i, t in enumerate(targets) if world.a_group[t] != team), None)
        if enemy is not None:
            return ("attack", enemy) if d == orient else ("rotate", d)
    enemies = world.enemies(agent)
    if len(enemies):
        gaps = np.abs(world.a_row[enemies] - world.a_row[agent]) + np.abs(world.a_col[enemies] - world.a_col[agent])
        target = int(enemies[int(np.argmin(gaps))])
        return nav.toward_cell(world, agent, int(world.a_row[target]), int(world.a_col[target]))
    junctions = world.buildings("junction")
    if not junctions:
        return "noop", 0
    b = junctions[(agent + world.step // PATROL_STEPS) % len(junctions)]
    return nav.use(world, agent, b, "noop")
