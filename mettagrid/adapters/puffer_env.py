"""A native PufferLib env: a vector of MettaGrid envs writing straight into PufferLib's buffers.

`pufferlib.PufferEnv.__init__` allocates (or, given `buf`, adopts) the observation, action,
reward, terminal and truncation arrays; they are handed to the C++ core as they are, so a
step copies nothing. PufferLib's dtypes already match the core's (uint8 observations, int32
actions for a MultiDiscrete space, float32 rewards, bool dones); an array that does not (a
hand-made `buf`) is replaced by a private one and copied across each step instead.

Native PufferEnvs reset finished episodes themselves, which is what the core does: on the step
an episode ends, dones are set and the observation already belongs to the next episode.
Finished episodes come back in `infos`, one flat dict per episode.

This module imports without pufferlib; using the class then raises ImportError.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from mettagrid.config import EnvConfig, compile_params
from mettagrid.vec_env import ACTION_DTYPE, DONE_DTYPE, OBS_DTYPE, REWARD_DTYPE, EnvBuffers, MettaGridVecEnv

try:
    import pufferlib

    _PufferEnv = pufferlib.PufferEnv
    _PUFFERLIB_ERROR: ImportError | None = None
except ImportError as error:  # the rest of MettaGrid works without pufferlib
    _PUFFERLIB_ERROR = error

    class _PufferEnv:  # stands in so the class below can be defined
        pass


def _require_pufferlib() -> None:
    if _PUFFERLIB_ERROR is not None:
        raise ImportError(
            "MettaGridPufferEnv needs pufferlib (pip install pufferlib-core)"
        ) from _PUFFERLIB_ERROR


def spaces_for(config: EnvConfig) -> tuple[spaces.Box, spaces.MultiDiscrete]:
    """Per-agent observation and action spaces, from the config alone (PufferLib needs them
    before the core exists, to allocate the buffers)."""
    game = config.game
    max_args = [action["max_arg"] for action in compile_params(config)["actions"]]
    observation_space = spaces.Box(0, 255, shape=(game.num_observation_tokens, 3), dtype=OBS_DTYPE)
    # int64 (the default) so that PufferLib's first-step check accepts the int64 actions torch
    # samples; the action buffer itself is int32 either way (PufferLib picks it).
    action_space = spaces.MultiDiscrete([len(max_args), max(max_args) + 1])
    return observation_space, action_space


def episode_info(result: dict[str, Any]) -> dict[str, float]:
    """One finished episode as a flat dict of floats: mean return and length, the mean of each
    agent stat over the agents (absent = 0), and the building and game stats."""
    agent_stats = result["agent_stats"]
    info = {
        "episode_return": float(np.mean(result["episode_rewards"])),
        "episode_length": float(result["steps"]),
    }
    totals: dict[str, float] = {}
    for stats in agent_stats:
        for name, value in stats.items():
            totals[name] = totals.get(name, 0.0) + value
    for name in sorted(totals):
        info[f"agent/{name}"] = totals[name] / len(agent_stats)
    for prefix in ("building", "game"):
        for name, value in sorted(result[f"{prefix}_stats"].items()):
            info[f"{prefix}/{name}"] = float(value)
    return info


def _fits(array: np.ndarray, dtype: type, shape: tuple[int, ...]) -> bool:
    return array.dtype == dtype and array.shape == shape and array.flags.c_contiguous and array.flags.writeable


class MettaGridPufferEnv(_PufferEnv):
    """`num_envs` MettaGrid envs as one native PufferEnv with `num_envs * agents` agents."""

    def __init__(
        self,
        config: EnvConfig,
        num_envs: int = 1,
        buf: dict[str, np.ndarray] | None = None,
        seed: int | None = 0,
        num_threads: int = 1,
    ):
        _require_pufferlib()
        self.config = config
        self.single_observation_space, self.single_action_space = spaces_for(config)
        self.num_agents = num_envs * config.game.num_agents
        super().__init__(buf)  # sets self.observations, self.actions, ... (PufferLib's arrays)

        total, tokens = self.num_agents, config.game.num_observation_tokens
        wanted = {
            "observations": (OBS_DTYPE, (total, tokens, 3)),
            "actions": (ACTION_DTYPE, (total, 2)),
            "rewards": (REWARD_DTYPE, (total,)),
            "terminals": (DONE_DTYPE, (total,)),
            "truncations": (DONE_DTYPE, (total,)),
        }
        core_arrays = {}
        self._mirrored: list[str] = []  # outputs copied from a private array after each call
        for name, (dtype, shape) in wanted.items():
            array = getattr(self, name)
            if not _fits(array, dtype, shape):
                array = np.zeros(shape, dtype=dtype)
                if name != "actions":  # actions are copied in by MettaGridVecEnv.step
                    self._mirrored.append(name)
            core_arrays[name] = array
        self._buffers = EnvBuffers(**core_arrays)
        self._seed = 0 if seed is None else seed
        self._num_envs = num_envs
        self._num_threads = num_threads
        self._vec = self._make_vec(self._seed)
        self._fresh = True  # built with `_seed` and never reset

    def _make_vec(self, seed: int) -> MettaGridVecEnv:
        return MettaGridVecEnv(
            self.config, num_envs=self._num_envs, seed=seed, num_threads=self._num_threads, buffers=self._buffers
        )

    # What a policy or a checkpoint needs to know about the game.
    @property
    def action_names(self) -> list[str]:
        return self._vec.action_names

    @property
    def feature_names(self) -> list[str]:
        return self._vec.feature_names

    @property
    def vec_env(self) -> MettaGridVecEnv:
        return self._vec

    def reset(self, seed: int | None = None):
        if seed is not None and not (self._fresh and seed == self._seed):
            # A seeded reset restarts the seed stream even for the same seed (MettaGridVecEnv
            # keeps its core, and so continues the stream, when the seed is unchanged).
            self._vec = self._make_vec(seed)
            self._seed = seed
        self._fresh = False
        self._vec.reset()
        self._mirror()
        return self.observations, []

    def step(self, actions: np.ndarray):
        if actions is self._buffers.actions or _same_array(actions, self._buffers.actions):
            actions = None  # PufferLib wrote the actions into the core's buffer already
        self._vec.step(actions)
        self._mirror()
        infos = [episode_info(result) for result in self._vec.episode_results()]
        return self.observations, self.rewards, self.terminals, self.truncations, infos

    def close(self) -> None:
        self._vec.close()

    def _mirror(self) -> None:
        for name in self._mirrored:
            np.copyto(getattr(self, name), getattr(self._buffers, name), casting="unsafe")


def _same_array(a: Any, b: np.ndarray) -> bool:
    """True when `a` is a view of exactly `b`'s memory (PufferLib's Serial passes slices)."""
    return (
        isinstance(a, np.ndarray)
        and a.dtype == b.dtype
        and a.shape == b.shape
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.strides == b.strides
    )


def make_puffer_env(
    env_name: str,
    overrides: list[str] | tuple[str, ...] = (),
    num_envs: int = 1,
    buf: dict[str, np.ndarray] | None = None,
    seed: int | None = 0,
) -> MettaGridPufferEnv:
    """Creator for `pufferlib.vector.make`: compose `configs/env/<env_name>.yaml` and build the env.

    `pufferlib.vector.make(functools.partial(make_puffer_env, "mettagrid/arena/basic"),
    num_envs=8, backend=pufferlib.vector.Multiprocessing, num_workers=4)`
    """
    _require_pufferlib()
    from mettagrid.env_configs import compose_env_config

    return MettaGridPufferEnv(compose_env_config(env_name, overrides), num_envs=num_envs, buf=buf, seed=seed)
