"""Every shipped env config builds and steps: buffer shapes and dtypes, well-formed observation
tokens, finite rewards, canonical action order, and episodes that end and report results."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mettagrid._core")

from mettagrid.config import ACTION_ORDER
from mettagrid.env_configs import compose_env_config, list_env_names
from mettagrid.vec_env import MettaGridVecEnv

NUM_ENVS = 2
STEPS = 20
EMPTY = 0xFF


def check_buffers(env: MettaGridVecEnv) -> None:
    game = env.game
    agents, tokens = env.total_agents, game.num_observation_tokens
    b = env.buffers
    expected = {
        "observations": ((agents, tokens, 3), np.uint8),
        "actions": ((agents, 2), np.int32),
        "rewards": ((agents,), np.float32),
        "terminals": ((agents,), np.bool_),
        "truncations": ((agents,), np.bool_),
    }
    for name, (shape, dtype) in expected.items():
        array = getattr(b, name)
        assert array.shape == shape, name
        assert array.dtype == dtype, name
    assert np.isfinite(b.rewards).all()


def check_tokens(env: MettaGridVecEnv) -> None:
    """Used tokens first, then only 0xFF padding; known features; locations inside the window."""
    game = env.game
    obs = env.buffers.observations
    padding = (obs == EMPTY).all(axis=2)  # (agents, tokens)
    used = ~padding
    num_used = used.sum(axis=1)
    # Padding only after the used tokens: the used ones form a prefix.
    assert (used == (np.arange(obs.shape[1]) < num_used[:, None])).all(), "0xFF padding before a used token"
    assert (num_used > 0).all()

    tokens = obs[used]
    assert (tokens[:, 1] < len(env.feature_names)).all(), "unknown feature id"
    rows, cols = tokens[:, 0] >> 4, tokens[:, 0] & 0x0F
    assert (rows < game.obs_height).all() and (cols < game.obs_width).all(), "location outside the window"

    # Each agent sees itself: a type_id 0 (agent) token at the centre of its window.
    centre = ((game.obs_height // 2) << 4) | (game.obs_width // 2)
    type_id = env.feature_names.index("type_id")
    sees_self = ((obs[:, :, 0] == centre) & (obs[:, :, 1] == type_id) & (obs[:, :, 2] == 0)).any(axis=1)
    assert sees_self.all()


def is_subsequence(names: list[str], order: tuple[str, ...]) -> bool:
    remaining = iter(order)
    return all(name in remaining for name in names)


@pytest.mark.parametrize("name", list_env_names())
def test_env_config_conforms(name):
    config = compose_env_config(name)
    env = MettaGridVecEnv(config, num_envs=NUM_ENVS, seed=0)
    rng = np.random.default_rng(0)

    assert env.total_agents == NUM_ENVS * config.game.num_agents
    assert is_subsequence(env.action_names, ACTION_ORDER), env.action_names
    assert env.action_space.shape == (2,)
    assert env.observation_space.shape == (config.game.num_observation_tokens, 3)

    env.reset()
    check_buffers(env)
    check_tokens(env)
    for _ in range(STEPS):
        env.step(env.valid_random_actions(rng))
        check_buffers(env)
        check_tokens(env)
    env.close()


@pytest.mark.parametrize("name", list_env_names())
def test_env_config_episodes_end_and_restart(name):
    """With short episodes every env resets (auto-reset) and reports well-formed results."""
    max_steps = 5
    config = compose_env_config(name, [f"game.max_steps={max_steps}"])
    env = MettaGridVecEnv(config, num_envs=NUM_ENVS, seed=1)
    rng = np.random.default_rng(1)
    env.reset()
    results, done_agents = [], 0
    for _ in range(3 * max_steps):
        _, _, terminals, truncations = env.step(env.valid_random_actions(rng))
        check_tokens(env)  # the first observation of the next episode, where one ended
        done_agents += int((terminals | truncations).sum())
        results += env.episode_results()
    env.close()

    assert done_agents == len(results) * config.game.num_agents
    assert {result["env_index"] for result in results} == set(range(NUM_ENVS))
    for result in results:
        assert 1 <= result["steps"] <= max_steps
        assert len(result["episode_rewards"]) == len(result["agent_stats"]) == config.game.num_agents
        assert np.isfinite(result["episode_rewards"]).all()
