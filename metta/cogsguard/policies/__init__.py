"""The scripted CoGsGuard policies, by the name a `metta://policy/<name>?key=value` URI gives.

`COGSGUARD_POLICIES[name]` is `(factory, parameters)`: `factory(env, seed=..., **params)`
builds a policy with `act(observations) -> (agents, 2) int32 actions` for every agent of a
MettaGridVecEnv, and `parameters` names the integer URI parameters it accepts.
"""

from __future__ import annotations

from metta.cogsguard.policies.base import ROLES

ROLE_PARAMS = ROLES  # miner, scout, aligner, scrambler: per-team counts


def _role(env, seed=0, **params):
    from metta.cogsguard.policies.role import RolePolicy

    return RolePolicy(env, seed, **params)


def _role_py(env, seed=0, **params):
    from metta.cogsguard.policies.role_py import RolePyPolicy

    return RolePyPolicy(env, seed, **params)


def _single(role):
    def make(env, seed=0):
        from metta.cogsguard.policies.role import single_role

        return single_role(role)(env, seed)

    return make


def _cogsguard(env, seed=0, **params):
    from metta.cogsguard.policies.cogsguard import CogsGuardPolicy

    return CogsGuardPolicy(env, seed, **params)


def _teacher(env, seed=0, **params):
    from metta.cogsguard.policies.teacher import TeacherPolicy

    return TeacherPolicy(env, seed, **params)


def _baseline(env, seed=0):
    from metta.cogsguard.policies.role import BaselinePolicy

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
