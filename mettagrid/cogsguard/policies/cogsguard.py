"""`cogsguard`: the multi-role team whose roles follow the game (`?gear=N`: re-plan every N steps).

Without `gear` (or `gear=0`) it plays the `role` split (counts as for `role`). With
`gear=N`, every N steps each team re-plans its split ("smart gear"): scouts only while the
other team has agents; the aligner and scrambler seats of the split go to both roles while
there are both neutral and enemy-held junctions or chargers, all to aligners while only
neutral ones remain, all to scramblers while only enemy-held ones remain, to mining when
there are neither; everyone else mines. Agents
keep their role when it is still wanted; the others move to the roles short of players,
first to a role whose gear they already hold, then in agent-id order.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import ROLES, check_counts, split_roles
from mettagrid.cogsguard.policies.tactics import ROLE_GEAR
from mettagrid.cogsguard.policies.team import TeamPolicy
from mettagrid.cogsguard.world import World
from mettagrid.vec_env import MettaGridVecEnv


class CogsGuardPolicy(TeamPolicy):
    def __init__(self, env: MettaGridVecEnv, seed: int = 0, gear: int = 0, **counts: int):
        super().__init__(env, seed)
        if gear < 0:
            raise ValueError(f"cogsguard: gear must be >= 0 steps (got {gear})")
        self.gear = gear
        self.weights = check_counts(counts, "cogsguard")
        self.plans: dict[tuple[int, int], dict[int, str]] = {}  # (env, team) -> agent -> role

    def roles_for(self, world: World, team: int, agents: list[int]) -> list[str]:
        key = (world.env_index, team)
        plan = self.plans.get(key)
        if plan is None or world.step == 0 or set(plan) != set(agents):
            plan = dict(zip(agents, self.split(len(agents))))
        if self.gear and world.step % self.gear == 0:
            plan = self._replan(world, team, agents, plan)
        self.plans[key] = plan
        return [plan[a] for a in agents]

    def split(self, size: int) -> list[str]:
        """The fixed split of a team of `size` (the plan before any re-planning)."""
        return split_roles(self.weights, size)

    def _wanted(self, world: World, team: int, size: int) -> dict[str, int]:
        split = self.split(size)
        cap = {role: split.count(role) for role in ROLES}
        buildings = world.buildings("junction") + world.buildings("charger")
        theirs = sum(1 for b in buildings if world.b_team[b] not in (-1, team))
        neutral = sum(1 for b in buildings if world.b_team[b] == -1)
        enemies = int((world.a_group != team).sum())
        wanted = {"scout": cap["scout"] if enemies else 0, "aligner": 0, "scrambler": 0}
        # The claim seats (aligners and scramblers) go where there is work: both kinds while
        # both have targets, all to the one that has, none when neither has.
        claim = cap["aligner"] + cap["scrambler"]
        if neutral and theirs:
            wanted["aligner"], wanted["scrambler"] = cap["aligner"], cap["scrambler"]
        elif neutral:
            wanted["aligner"] = claim
        elif theirs:
            wanted["scrambler"] = claim
        wanted["miner"] = size - sum(wanted.values())
        return wanted

    def _replan(self, world: World, team: int, agents: list[int], plan: dict[int, str]) -> dict[int, str]:
        wanted = self._wanted(world, team, len(agents))
        new: dict[int, str] = {}
        for a in agents:  # keep roles still wanted
            role = plan[a]
            if wanted.get(role, 0) > 0:
                new[a] = role
                wanted[role] -= 1
        order = ROLES + tuple(r for r in wanted if r not in ROLES)
        for a in agents:
            if a in new:
                continue
            short = [r for r in order if wanted.get(r, 0) > 0]
            held = [r for r in short if all(world.held(a, gear) > 0 for gear in ROLE_GEAR.get(r, (f"{r}_gear",)))]
            role = (held or short)[0]
            new[a] = role
            wanted[role] -= 1
        return new
