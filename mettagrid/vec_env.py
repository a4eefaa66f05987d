"""The Python face of the C++ core: a vector of same-config envs stepping into shared buffers.

`MettaGridVecEnv` owns (or borrows) five numpy buffers, hands them to C++ once, and from
then on `step()` is one call into C++ with the GIL released: observations, rewards,
terminals and truncations are written in place for every agent of every env. By default
(`auto_reset=True`) finished envs reset inside that call; with `auto_reset=False` a finished
env keeps its final step in the buffers and sits out later steps until `reset_env(i)` (or
`reset()`). Episode results are collected here either way, and a fresh map is queued for an
env's next episode when the map builder is random.

Agents are flattened env-major: agent `a` of env `e` is row `e * num_agents + a`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mettagrid.cells import encode_map
from mettagrid.config import EnvConfig, compile_params
from mettagrid.map_builder import AsciiMapConfig, make_map_builder
from mettagrid.task_maps import TaskMaps, TaskSource

# Dtypes across the Python boundary (docs/mettagrid.md).
OBS_DTYPE = np.uint8
ACTION_DTYPE = np.int32
REWARD_DTYPE = np.float32
DONE_DTYPE = np.bool_


@dataclass
class EnvBuffers:
    """The arrays C++ reads actions from and writes everything else into."""

    observations: np.ndarray  # (agents, tokens, 3) uint8
    actions: np.ndarray  # (agents, 2) int32: action id, arg
    rewards: np.ndarray  # (agents,) float32
    terminals: np.ndarray  # (agents,) bool
    truncations: np.ndarray  # (agents,) bool

    @classmethod
    def allocate(cls, num_agents: int, num_tokens: int) -> EnvBuffers:
        return cls(
            observations=np.full((num_agents, num_tokens, 3), 0xFF, dtype=OBS_DTYPE),
            actions=np.zeros((num_agents, 2), dtype=ACTION_DTYPE),
            rewards=np.zeros(num_agents, dtype=REWARD_DTYPE),
            terminals=np.zeros(num_agents, dtype=DONE_DTYPE),
            truncations=np.zeros(num_agents, dtype=DONE_DTYPE),
        )


def map_seed(seed: int, env_index: int, episode: int) -> int:
    """The seed of the map of one env's episode: independent streams per (seed, env, episode)."""
    return int(np.random.SeedSequence([seed, env_index, episode]).generate_state(1)[0])


class MettaGridVecEnv:
    """`num_envs` instances of one game, stepped together by the C++ core."""

    def __init__(
        self,
        config: EnvConfig,
        num_envs: int = 1,
        seed: int = 0,
        num_threads: int = 1,
        buffers: EnvBuffers | None = None,
        auto_reset: bool = True,
        tasks: TaskSource | None = None,
        prebuild_maps: bool = True,
    ):
        """With `tasks` (a curriculum), each env draws its next episode's task at every episode
        boundary: its map (built ahead on a worker thread unless `prebuild_maps=False`) and its
        game params (rewards, objects, max_steps...) switch together at the env's next reset.
        `config` is then the layout every task shares (the first task's config)."""
        from mettagrid import _core

        if num_envs < 1:
            raise ValueError(f"num_envs must be at least 1 (got {num_envs})")
        if num_threads < 1:
            raise ValueError(f"num_threads must be at least 1 (got {num_threads})")
        self.config = config
        self.game = config.game
        self.num_envs = num_envs
        self.num_threads = num_threads
        self.num_agents = self.game.num_agents
        self.total_agents = num_envs * self.num_agents
        self.auto_reset = bool(auto_reset)
        # Not part of the YAML config: how the loop is driven, not what the game is.
        self.params = {**compile_params(config), "auto_reset": self.auto_reset}
        self._core_module = _core
        self._builder = make_map_builder(self.game.map_builder)
        # A fixed ASCII map is the same every episode: encode it once.
        self._static_map = isinstance(self.game.map_builder, AsciiMapConfig)
        self._episodes_started = [0] * num_envs
        self._finished: list[dict[str, Any]] = []
        self.buffers = buffers or EnvBuffers.allocate(self.total_agents, self.game.num_observation_tokens)
        self._seed = seed
        self._tasks = TaskMaps(tasks, num_envs, _core, prebuild_maps, self.auto_reset) if tasks is not None else None
        self._core = self._make_core(seed)

    # -- construction ---------------------------------------------------------------------------

    def _make_core(self, seed: int):
        core = self._core_module.VecEnv(self.params, self.num_envs, seed, self.num_threads)
        self._seed = seed
        self._episodes_started = [0] * self.num_envs
        if self._tasks is not None:
            self._tasks.start(core, seed)
        else:
            static = self._encoded_map(0) if self._static_map else None
            for env_index in range(self.num_envs):
                core.set_map(env_index, static if static is not None else self._encoded_map(env_index))
        b = self.buffers
        core.set_buffers(b.observations, b.actions, b.rewards, b.terminals, b.truncations)
        return core

    def _encoded_map(self, env_index: int) -> np.ndarray:
        episode = self._episodes_started[env_index]
        grid = self._builder.build(map_seed(self._seed, env_index, episode))
        return encode_map(grid, self.game)

    def _queue_next_map(self, env_index: int) -> None:
        """Give a random-map env a new map for its next episode (the core reuses the last one).

        Called each time the core has started an episode with the map queued before, so the
        env's k-th episode always gets the map of `map_seed(seed, env, k)`."""
        self._episodes_started[env_index] += 1
        if self._tasks is not None:
            self._tasks.episode_started(env_index, self._episodes_started[env_index])
        elif not self._static_map:
            self._core.set_map(env_index, self._encoded_map(env_index))

    # -- the loop -------------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset every env; returns the observations.

        With a `seed` the core is rebuilt, so the same seed always replays the same episodes
        (Gymnasium's reset contract); without one, envs go on to their next episode.
        """
        if seed is not None:
            self._core = self._make_core(seed)
        self._core.reset()
        self._finished.clear()
        for env_index in range(self.num_envs):
            self._queue_next_map(env_index)
        return self.buffers.observations

    def step(self, actions: np.ndarray | None = None):
        """Step every env once. `actions` (agents, 2) is copied into the action buffer unless it
        already is that buffer. Returns (observations, rewards, terminals, truncations) views.

        Any integer or float dtype (or a list) is accepted, but a value int32 cannot hold exactly
        (2**32 + 2, 0.5, NaN) is a ValueError: a cast would wrap it into a valid action. In-range
        ids and args the game does not have fail as actions (docs/mettagrid.md, section 3)."""
        if actions is not None and actions is not self.buffers.actions:
            self._core_module.copy_actions(actions, self.buffers.actions)
        self._core.step()
        results = self._core.episode_results()
        if results:
            if self._tasks is not None:
                for result in results:
                    result["task_id"] = self._tasks.finished(result["env_index"])
            if self.auto_reset:  # the core has started these envs' next episodes
                for result in results:
                    self._queue_next_map(result["env_index"])
            self._finished.extend(results)
        if self._tasks is not None:
            self._tasks.apply_ready(self._core)
        b = self.buffers
        return b.observations, b.rewards, b.terminals, b.truncations

    def reset_env(self, env_index: int) -> np.ndarray:
        """Start the next episode of one env (the others are untouched); returns a view of its
        observation rows. Meant for `auto_reset=False`, where a finished env waits for this
        call; an episode still in progress is abandoned without a result."""
        if not 0 <= env_index < self.num_envs:
            raise IndexError(f"env_index {env_index} out of range [0, {self.num_envs})")
        self._core.reset_env(env_index)
        self._queue_next_map(env_index)
        a0 = env_index * self.num_agents
        return self.buffers.observations[a0 : a0 + self.num_agents]

    def episode_over(self, env_index: int = 0) -> bool:
        """True while a finished env waits for `reset_env` (only with `auto_reset=False`)."""
        return bool(self._core.episode_over(env_index))

    def episode_results(self) -> list[dict[str, Any]]:
        """Results of the episodes finished since the last call (docs/mettagrid.md, section 10)."""
        finished, self._finished = self._finished, []
        return finished

    def close(self) -> None:
        if self._tasks is not None:
            self._tasks.close()
        self._core = None

    def task_of(self, env_index: int) -> int | None:
        """The task id of the episode env `env_index` is playing (None without tasks)."""
        return None if self._tasks is None else self._tasks.running[env_index]

    # -- what a policy needs to know ------------------------------------------------------------

    @property
    def action_names(self) -> list[str]:
        return list(self._core.action_names)

    @property
    def action_max_args(self) -> list[int]:
        return list(self._core.action_max_args)

    @property
    def feature_names(self) -> list[str]:
        return list(self._core.feature_names)

    @property
    def feature_ids(self) -> dict[str, int]:
        return {name: index for index, name in enumerate(self._core.feature_names)}

    @property
    def item_names(self) -> list[str]:
        return list(self._core.item_names)

    @property
    def object_type_names(self) -> list[str]:
        return list(self._core.object_type_names)

    @property
    def observation_space(self):
        """Per-agent observation space (gymnasium Box of tokens)."""
        from gymnasium import spaces

        return spaces.Box(0, 255, shape=(self.game.num_observation_tokens, 3), dtype=OBS_DTYPE)

    @property
    def action_space(self):
        """Per-agent action space: (action id, arg) with the widest arg range of any action."""
        from gymnasium import spaces

        return spaces.MultiDiscrete([len(self.action_names), max(self.action_max_args) + 1], dtype=ACTION_DTYPE)

    # -- inspection (tests, renderers, replays; not for the hot path) ---------------------------

    def grid_objects(self, env_index: int = 0) -> list[dict[str, Any]]:
        return self._core.grid_objects(env_index)

    def replay_frame(self, env_index: int = 0) -> np.ndarray:
        """(agents + objects, columns) int32: one row per thing, columns named by replay_columns()."""
        return self._core.replay_frame(env_index)

    def object_teams(self, env_index: int = 0) -> np.ndarray:
        """(objects,) int32: each object's owning group id, -1 when neutral (games with teams)."""
        return self._core.object_teams(env_index)

    def agent_positions(self, env_index: int = 0) -> np.ndarray:
        return self._core.agent_positions(env_index)

    def agent_inventory(self, env_index: int = 0) -> np.ndarray:
        return self._core.agent_inventory(env_index)

    def agent_stats(self, env_index: int = 0) -> list[dict[str, float]]:
        return self._core.agent_stats(env_index)

    def building_stats(self, env_index: int = 0) -> dict[str, float]:
        return self._core.building_stats(env_index)

    def game_stats(self, env_index: int = 0) -> dict[str, float]:
        return self._core.game_stats(env_index)

    def episode_rewards(self, env_index: int = 0) -> np.ndarray:
        return self._core.episode_rewards(env_index)

    def current_step(self, env_index: int = 0) -> int:
        return self._core.current_step(env_index)

    def map_size(self) -> tuple[int, int]:
        """(height, width) of the maps (every map of one config has the same size)."""
        return int(self._core.height), int(self._core.width)

    def valid_random_actions(self, rng: np.random.Generator) -> np.ndarray:
        """Uniformly random (action, arg) pairs with arg within each action's range."""
        max_args = np.asarray(self.action_max_args)
        actions = rng.integers(0, len(max_args), size=self.total_agents)
        args = (rng.random(self.total_agents) * (max_args[actions] + 1)).astype(np.int64)
        return np.stack([actions, args], axis=1).astype(ACTION_DTYPE)
