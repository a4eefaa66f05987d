"""Gymnasium adapter for single-agent MettaGrid games, and the episode runner it shares with
the PettingZoo adapter.

The core resets an env inside the step that ends its episode, so by the time `step()` returns
the observation buffer already shows the next episode. Gymnasium and PettingZoo want the last
observation of the finished episode instead, and nothing new until `reset()`. `EpisodeRunner`
gets that without any help from the core: it builds the core with a step limit one higher than
the game's, so the core never reaches its limit, and ends the episode itself at the game's
limit. The only observation that depends on the limit is the `episode_completion_pct` global
token (always token 0, docs/mettagrid.md section 6); the runner rewrites it with the game's
limit, using the core's formula, so observations match a core built with the real limit.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from mettagrid.config import EnvConfig
from mettagrid.vec_env import ACTION_DTYPE, MettaGridVecEnv

COMPLETION_FEATURE = "episode_completion_pct"


def resolve_config(config: EnvConfig | str, overrides: list[str] | tuple[str, ...] = ()) -> EnvConfig:
    """Accept either a validated EnvConfig or an env name such as `mettagrid/navigation`."""
    if isinstance(config, EnvConfig):
        if overrides:
            raise ValueError("overrides apply to env names only; pass them to compose_env_config instead")
        return config
    from mettagrid.env_configs import compose_env_config

    return compose_env_config(config, overrides)


def episode_completion(step: int, max_steps: int) -> int:
    """The value of the `episode_completion_pct` token, as the core computes it."""
    return min(255, 255 * step // max_steps) if max_steps > 0 else 0


class EpisodeRunner:
    """One env of the core, run with Gymnasium/PettingZoo episode boundaries (see module doc)."""

    def __init__(self, config: EnvConfig, seed: int = 0):
        game = config.game
        self.max_steps = game.max_steps
        self.terminate_at_max_steps = game.episode_end == "terminate"
        # One step of headroom so the core never auto-resets; desync off because a random
        # first-episode length would end episodes the runner does not know about.
        core_game = game.model_copy(update={"max_steps": self.max_steps + 1 if self.max_steps else 0})
        self.core_config = config.model_copy(update={"game": core_game, "desync_episodes": False})
        self.vec = MettaGridVecEnv(self.core_config, num_envs=1, seed=seed)
        self.num_agents = self.vec.num_agents
        self.feature_names = self.vec.feature_names
        self._completion_id = self.feature_names.index(COMPLETION_FEATURE)
        self._seed = seed
        self._fresh = True  # the core was built with `_seed` and never reset
        self.steps = 0
        self.episode_over = True  # stepping needs a reset first

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start an episode; a given seed restarts the env's whole seed stream (episode 0)."""
        if seed is not None and not (self._fresh and seed == self._seed):
            # MettaGridVecEnv.reset keeps its core when the seed is unchanged, which would
            # continue the stream; a seeded reset must be reproducible, so build a new core.
            self.vec = MettaGridVecEnv(self.core_config, num_envs=1, seed=seed, buffers=self.vec.buffers)
            self._seed = seed
        self._fresh = False
        observations = self.vec.reset()
        self.steps = 0
        self.episode_over = False
        self._fix_completion(observations)
        return observations

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        """Step with (agents, 2) actions; returns (observations, rewards, terminated, truncated)
        as views of the buffers; the observations of the final step are the episode's last."""
        if self.episode_over:
            raise RuntimeError("the episode is over (or never started): call reset() before step()")
        observations, rewards, terminals, truncations = self.vec.step(actions)
        self.steps += 1
        self._fix_completion(observations)
        at_limit = self.max_steps > 0 and self.steps >= self.max_steps
        terminated = bool(terminals.any()) or (at_limit and self.terminate_at_max_steps)
        truncated = bool(truncations.any()) or (at_limit and not self.terminate_at_max_steps)
        self.episode_over = terminated or truncated
        return observations, rewards, terminated, truncated

    def episode_summary(self) -> dict[str, Any]:
        """Totals of the episode so far (read from the core before anything resets it)."""
        return {
            "episode_length": self.steps,
            "episode_rewards": self.vec.episode_rewards(0).astype(float).tolist(),
            "agent_stats": [dict(stats) for stats in self.vec.agent_stats(0)],
        }

    def close(self) -> None:
        self.vec.close()

    def _fix_completion(self, observations: np.ndarray) -> None:
        first = observations[:, 0]
        is_completion = first[:, 1] == self._completion_id
        first[is_completion, 2] = episode_completion(self.steps, self.max_steps)


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
        self._runner = EpisodeRunner(config, seed=seed)
        self.observation_space = self._runner.vec.observation_space
        self.action_space = self._runner.vec.action_space
        self.action_names = self._runner.vec.action_names
        self.feature_names = self._runner.feature_names

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)  # seeds self.np_random, which the checker expects
        observations = self._runner.reset(seed)
        return observations[0].copy(), {}

    def step(self, action):
        actions = np.asarray(action, dtype=ACTION_DTYPE).reshape(1, 2)
        observations, rewards, terminated, truncated = self._runner.step(actions)
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
