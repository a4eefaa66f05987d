"""Every scripted CoGsGuard policy resolves by URI and plays; role and role_py agree; the
smart-gear meta-policy re-plans; the teacher shows roles and is deterministic."""

import numpy as np
import pytest

from metta.agent.policy_store import PolicyStoreError
from metta.agent.policy_uri import COGSGUARD_NAMES, resolve_policies
from mettagrid.cogsguard.missions import load_mission
from mettagrid.cogsguard.policies.base import split_roles
from mettagrid.env_configs import compose_env_config
from mettagrid.vec_env import MettaGridVecEnv

URIS = [f"metta://policy/{name}" for name in COGSGUARD_NAMES] + [
    "metta://policy/random",
    "metta://policy/role?miner=4&scout=2&aligner=2&scrambler=2",
    "metta://policy/cogsguard?gear=10",
    "metta://policy/teacher?gear=5&miner=1",
    "metta://policy/role_py?miner=1&scout=1",
]


def small_env(max_steps=60, seed=0):
    return MettaGridVecEnv(load_mission("cogsguard_arena.small", max_steps=max_steps, desync_episodes=False),
                           num_envs=2, seed=seed)


def play(uri, env, steps, seed=0):
    actor = resolve_policies(uri)[0].make_actor(env, seed=seed)
    observations = env.reset()
    taken = []
    for _ in range(steps):
        actions = actor.act(observations)
        assert actions.shape == (env.total_agents, 2) and actions.dtype == np.int32
        taken.append(actions.copy())
        observations, _, terminals, truncations = env.step(actions)
        actor.observe_dones(terminals, truncations)
    return actor, np.stack(taken)


@pytest.mark.parametrize("uri", URIS)
def test_every_policy_uri_resolves_and_plays(uri):
    env = small_env()
    _, actions = play(uri, env, 70)  # crosses an episode boundary
    max_args = np.asarray(env.action_max_args)
    assert (actions[..., 0] < len(max_args)).all() and (actions[..., 1] <= max_args[actions[..., 0]]).all()


@pytest.mark.parametrize("uri, words", [
    ("metta://policy/role?pilot=3", "unknown parameter 'pilot' for policy role (known: miner, scout, aligner, scrambler)"),
    ("metta://policy/miner?gear=1", "unknown parameter 'gear' for policy miner (it takes none)"),
    ("metta://policy/cogsguard?gear=ten", "parameter gear must be an integer"),
])
def test_bad_parameters_are_one_line_errors(uri, words):
    with pytest.raises(PolicyStoreError) as error:
        resolve_policies(uri)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_cogsguard_policies_refuse_other_games():
    env = MettaGridVecEnv(compose_env_config("mettagrid/arena/basic"), num_envs=1)
    with pytest.raises(ValueError, match="CoGsGuard games only"):
        resolve_policies("metta://policy/role")[0].make_actor(env)


def test_role_splits_scale_to_the_team():
    assert split_roles({"miner": 4, "scout": 2, "aligner": 2, "scrambler": 2}, 8) == (
        ["miner"] * 3 + ["aligner"] * 2 + ["scrambler"] * 2 + ["scout"])
    assert split_roles({"miner": 1, "scout": 1}, 2) == ["miner", "scout"]
    assert split_roles({"miner": 4, "scout": 2, "aligner": 2, "scrambler": 2}, 3) == ["miner", "aligner", "scrambler"]


def test_role_and_role_py_take_the_same_actions():
    _, a = play("metta://policy/role", small_env(200, seed=4), 200, seed=3)
    _, b = play("metta://policy/role_py", small_env(200, seed=4), 200, seed=3)
    assert (a == b).mean() > 0.95


def test_teacher_shows_roles_first_and_is_deterministic():
    env = small_env()
    actor, first = play("metta://policy/teacher", env, 10)
    glyph = env.action_names.index("change_glyph")
    assert (first[0, :, 0] == glyph).all() and set(first[0, :, 1].tolist()) <= {1, 2, 3, 4}
    assert (actor.policy.last_actions == first[-1]).all()
    _, again = play("metta://policy/teacher", small_env(), 10)
    assert (first == again).all()


def test_smart_gear_moves_idle_players_where_there_is_work():
    # No clips agents: the scout mines. Once every neutral junction and charger is ours, the
    # aligner seats go to scrambling the clips' base charger.
    env = MettaGridVecEnv(load_mission("cogsguard_arena.no_clips", max_steps=600, desync_episodes=False), num_envs=1)
    actor, _ = play("metta://policy/cogsguard?gear=10", env, 11)
    assert sorted(actor.policy.last_roles[0]) == sorted(["miner"] * 4 + ["aligner", "scrambler"] * 2)
    fixed, _ = play("metta://policy/cogsguard", MettaGridVecEnv(env.config, num_envs=1), 11)
    assert sorted(fixed.policy.last_roles[0]) == sorted(["miner"] * 3 + ["aligner", "scrambler"] * 2 + ["scout"])
