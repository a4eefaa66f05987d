"""Gymnasium adapter for single-agent MettaGrid games, and the episode runner it shares with
the PettingZoo adapter.

Gymnasium and PettingZoo return the last observation of a finished episode and nothing new
until `reset()`. The core does exactly that when built with `auto_reset=False`
(docs/mettagrid.md, section 4): the step that ends an episode leaves its final observation,
rewards and dones in the buffers, and the env waits for the next reset.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from mettagrid.config import EnvConfig
from mettagrid.vec_env import MettaGridVecEnv


def resolve_config(config: EnvConfig | str, overrides: list[str] | tuple[str, ...] = ()) -> EnvConfig:
    """Accept either a validated EnvConfig or an env name such as `mettagrid/navigation`."""
    if isinstance(config, EnvConfig):
        if overrides:
            raise ValueError("overrides apply to env names only; pass them to compose_env_config instead")
        return config
    from mettagrid.env_configs import compose_env_config

    return compose_env_config(config, overrides)


class EpisodeRunner:
    """One env of the core, without auto-reset: the episode boundaries Gymnasium and PettingZoo
    expect. `step` refuses to run once the episode is over, until `reset`."""

    def __init__(self, config: EnvConfig, seed: int = 0):
        # A single env has nothing to desync from: every episode gets the game's full length.
        self.config = config.model_copy(update={"desync_episodes": False})
        self.vec = MettaGridVecEnv(self.config, num_envs=1, seed=seed, auto_reset=False)
        self.num_agents = self.vec.num_agents
        self.feature_names = self.vec.feature_names
        self.steps = 0
        self.episode_over = True  # stepping needs a reset first
        self.result: dict[str, Any] | None = None  # the core's result of the finished episode

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start an episode; a given seed restarts the env's whole seed stream (episode 0)."""
        observations = self.vec.reset(seed)
        self.steps = 0
        self.episode_over = False
        self.result = None
        return observations

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        """Step with (agents, 2) actions; returns (observations, rewards, terminated, truncated)
        as views of the buffers; the observations of the final step are the episode's last."""
        if self.episode_over:
            raise RuntimeError("the episode is over (or never started): call reset() before step()")
        observations, rewards, terminals, truncations = self.vec.step(actions)
        self.steps += 1
        terminated = bool(terminals.any())
        truncated = bool(truncations.any())
        if terminated or truncated:
            self.episode_over = True
            (self.result,) = self.vec.episode_results()
        return observations, rewards, terminated, truncated

    def episode_summary(self) -> dict[str, Any]:
        """Length, per-agent returns and per-agent stats of the finished episode."""
        if self.result is None:
            raise RuntimeError("no episode has finished since the last reset()")
        return {
            "episode_length": self.result["steps"],
            "episode_rewards": [float(r) for r in self.result["episode_rewards"]],
            "agent_stats": [dict(stats) for stats in self.result["agent_stats"]],
        }

    def close(self) -> None:
        self.vec.close()


class MettaGridGymEnv(gymnasium.Env):
    """A single-agent MettaGrid game as a Gymnasium env.

    Observations are (tokens, 3) uint8 token arrays; actions are (action id, arg) pairs. The
    episode's final observation is returned by the step that ends it; call reset() after.
    `info` is empty except on that step, where it holds the episode's length, return and stats.
    """

    metadata = {"render_modes": []}

    def __init__(self, config: EnvConfig | str, overrides: list[str] | tuple[str, ...] = (), seed: int = 0):
        config = resolve_config(config, overrides)
        if config.game.num_agents != 1:
            raise ValueError(
                f"MettaGridGymEnv is for single-agent games, but game.num_agents is "
                f"{config.game.num_agents}; use MettaGridParallelEnv (PettingZoo) for multi-agent games"
            )
        self.config = config
        self._seed = seed
        self._runner = EpisodeRunner(config, seed=seed)
        self.observation_space = self._runner.vec.observation_space
        self.action_space = self._runner.vec.action_space
        self.action_names = self._runner.vec.action_names
        self.feature_names = self._runner.feature_names

    def __reduce__(self):
        """Pickled as its config and seed (the core env is not picklable): a new env, not reset."""
        return type(self), (self.config, (), self._seed)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)  # seeds self.np_random, which the checker expects
        observations = self._runner.reset(seed)
        return observations[0].copy(), {}

    def step(self, action):
        # Passed as given: the core's copy refuses values int32 cannot hold instead of wrapping them.
        observations, rewards, terminated, truncated = self._runner.step(action)
        info: dict[str, Any] = {}
        if terminated or truncated:
            summary = self._runner.episode_summary()
            info = {
                "episode_length": summary["episode_length"],
                "episode_return": summary["episode_rewards"][0],
                "agent_stats": summary["agent_stats"][0],
            }
        return observations[0].copy(), float(rewards[0]), terminated, truncated, info

    def close(self) -> None:
        self._runner.close()
