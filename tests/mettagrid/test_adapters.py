"""The Gymnasium, PettingZoo and PufferLib adapters: the frameworks' own checkers, episode
boundaries (the final observation is the episode's own), seeding, and PufferLib vectorization."""

from __future__ import annotations

import functools
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("mettagrid._core")

from mettagrid.adapters.gym_env import EpisodeRunner, MettaGridGymEnv
from mettagrid.adapters.pettingzoo_env import MettaGridParallelEnv
from mettagrid.env_configs import compose_env_config
from mettagrid.vec_env import MettaGridVecEnv

SINGLE_AGENT = "mettagrid/navigation/evals/emptyspace"


def completion_token(obs: np.ndarray, feature_names: list[str]) -> np.ndarray:
    """The first token of each agent, which the core always fills with episode completion."""
    assert (obs[..., 0, 1] == feature_names.index("episode_completion_pct")).all()
    return obs[..., 0, 2]


# ------------------------------------------------------------------------------------------
# The episode runner shared by the Gymnasium and PettingZoo adapters


def test_runner_matches_the_core_and_keeps_the_final_observation():
    max_steps = 12
    config = compose_env_config("mettagrid/navigation", [f"game.max_steps={max_steps}"])
    config = config.model_copy(update={"desync_episodes": False})
    runner = EpisodeRunner(config, seed=7)
    # Two references: the auto-resetting core with the game's own limit (its buffer shows the
    # next episode after the last step), and one with a larger limit, which plays the same
    # episode on past the end; only the completion token depends on the limit.
    limited = MettaGridVecEnv(config, seed=7)
    longer_game = config.game.model_copy(update={"max_steps": 10 * max_steps})
    longer = MettaGridVecEnv(config.model_copy(update={"game": longer_game}), seed=7)
    rng = np.random.default_rng(0)

    obs = runner.reset()
    np.testing.assert_array_equal(obs, limited.reset())
    longer.reset()
    for step in range(1, max_steps + 1):
        actions = limited.valid_random_actions(rng)
        obs, rewards, terminated, truncated = runner.step(actions)
        ref_obs, ref_rewards, _, ref_truncations = limited.step(actions)
        long_obs = longer.step(actions)[0]
        np.testing.assert_array_equal(rewards, ref_rewards)
        assert truncated == bool(ref_truncations.all()) == (step == max_steps)
        assert not terminated
        if step < max_steps:
            np.testing.assert_array_equal(obs, ref_obs)
        # Apart from the completion value, the runner sees what the longer episode sees,
        # the final step included.
        np.testing.assert_array_equal(obs[:, 1:], long_obs[:, 1:])
        assert (completion_token(obs, runner.feature_names) == min(255, 255 * step // max_steps)).all()

    # The limited core has already moved on to its next episode; the runner has not.
    assert (completion_token(ref_obs, runner.feature_names) == 0).all()
    assert (completion_token(obs, runner.feature_names) == 255).all()
    assert runner.vec.episode_over(0)
    (ref_result,) = limited.episode_results()
    summary = runner.episode_summary()
    assert summary["episode_length"] == ref_result["steps"] == max_steps
    assert summary["episode_rewards"] == ref_result["episode_rewards"]
    assert summary["agent_stats"] == ref_result["agent_stats"]
    with pytest.raises(RuntimeError, match="reset"):
        runner.step(actions)
    # The next episode is the auto-resetting core's next one.
    np.testing.assert_array_equal(runner.reset(), ref_obs)


# ------------------------------------------------------------------------------------------
# Gymnasium


def test_gym_env_passes_gymnasium_checker():
    from gymnasium.utils.env_checker import check_env

    env = MettaGridGymEnv(SINGLE_AGENT)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*render modes.*")
        check_env(env.unwrapped)
        check_env(env)
    assert env.observation_space.shape == (compose_env_config(SINGLE_AGENT).game.num_observation_tokens, 3)
    assert env.observation_space.dtype == np.uint8
    assert list(env.action_space.nvec) == [len(env.action_names), env.action_space.nvec[1]]


def test_gym_env_refuses_multi_agent_games():
    with pytest.raises(ValueError, match="game.num_agents"):
        MettaGridGymEnv("mettagrid/navigation")


@pytest.mark.parametrize("episode_end", ["truncate", "terminate"])
def test_gym_episode_ends_with_its_own_final_observation(episode_end):
    env = MettaGridGymEnv(SINGLE_AGENT, ["game.max_steps=5", f"++game.episode_end={episode_end}"])
    obs, info = env.reset(seed=3)
    assert info == {} and completion_token(obs, env.feature_names) == 0
    for step in range(1, 6):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert isinstance(reward, float)
        assert terminated == (step == 5 and episode_end == "terminate")
        assert truncated == (step == 5 and episode_end == "truncate")
    assert completion_token(obs, env.feature_names) == 255  # not the next episode's 0
    assert info["episode_length"] == 5
    assert set(info) == {"episode_length", "episode_return", "agent_stats"}
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())
    obs, _ = env.reset()
    assert completion_token(obs, env.feature_names) == 0
    env.close()


def test_gym_seeded_resets_replay_the_same_episode():
    env = MettaGridGymEnv("mettagrid/memory")
    actions = [env.action_space.sample() for _ in range(30)]

    def rollout(seed):
        observations = [env.reset(seed=seed)[0]]
        observations += [env.step(action)[0] for action in actions]
        return np.stack(observations)

    first = rollout(11)
    env.reset()  # a different episode in between must not matter
    np.testing.assert_array_equal(first, rollout(11))
    assert not np.array_equal(first, rollout(12))


# ------------------------------------------------------------------------------------------
# PettingZoo


@pytest.mark.parametrize(
    "name, overrides, cycles",
    [
        ("mettagrid/navigation", [], 520),  # as shipped: 500 steps, so the episode ends
        ("mettagrid/arena/basic", ["game.max_steps=40"], 60),
    ],
)
def test_parallel_env_passes_pettingzoo_checker(name, overrides, cycles):
    from pettingzoo.test import parallel_api_test

    parallel_api_test(MettaGridParallelEnv(name, overrides), num_cycles=cycles)


def test_parallel_env_episode_boundaries():
    env = MettaGridParallelEnv("mettagrid/navigation", ["game.max_steps=4"])
    assert env.possible_agents == [f"agent_{i}" for i in range(4)]
    assert env.agents == []
    obs, infos = env.reset(seed=0)
    assert set(obs) == set(infos) == set(env.agents) == set(env.possible_agents)
    for step in range(1, 5):
        # agent_3 is left out: it does noop.
        actions = {agent: env.action_space(agent).sample() for agent in env.agents[:3]}
        obs, rewards, terminations, truncations, infos = env.step(actions)
        assert all(truncations.values()) == (step == 4)
        assert not any(terminations.values())
    assert env.agents == []
    assert all(completion_token(o, env.feature_names) == 255 for o in obs.values())
    assert infos["agent_3"]["agent_stats"]["action.noop.success"] == 4
    assert set(infos["agent_0"]) == {"episode_length", "episode_return", "agent_stats"}
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset()
    assert env.agents == env.possible_agents


def _rollout(env, steps: int, seed: int) -> list[tuple]:
    """(observations, rewards) of `steps` steps of fixed actions after reset(seed)."""
    obs, _ = env.reset(seed=seed)
    played = [(np.stack(list(obs.values())), None)]
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = {agent: rng.integers(0, 4, 2) for agent in env.agents}
        obs, rewards, *_ = env.step(actions)
        played.append((np.stack(list(obs.values())), np.array(list(rewards.values()))))
    return played


def test_parallel_env_pickles_as_its_config_and_seed():
    env = MettaGridParallelEnv("mettagrid/arena/basic", ["game.max_steps=8"], seed=3)
    copied = pickle.loads(pickle.dumps(env))
    assert copied is not env and copied.config == env.config and copied.render_mode is None
    assert copied.agents == []  # a new env: the copy starts before its first reset
    # The copy plays the same episodes as the original (the seed travelled with it).
    for (obs, rewards), (copied_obs, copied_rewards) in zip(_rollout(env, 6, 5), _rollout(copied, 6, 5)):
        np.testing.assert_array_equal(obs, copied_obs)
        np.testing.assert_array_equal(rewards, copied_rewards)
    other_seed = pickle.loads(pickle.dumps(MettaGridParallelEnv("mettagrid/arena/basic", ["game.max_steps=8"], 4)))
    first_obs = _rollout(other_seed, 0, None)[0][0], _rollout(env, 0, None)[0][0]
    assert not np.array_equal(*first_obs)  # unseeded resets follow each env's own seed
    gym_env = pickle.loads(pickle.dumps(MettaGridGymEnv(SINGLE_AGENT, seed=2)))
    assert gym_env.config == MettaGridGymEnv(SINGLE_AGENT).config and gym_env.reset()[0].shape[-1] == 3


@pytest.mark.parametrize("num_cpus", [0, 2])  # 0: in this process; 2: one worker process per env
def test_parallel_env_in_supersuit_vector_envs(num_cpus):
    supersuit = pytest.importorskip("supersuit")
    env = MettaGridParallelEnv("mettagrid/navigation", ["game.max_steps=6"])
    agents, tokens = len(env.possible_agents), env.observation_space("agent_0").shape[0]
    vec = supersuit.concat_vec_envs_v1(supersuit.pettingzoo_env_to_vec_env_v1(env), 2, num_cpus=num_cpus,
                                       base_class="gymnasium")
    try:
        assert vec.num_envs == 2 * agents
        obs, _ = vec.reset(seed=0)
        assert obs.shape == (2 * agents, tokens, 3) and obs.dtype == np.uint8  # (reset's infos differ by backend)
        rng = np.random.default_rng(0)
        for step in range(1, 8):
            actions = rng.integers(0, vec.action_space.nvec, size=(vec.num_envs, 2))
            obs, rewards, terminations, truncations, infos = vec.step(actions)
            assert obs.shape == (2 * agents, tokens, 3) and rewards.shape == (2 * agents,)
            assert truncations.all() == (step == 6) and not terminations.any()
            completion = completion_token(obs, env.feature_names)
            if step == 6:  # the episode ended: SuperSuit reset it and keeps its last observation
                assert (completion == 0).all()
                assert all(info["episode_length"] == 6 for info in infos)
                assert all(completion_token(info["terminal_observation"], env.feature_names) == 255 for info in infos)
            else:
                assert (completion > 0).all() and (completion < 255).all()
    finally:
        vec.close()


# ------------------------------------------------------------------------------------------
# PufferLib


def _puffer_creator(name="mettagrid/navigation", overrides=("game.max_steps=10",)):
    from mettagrid.adapters.puffer_env import make_puffer_env

    return functools.partial(make_puffer_env, name, list(overrides))


def _check_puffer_rollout(vecenv, agents, tokens, steps=40):
    obs, infos = vecenv.reset(seed=1)
    assert obs.shape == (agents, tokens, 3) and obs.dtype == np.uint8
    assert isinstance(infos, list)
    finished = []
    for _ in range(steps):
        obs, rewards, terminals, truncations, infos = vecenv.step(vecenv.action_space.sample())
        assert obs.shape == (agents, tokens, 3) and obs.dtype == np.uint8
        assert rewards.shape == (agents,) and rewards.dtype == np.float32
        assert terminals.shape == truncations.shape == (agents,)
        assert terminals.dtype == truncations.dtype == np.bool_
        assert np.isfinite(rewards).all()
        finished += infos
    assert finished, "episodes of 10 steps must finish within 40 steps"
    for info in finished:
        assert 1 <= info["episode_length"] <= 10
        assert np.isfinite(info["episode_return"])
        assert any(key.startswith("agent/action.") for key in info)
        assert all(isinstance(value, float) for value in info.values())
    return finished


def test_puffer_env_serial():
    pytest.importorskip("pufferlib")
    import pufferlib.vector

    vecenv = pufferlib.vector.make(_puffer_creator(), num_envs=3, backend=pufferlib.vector.Serial)
    try:
        _check_puffer_rollout(vecenv, agents=3 * 4, tokens=200)
        # Zero copy: each env's core writes into its slice of the vectorizer's buffers.
        for env in vecenv.envs:
            assert env.vec_env.buffers.observations is env.observations
            assert np.shares_memory(env.observations, vecenv.observations)
            assert env.vec_env.buffers.actions is env.actions
    finally:
        vecenv.close()


def test_puffer_env_multiprocessing():
    pytest.importorskip("pufferlib")
    import pufferlib.vector

    vecenv = pufferlib.vector.make(
        _puffer_creator(), num_envs=2, backend=pufferlib.vector.Multiprocessing, num_workers=2
    )
    try:
        _check_puffer_rollout(vecenv, agents=2 * 4, tokens=200)
    finally:
        vecenv.close()


def test_puffer_env_holding_many_envs_natively():
    pytest.importorskip("pufferlib")
    from mettagrid.adapters.puffer_env import MettaGridPufferEnv

    config = compose_env_config("mettagrid/arena/basic", ["game.max_steps=10"])
    env = MettaGridPufferEnv(config, num_envs=2)
    assert env.num_agents == 48
    assert env.single_action_space.nvec[0] == len(env.action_names)
    assert env.vec_env.buffers.observations is env.observations  # zero copy
    _check_puffer_rollout(env, agents=48, tokens=config.game.num_observation_tokens)
    env.close()


def test_puffer_env_seeded_reset_is_reproducible():
    pytest.importorskip("pufferlib")
    env = _puffer_creator()(num_envs=2)
    actions = [env.action_space.sample() for _ in range(15)]

    def rollout(seed):
        frames = [env.reset(seed=seed)[0].copy()]
        frames += [env.step(a)[0].copy() for a in actions]
        return np.stack(frames)

    first = rollout(5)
    np.testing.assert_array_equal(first, rollout(5))
    assert not np.array_equal(first, rollout(6))


def test_puffer_env_converts_buffers_of_other_dtypes():
    pytest.importorskip("pufferlib")
    agents, tokens = 4, 200
    buf = dict(
        observations=np.zeros((agents, tokens, 3), dtype=np.int16),
        actions=np.zeros((agents, 2), dtype=np.int64),
        rewards=np.zeros(agents, dtype=np.float64),
        terminals=np.zeros(agents, dtype=bool),
        truncations=np.zeros(agents, dtype=bool),
        teacher_actions=np.zeros((agents, 2), dtype=np.int64),
        masks=np.ones(agents, dtype=bool),
    )
    env = _puffer_creator()(buf=buf)
    obs, _ = env.reset(seed=0)
    assert obs is buf["observations"]
    np.testing.assert_array_equal(obs, env.vec_env.buffers.observations)
    buf["actions"][:] = [1, 0]  # everyone tries to move forward
    env.step(buf["actions"])
    np.testing.assert_array_equal(env.vec_env.buffers.actions, buf["actions"])
    np.testing.assert_array_equal(buf["observations"], env.vec_env.buffers.observations)
    np.testing.assert_array_equal(buf["rewards"], env.vec_env.buffers.rewards)
    assert env.terminals is buf["terminals"] and env.vec_env.buffers.terminals is buf["terminals"]


def test_puffer_module_imports_without_pufferlib():
    code = (
        "import sys; sys.modules['pufferlib'] = None\n"
        "import mettagrid.adapters.puffer_env as m\n"
        "try:\n"
        "    m.make_puffer_env('mettagrid/navigation')\n"
        "except ImportError as e:\n"
        "    assert 'pufferlib' in str(e), e\n"
        "    print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
