"""`TeamPolicy`: scripted play for every agent of a CoGsGuard MettaGridVecEnv.

Each step it refreshes one `World` per env, asks `roles_for(world, team, agents)` which role
each agent of each team plays, and calls that role's `act(world, agent, nav)`. Subclasses
(role, the single roles, cogsguard, baseline, teacher) differ only in how they pick roles.
"""

from __future__ import annotations

import numpy as np

from mettagrid.cogsguard.policies import aligner, miner, scout, scrambler
from mettagrid.cogsguard.policies.base import GLYPHS, Nav
from mettagrid.cogsguard.policies.tactics import act_raider, opportunity
from mettagrid.cogsguard.world import World
from mettagrid.vec_env import ACTION_DTYPE, MettaGridVecEnv

PLAY = {"miner": miner.act, "scout": scout.act, "aligner": aligner.act, "scrambler": scrambler.act,
        "raider": act_raider}


class TeamPolicy:
    """Scripted play for every agent of a MettaGridVecEnv of a CoGsGuard game.

    Subclasses say which role each agent plays (`roles_for`); `act` does the rest. With
    `vibe`, each agent first shows its role's glyph (change_glyph) once per episode. With
    `opportunist`, an agent first takes whatever `tactics.opportunity` finds in front of it.
    `play` maps role names to their `act`.
    """

    vibe = False
    opportunist = False
    play = PLAY

    def __init__(self, env: MettaGridVecEnv, seed: int = 0):
        missing = {"hub", "junction", "charger"} - set(env.object_type_names)
        if missing or "align" not in env.action_names:
            raise ValueError(f"{type(self).__name__} plays CoGsGuard games only (this env lacks {sorted(missing)})")
        self.env = env
        self.nav = Nav(np.random.default_rng(seed))
        self.ids = {name: i for i, name in enumerate(env.action_names)}
        self.worlds = [World(env, i) for i in range(env.num_envs)]
        self.last_roles: list[list[str]] = [[] for _ in range(env.num_envs)]
        self._vibed: list[set[int]] = [set() for _ in range(env.num_envs)]
        self.last_actions = np.zeros((env.total_agents, 2), dtype=ACTION_DTYPE)

    def roles_for(self, world: World, team: int, agents: list[int]) -> list[str]:
        raise NotImplementedError

    def act(self, observations: np.ndarray | None = None) -> np.ndarray:
        actions = self.last_actions
        A = self.env.num_agents
        for e, world in enumerate(self.worlds):
            world.refresh()
            if world.step == 0:
                self._vibed[e].clear()
            roles = [""] * A
            for team, members in world.teams.items():
                for a, role in zip(members, self.roles_for(world, team, members)):
                    roles[a] = role
            self.last_roles[e] = roles
            for a in range(A):
                if world.a_frozen[a]:
                    name, arg = "noop", 0
                elif self.vibe and a not in self._vibed[e] and "change_glyph" in self.ids:
                    self._vibed[e].add(a)
                    name, arg = "change_glyph", GLYPHS.get(roles[a], 0)
                else:
                    chance = opportunity(world, a) if self.opportunist else None
                    name, arg = chance or self.play[roles[a]](world, a, self.nav)
                actions[e * A + a] = (self.ids[name], arg)
        return actions.copy()
