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


def _strategy(class_name):
    def make(env, seed=0, **params):
        from mettagrid.cogsguard.policies import strategies

        return getattr(strategies, class_name)(env, seed, **params)

    return make


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
    "cogsguard_v2": (_strategy("CogsGuardV2Policy"), ("gear", *ROLE_PARAMS)),
    "wombo": (_strategy("WomboPolicy"), ("gear",)),
    "cogsguard_control": (_strategy("ControlPolicy"), ("gear", *ROLE_PARAMS)),
    "cogsguard_targeted": (_strategy("TargetedPolicy"), ("miner", "aligner", "raider", "scout")),
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
    "cogsguard_v2": "cogsguard with smart gear every 10 steps and agents that take the chance in front of them",
    "wombo": "miners plus raiders that scramble and align junctions themselves, all opportunistic",
    "cogsguard_control": "junction control: 3 miners, 3 aligners, 2 scramblers retaking junctions near the hub",
    "cogsguard_targeted": "raiders scramble and re-align the other team's junctions; scouts (if any) hunt its aligners",
}
