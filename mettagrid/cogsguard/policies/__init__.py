"""The scripted CoGsGuard policies, by the name a `metta://policy/<name>?key=value` URI gives.

`COGSGUARD_POLICIES[name]` is `(factory, parameters)`: `factory(env, seed=..., **params)`
builds a policy with `act(observations) -> (agents, 2) int32 actions` for every agent of a
MettaGridVecEnv, and `parameters` names the integer URI parameters it accepts.
"""

from __future__ import annotations

from mettagrid.cogsguard.policies.base import ROLES

ROLE_PARAMS = ROLES  # miner, scout, aligner, scrambler: per-team counts


def _role(env, seed=0, **params):
    from mettagrid.cogsguard.policies.role import RolePolicy

    return RolePolicy(env, seed, **params)


def _role_py(env, seed=0, **params):
    from mettagrid.cogsguard.policies.role_py import RolePyPolicy

    return RolePyPolicy(env, seed, **params)


def _single(role):
    def make(env, seed=0):
        from mettagrid.cogsguard.policies.role import single_role

        return single_role(role)(env, seed)

    return make


def _cogsguard(env, seed=0, **params):
    from mettagrid.cogsguard.policies.cogsguard import CogsGuardPolicy

    return CogsGuardPolicy(env, seed, **params)


def _teacher(env, seed=0, **params):
    from mettagrid.cogsguard.policies.teacher import TeacherPolicy

    return TeacherPolicy(env, seed, **params)


def _baseline(env, seed=0):
    from mettagrid.cogsguard.policies.role import BaselinePolicy

    return BaselinePolicy(env, seed)


COGSGUARD_POLICIES = {
    "role": (_role, ROLE_PARAMS),
    "role_py": (_role_py, ROLE_PARAMS),
    "miner": (_single("miner"), ()),
    "scout": (_single("scout"), ()),
    "aligner": (_single("aligner"), ()),
    "scrambler": (_single("scrambler"), ()),
    "cogsguard": (_cogsguard, ("gear", *ROLE_PARAMS)),
    "teacher": (_teacher, ("gear", *ROLE_PARAMS)),
    "baseline": (_baseline, ()),
}

# One line each, for `cogames policies` (docs/cogsguard.md has the rules in full).
DESCRIPTIONS = {
    "role": "fixed roles per team in proportion to the parameters (default 4:2:2:2)",
    "role_py": "the same behaviour as role, written a second time (for parity checks)",
    "miner": "every agent mines: miner gear, ore and influence to the hub, hearts out",
    "scout": "every agent scouts: scout gear, then freezes the other team's agents",
    "aligner": "every agent aligns: aligner gear, hearts, neutral junctions and chargers to its team",
    "scrambler": "every agent scrambles: scrambler gear, the other team's junctions back to neutral",
    "cogsguard": "the role split; with ?gear=N each team re-plans its roles every N steps (smart gear)",
    "teacher": "cogsguard that first shows each agent's role as its glyph (a teacher for cloning)",
    "baseline": "a simple team: three miners to each aligner (the scrimmage opponent)",
}
