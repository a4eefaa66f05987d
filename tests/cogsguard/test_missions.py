"""Missions load, build mirrored maps, and step; the map builder's layout rules hold."""

import numpy as np
import pytest

from mettagrid.cogsguard.missions import list_missions, load_mission
from mettagrid.errors import ConfigError
from mettagrid.map_builder import build_map
from mettagrid.vec_env import MettaGridVecEnv


@pytest.mark.parametrize("mission", list_missions())
def test_every_mission_loads_and_steps(mission):
    config = load_mission(mission, max_steps=30, desync_episodes=False)
    env = MettaGridVecEnv(config, num_envs=2, seed=1)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(30):
        env.step(env.valid_random_actions(rng))
    results = env.episode_results()
    assert len(results) == 2 and all(r["steps"] == 30 for r in results)
    assert "aligned" in env.feature_names and {"align", "scramble"} <= set(env.action_names)


def test_unknown_mission_names_the_known_ones():
    with pytest.raises(ConfigError, match="cogsguard_arena.basic"):
        load_mission("cogsguard_arena.nope")


def test_team_sizes_can_be_changed():
    config = load_mission("cogsguard_arena.small", cogs=5, clips=2)
    assert config.game.num_agents == 7
    grid = build_map(config.game.map_builder, seed=3)
    assert (grid == "agent.cogs").sum() == 5 and (grid == "agent.clips").sum() == 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_basic_map_is_a_mirror_image_with_teams_swapped(seed):
    grid = build_map(load_mission("cogsguard_arena.basic").game.map_builder, seed=seed)
    swapped = np.char.replace(np.char.replace(grid, ".cogs", ".@"), ".clips", ".cogs")
    swapped = np.char.replace(swapped, ".@", ".clips")
    assert (grid[:, ::-1] == swapped).all()
    for team in ("cogs", "clips"):
        assert (grid == f"hub.{team}").sum() == 1 and (grid == f"charger.{team}").sum() == 1
        for role in ("miner", "scout", "aligner", "scrambler"):
            assert (grid == f"{role}_station.{team}").sum() == 1
    assert build_map(load_mission("cogsguard_arena.basic").game.map_builder, seed=seed).tolist() == grid.tolist()


def test_no_clips_mission_has_an_empty_clips_base():
    grid = build_map(load_mission("cogsguard_arena.no_clips").game.map_builder, seed=0)
    assert (grid == "agent.clips").sum() == 0 and (grid == "hub.clips").sum() == 1
