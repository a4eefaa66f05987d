"""PettingZoo parallel adapter: every agent of one MettaGrid env acts each step.

All agents share one episode (the game has no per-agent deaths: frozen agents stay in the
game), so they all finish on the same step; `agents` is then empty until `reset()`. The final
observations are the episode's own (see `EpisodeRunner` in gym_env.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pettingzoo import ParallelEnv

from mettagrid import _core
from mettagrid.adapters.gym_env import EpisodeRunner, resolve_config
from mettagrid.config import EnvConfig
from mettagrid.vec_env import ACTION_DTYPE


class MettaGridParallelEnv(ParallelEnv):
    """A MettaGrid game as a PettingZoo ParallelEnv with agents `agent_0..agent_{n-1}`.

    An agent left out of the actions dict does `noop` (or action 0 if noop is disabled).
    `infos` are empty except on the final step, where each agent's holds its episode return
    and stats. Every agent has the same spaces, so SuperSuit's `pettingzoo_env_to_vec_env_v1`
    and `concat_vec_envs_v1` take it as it is; `render_mode` is None (nothing to render).
    """

    metadata = {"name": "mettagrid_v0", "render_modes": [], "is_parallelizable": True}
    render_mode = None  # no PettingZoo render modes; wrappers (SuperSuit) read the attribute

    def __init__(self, config: EnvConfig | str, overrides: list[str] | tuple[str, ...] = (), seed: int = 0):
        self.config = resolve_config(config, overrides)
        self._seed = seed
        self._runner = EpisodeRunner(self.config, seed=seed)
        vec = self._runner.vec
        self.possible_agents = [f"agent_{index}" for index in range(vec.num_agents)]
        self.agents: list[str] = []
        self.action_names = vec.action_names
        self.feature_names = self._runner.feature_names
        # One space object per agent, created once: PettingZoo requires the same object on
        # every call (action-space seeding relies on it).
        self._observation_spaces = {agent: vec.observation_space for agent in self.possible_agents}
        self._action_spaces = {agent: vec.action_space for agent in self.possible_agents}
        self._default_action = [self.action_names.index("noop") if "noop" in self.action_names else 0, 0]
        self._actions = np.zeros((vec.num_agents, 2), dtype=ACTION_DTYPE)

    def __reduce__(self):
        """Pickled as its config and seed (the core env is not picklable): the copy is a new env,
        not reset, as vectorizers that copy an env into workers (SuperSuit) expect."""
        return type(self), (self.config, (), self._seed)

    def observation_space(self, agent: str):
        return self._observation_spaces[agent]

    def action_space(self, agent: str):
        return self._action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        observations = self._runner.reset(seed)
        self.agents = list(self.possible_agents)
        obs = {agent: observations[index].copy() for index, agent in enumerate(self.possible_agents)}
        return obs, {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, Any]):
        if not self.agents:
            raise RuntimeError("no agents are live (the episode is over or never started): call reset()")
        self._actions[:] = self._default_action
        for index, agent in enumerate(self.possible_agents):
            if agent in actions:
                # Checked copy: a value int32 cannot hold is refused, never wrapped.
                try:
                    _core.copy_actions(actions[agent], self._actions[index])
                except ValueError as error:
                    raise ValueError(f"{agent}: {error}") from None
        observations, rewards, terminated, truncated = self._runner.step(self._actions)

        agents = self.possible_agents
        obs = {agent: observations[index].copy() for index, agent in enumerate(agents)}
        reward = {agent: float(rewards[index]) for index, agent in enumerate(agents)}
        terminations = {agent: terminated for agent in agents}
        truncations = {agent: truncated for agent in agents}
        infos: dict[str, dict[str, Any]] = {agent: {} for agent in agents}
        if terminated or truncated:
            summary = self._runner.episode_summary()
            for index, agent in enumerate(agents):
                infos[agent] = {
                    "episode_length": summary["episode_length"],
                    "episode_return": summary["episode_rewards"][index],
                    "agent_stats": summary["agent_stats"][index],
                }
            self.agents = []
        return obs, reward, terminations, truncations, infos

    def close(self) -> None:
        self._runner.close()
