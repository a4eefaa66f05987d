"""Which finished-episode stats the trainer logs, and under which names: per-agent means as
env_agent/*, and a team's game stats (CoGsGuard's junction holding) as env_collective/<team>/*."""

import numpy as np

from metta.rl.trainer import episode_stat_names
from metta.rl.training_env import TrainingEnv
from mettagrid.cogsguard.missions import load_mission


def finished_episode_infos(policy_steps: int = 40) -> list[dict[str, float]]:
    config = load_mission("cogsguard_arena.small", max_steps=policy_steps, desync_episodes=False)
    env = TrainingEnv(config, num_envs=2, num_workers=1, seed=0)
    rng = np.random.default_rng(0)
    infos: list[dict[str, float]] = []
    try:
        env.reset()
        while not infos:
            _, _, _, infos = env.step(env.vec.valid_random_actions(rng))
    finally:
        env.close()
    return infos


def test_team_game_stats_are_logged_per_team_and_agent_stats_per_agent():
    infos = finished_episode_infos()
    names = episode_stat_names(infos)
    # Each team holds its own charger from the first step: one charger-step per step.
    assert names["game/cogs/aligned.charger.held"] == "env_collective/cogs/aligned.charger.held"
    assert names["game/clips/aligned.charger.held"] == "env_collective/clips/aligned.charger.held"
    assert infos[0]["game/cogs/aligned.charger.held"] == 40
    assert all(name.startswith("env_agent/") for key, name in names.items() if key.startswith("agent/"))
    # Game stats that are not a team's (object counts, tokens written) are not logged.
    assert "game/objects.wall" in infos[0] and "game/objects.wall" not in names
    assert not any(key.startswith(("building/", "episode_")) for key in names)
