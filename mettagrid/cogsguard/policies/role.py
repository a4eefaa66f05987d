"""Fixed roles: `role` (a split of miners, scouts, aligners, scramblers per team), the single
roles (`miner`, `scout`, `aligner`, `scrambler`: every agent plays one), and `baseline`.

Counts come from the URI (`metta://policy/role?miner=4&scout=2&aligner=2&scrambler=2`) and
are per team, scaled to the team's size when they do not add up to it (largest remainder);
the default is 4:2:2:2. Agents of a team take the roles in agent-id order, miners first,
then aligners, scramblers and scouts.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import check_counts, split_roles
from mettagrid.cogsguard.policies.team import TeamPolicy
from mettagrid.cogsguard.world import World
from mettagrid.vec_env import MettaGridVecEnv


class RolePolicy(TeamPolicy):
    def __init__(self, env: MettaGridVecEnv, seed: int = 0, **counts: int):
        super().__init__(env, seed)
        self.weights = check_counts(counts, "role")

    def roles_for(self, world: World, team: int, agents: list[int]) -> list[str]:
        return split_roles(self.weights, len(agents))


class SingleRolePolicy(TeamPolicy):
    role = "miner"

    def roles_for(self, world: World, team: int, agents: list[int]) -> list[str]:
        return [self.role] * len(agents)


def single_role(role: str) -> type[SingleRolePolicy]:
    return type(f"{role.capitalize()}Policy", (SingleRolePolicy,), {"role": role, "__doc__": f"Every agent a {role}."})


class BaselinePolicy(TeamPolicy):
    """A simple competent team: three miners to each aligner, nobody scouts or scrambles."""

    def roles_for(self, world: World, team: int, agents: list[int]) -> list[str]:
        return split_roles({"miner": 3, "aligner": 1}, len(agents))
