"""The scripted baselines play by the rules and the shortest-path player beats random."""

import numpy as np
import pytest

from mettagrid.env_configs import compose_env_config, list_env_names
from mettagrid.scripted_policies import SCRIPTED_POLICIES
from mettagrid.vec_env import MettaGridVecEnv


def mean_return(env_name: str, policy: str, episodes: int = 2) -> float:
    config = compose_env_config(env_name).model_copy(update={"desync_episodes": False})
    env = MettaGridVecEnv(config, num_envs=episodes, seed=3)
    actor = SCRIPTED_POLICIES[policy](env, seed=0)
    observations, results = env.reset(), []
    while len(results) < episodes:
        observations, *_ = env.step(actor.act(observations))
        results += env.episode_results()
    return float(np.mean([np.mean(result["episode_rewards"]) for result in results]))


def test_shortest_path_player_collects_refilled_hearts_on_navigation():
    scripted = mean_return("mettagrid/navigation", "scripted")
    assert scripted > 4 * max(mean_return("mettagrid/navigation", "random"), 0.5)
    # Eight altars hand out one heart each at the start; more means altars refilled and were revisited.
    assert scripted * 4 > 8


def test_shortest_path_player_walks_the_labyrinth_to_the_altar():
    assert mean_return("mettagrid/navigation/evals/labyrinth", "scripted", episodes=1) >= 1.0


def test_scripted_player_chains_mine_generator_altar():
    assert mean_return("mettagrid/object_use", "scripted", episodes=1) >= 1.0  # at least one heart


def test_every_scripted_policy_sends_valid_actions():
    config = compose_env_config("mettagrid/arena/combat")
    env = MettaGridVecEnv(config, num_envs=1, seed=0)
    observations = env.reset()
    for name, make in SCRIPTED_POLICIES.items():
        actions = make(env, seed=1).act(observations)
        max_args = np.asarray(env.action_max_args)
        assert actions.shape == (env.total_agents, 2)
        assert ((actions[:, 1] >= 0) & (actions[:, 1] <= max_args[actions[:, 0]])).all(), name


@pytest.mark.parametrize("name", [n for n in list_env_names() if n.startswith("mettagrid/navigation/evals/")])
def test_every_navigation_eval_map_has_a_reachable_altar(name):
    """A map whose altars are walled in would score every policy 0 and measure nothing."""
    assert mean_return(name, "scripted", episodes=1) >= 1.0


def test_arena_chain_is_read_back_from_the_heart():
    from mettagrid.scripted_arena import chain_buildings

    config = compose_env_config("mettagrid/arena/basic_easy_shaped")
    env = MettaGridVecEnv(config, num_envs=1, seed=0)
    actor = SCRIPTED_POLICIES["arena"](env, seed=0)
    assert actor.chain == {"altar": {"heart"}, "generator_red": {"battery_red"}, "mine_red": {"ore_red"}}
    assert chain_buildings(actor.recipes, env.item_names, goal="no_such_item") == {}


def test_arena_player_gains_hearts_on_basic_easy_shaped_and_beats_random():
    config = compose_env_config("mettagrid/arena/basic_easy_shaped").model_copy(update={"desync_episodes": False})
    gained = {}
    for name in ("arena", "random"):
        env = MettaGridVecEnv(config, num_envs=1, seed=3)
        actor = SCRIPTED_POLICIES[name](env, seed=0)
        observations = env.reset()
        for _ in range(250):  # a quarter of an episode: mines refill every 50 steps
            observations, *_ = env.step(actor.act(observations))
        gained[name] = sum(stats.get("heart.gained", 0.0) for stats in env.agent_stats(0))
    assert gained["arena"] >= 3 and gained["arena"] > gained["random"]
