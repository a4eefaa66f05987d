"""The `auto_reset` switch of the C++ core and `reset_env` (docs/mettagrid.md sections 4, 10).

With `auto_reset: False` a finished env keeps its final step in the buffers, reports its
episode once, and sits out later steps until `reset_env` starts its next episode.
"""

import numpy as np
import pytest

from mettagrid import _core
from tests.mettagrid.core_helpers import LEFT, UP, Harness, group, make_params, parse_map
from tests.mettagrid.test_core_determinism import arena_params, random_map

ROOM = """
#####
#...#
#.@.#
#...#
#####
"""
CENTER = 0x55  # location of the global tokens in an 11 x 11 window


def move_rewarded():
    return [group(0, "red", stat_rewards=[["action.move.success", 1.0, 1e30]])]


# ---------------------------------------------------------------------------- params


def test_auto_reset_param_is_optional():
    # The core trusts the compiled dict; MettaGridVecEnv puts bool(auto_reset) into it.
    grid = parse_map(ROOM)
    params = make_params(1)
    assert _core.VecEnv(params, 1, 0).auto_reset is True
    assert _core.VecEnv(dict(params, auto_reset=None), 1, 0).auto_reset is True
    assert _core.VecEnv(dict(params, auto_reset=False), 1, 0).auto_reset is False
    env = _core.VecEnv(dict(params, auto_reset=False), 1, 0)
    env.set_map(0, grid)
    with pytest.raises(RuntimeError, match="set_buffers"):
        env.reset_env(0)
    with pytest.raises(IndexError):
        env.reset_env(1)
    with pytest.raises(IndexError):
        env.reset_env(-1)


# ---------------------------------------------------------------------------- one env


@pytest.mark.parametrize("terminate", [False, True])
def test_final_observation_stays_and_the_env_waits_for_reset_env(terminate):
    h = Harness(ROOM, max_steps=3, groups=move_rewarded(), auto_reset=False, terminate_at_max_steps=terminate)
    longer = Harness(ROOM, max_steps=100, groups=move_rewarded())  # the same episode, played on
    first_obs = h.obs.copy()
    plan = [("move", 0), "noop", ("rotate", LEFT)]
    for k, act in enumerate(plan, start=1):
        obs, rewards, terms, truncs = h.step(act)
        longer.step(act)
        assert bool(terms[0]) == (k == 3 and terminate) and bool(truncs[0]) == (k == 3 and not terminate)
        np.testing.assert_array_equal(obs[:, 1:], longer.obs[:, 1:])  # all but episode completion
    done = h.terminals if terminate else h.truncations

    # The buffers hold the final step of the episode, not the start of the next one.
    assert h.env.episode_over(0) and h.env.current_step(0) == 3
    assert h.pos(0) == (1, 2) and h.agent(0)["orientation"] == LEFT
    rotate = h.action_ids["rotate"]
    assert h.tokens(0)[:4] == [(CENTER, 8, 255), (CENTER, 9, rotate), (CENTER, 10, LEFT), (CENTER, 11, 0)]
    (result,) = h.env.episode_results()
    assert result["steps"] == 3 and result["episode_rewards"] == pytest.approx([1.0])
    assert result["agent_stats"][0]["action.rotate.success"] == 1
    final_obs, final_stats = h.obs.copy(), h.env.agent_stats(0)

    # Later steps leave the env alone: no reward, dones kept (even if cleared by the caller),
    # observations and state unchanged, no second result.
    for act in [("move", 1), ("rotate", UP), ("move", 1)]:
        done[:] = False
        _, rewards, terms, truncs = h.step(act)
        assert rewards[0] == 0.0
        assert bool(terms[0]) == terminate and bool(truncs[0]) == (not terminate)
        np.testing.assert_array_equal(h.obs, final_obs)
        assert h.env.current_step(0) == 3 and h.pos(0) == (1, 2)
        assert h.env.agent_stats(0) == final_stats
        assert h.env.episode_results() == []

    # reset_env starts the next episode: first observation, cleared rewards and dones.
    h.rewards[:] = 7.0
    h.env.reset_env(0)
    assert not h.env.episode_over(0) and h.env.current_step(0) == 0 and h.pos(0) == (2, 2)
    np.testing.assert_array_equal(h.obs, first_obs)
    assert h.rewards[0] == 0 and not h.terminals[0] and not h.truncations[0]
    for act in plan:
        h.step(act)
    (result2,) = h.env.episode_results()
    assert result2["steps"] == 3 and result2["episode_rewards"] == pytest.approx([1.0])


def test_reset_restarts_finished_envs_too():
    h = Harness(ROOM, max_steps=2, auto_reset=False)
    h.step("noop")
    h.step("noop")
    assert h.env.episode_over(0)
    h.env.reset()
    assert not h.env.episode_over(0) and h.env.current_step(0) == 0 and not h.truncations[0]
    h.step("noop")
    assert h.env.current_step(0) == 1


# ---------------------------------------------------------------------------- vectors


def test_other_envs_keep_stepping_while_one_waits():
    """Envs of one vector end at different steps (desync); each waits on its own, and up to its
    end every env matches the auto-resetting core step for step."""
    num_envs, steps = 8, 12
    grids = [parse_map(ROOM)] * num_envs
    kw = dict(grids=grids, num_envs=num_envs, max_steps=10, desync_episodes=True, seed=3)
    h = Harness(auto_reset=False, **kw)
    ref = Harness(**kw)
    rng = np.random.default_rng(0)
    max_args = np.array(h.env.action_max_args)
    ends, frozen_obs = {}, {}
    for t in range(1, steps + 1):
        ids = rng.integers(0, len(max_args), size=num_envs)
        acts = np.stack([ids, rng.integers(0, max_args[ids] + 1)], axis=1).astype(np.int32)
        h.step(acts)
        ref.step(acts)
        ref_results = {r["env_index"]: r for r in ref.env.episode_results()}
        results = h.env.episode_results()
        assert [r["env_index"] for r in results] == sorted(r["env_index"] for r in results)
        for r in results:
            e = r["env_index"]
            assert e not in ends, "an episode is reported once"
            assert r == ref_results[e]
            ends[e] = t
            frozen_obs[e] = h.obs[e].copy()
        for e in range(num_envs):
            if e not in ends or ends[e] == t:  # still playing, or ending on this step
                assert h.rewards[e] == ref.rewards[e]
                assert h.truncations[e] == ref.truncations[e] == (ends.get(e) == t)
                if e not in ends:
                    np.testing.assert_array_equal(h.obs[e], ref.obs[e])
                    assert h.env.current_step(e) == t
            else:  # waiting
                assert h.rewards[e] == 0 and h.truncations[e]
                np.testing.assert_array_equal(h.obs[e], frozen_obs[e])
                assert h.env.current_step(e) == ends[e] and h.env.episode_over(e)
    assert len(ends) == num_envs and len(set(ends.values())) > 1


def rollout(auto_reset, num_threads=1, num_envs=5, steps=120):
    """The determinism rollout of test_core_determinism; without auto-reset, every finished env
    is reset with reset_env right after the step that ended it (after reading its buffers)."""
    rng = np.random.RandomState(123)
    grids = [random_map(rng) for _ in range(num_envs)]
    params = dict(arena_params(8), desync_episodes=True, auto_reset=auto_reset)
    h = Harness(params=params, grids=grids, num_envs=num_envs, seed=7, num_threads=num_threads)
    arng = np.random.RandomState(0)
    max_args = np.array(h.env.action_max_args)
    steps_out, results = [], []
    for _ in range(steps):
        ids = arng.randint(0, len(max_args), size=num_envs * 8)
        h.step(np.stack([ids, arng.randint(0, max_args[ids] + 1)], axis=1).astype(np.int32))
        rewards, dones = h.rewards.copy(), (h.terminals | h.truncations).copy()
        finished = h.env.episode_results()
        if not auto_reset:
            for r in finished:
                h.env.reset_env(r["env_index"])
        steps_out.append((h.obs.copy(), rewards, dones))
        results += finished
    return steps_out, results


def test_reset_env_after_each_end_replays_the_auto_reset_rollout():
    auto_steps, auto_results = rollout(True)
    manual_steps, manual_results = rollout(False)
    assert len(auto_results) >= 15
    assert manual_results == auto_results
    for (obs_a, rew_a, done_a), (obs_m, rew_m, done_m) in zip(auto_steps, manual_steps):
        np.testing.assert_array_equal(obs_a, obs_m)
        np.testing.assert_array_equal(rew_a, rew_m)
        np.testing.assert_array_equal(done_a, done_m)


def test_without_auto_reset_threads_do_not_change_results():
    one = rollout(False, num_threads=1, steps=60)
    three = rollout(False, num_threads=3, steps=60)
    assert one[1] == three[1]
    for a, b in zip(one[0], three[0]):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_reset_env_mid_episode_restarts_only_that_env():
    h = Harness(grids=[parse_map(ROOM)] * 2, num_envs=2, max_steps=4)  # auto_reset on
    h.step(np.zeros((2, 2), dtype=np.int32))
    h.step(np.zeros((2, 2), dtype=np.int32))
    env0_obs = h.obs[0].copy()
    h.env.reset_env(1)
    assert h.env.current_step(0) == 2 and h.env.current_step(1) == 0
    np.testing.assert_array_equal(h.obs[0], env0_obs)
    assert h.env.episode_results() == []  # the abandoned episode has no result
    h.step(np.zeros((2, 2), dtype=np.int32))
    h.step(np.zeros((2, 2), dtype=np.int32))
    assert [r["env_index"] for r in h.env.episode_results()] == [0]
    h.step(np.zeros((2, 2), dtype=np.int32))
    h.step(np.zeros((2, 2), dtype=np.int32))
    assert [r["env_index"] for r in h.env.episode_results()] == [1]


# ---------------------------------------------------------------------------- MettaGridVecEnv


def test_vec_env_reset_env_gives_random_maps_the_same_episodes():
    """reset_env queues the next random map exactly as an auto-reset does."""
    from mettagrid.env_configs import compose_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    config = compose_env_config("mettagrid/navigation", ["game.max_steps=3"])
    config = config.model_copy(update={"desync_episodes": False})
    auto = MettaGridVecEnv(config, num_envs=2, seed=5)
    manual = MettaGridVecEnv(config, num_envs=2, seed=5, auto_reset=False)
    assert manual.params["auto_reset"] is False and auto.params["auto_reset"] is True
    auto.reset()
    manual.reset()
    rng = np.random.default_rng(0)
    maps = []
    for step in range(1, 10):
        actions = auto.valid_random_actions(rng)
        auto.step(actions)
        manual.step(actions)
        if step % 3 == 0:
            assert manual.episode_over(0) and manual.episode_over(1)
            assert manual.episode_results() == auto.episode_results()
            rows = manual.reset_env(1)
            assert rows.shape == (config.game.num_agents, config.game.num_observation_tokens, 3)
            assert np.shares_memory(rows, manual.buffers.observations)
            assert not manual.episode_over(1) and manual.episode_over(0)
            manual.reset_env(0)
        np.testing.assert_array_equal(manual.buffers.observations, auto.buffers.observations)
        for e in range(2):
            assert manual.grid_objects(e) == auto.grid_objects(e)
        if step % 3 == 0:
            maps.append(str([o for o in auto.grid_objects(0) if o["kind"] != "agent"]))
    assert len(set(maps)) == 3  # the builder did give each episode a new map
    with pytest.raises(IndexError):
        manual.reset_env(2)
