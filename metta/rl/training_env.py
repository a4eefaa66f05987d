"""Where rollouts come from: all agents of many envs behind one `step(actions)`.

Two engines, one interface:
* `threads` (default): one `MettaGridVecEnv`; the C++ core steps its envs on a thread pool
  with the GIL released and writes into shared numpy buffers. No copies, no processes.
* `multiprocessing`: PufferLib's `Multiprocessing` vector over worker processes, each holding
  a `MettaGridPufferEnv`. Useful when something besides the core (e.g. Python map building on
  every reset) would hold the GIL; `devops/bench/env_sps.py` shows which is faster.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mettagrid.adapters.puffer_env import episode_info
from mettagrid.config import EnvConfig
from mettagrid.vec_env import MettaGridVecEnv


class TrainingEnv:
    """`num_envs` envs of one config, flattened to `num_agents` rows (env-major)."""

    def __init__(self, env_config: EnvConfig, num_envs: int, num_workers: int, seed: int,
                 vectorization: str = "threads", curriculum=None, prebuild_maps: bool = True):
        """With a `curriculum` (metta/rl/curriculum), each env switches task at its episode
        boundaries and every finished episode is reported back to the curriculum."""
        self.env_config = env_config
        self.num_envs = num_envs
        self.agents_per_env = env_config.game.num_agents
        self.num_agents = num_envs * self.agents_per_env
        self.vectorization = vectorization
        # One in-process vector always exists: it describes the env (feature table, actions)
        # and, with threads, it is the engine too.
        local_envs = num_envs if vectorization == "threads" else 1
        if curriculum is not None and vectorization != "threads":
            raise ValueError("trainer.curriculum: needs trainer.vectorization=threads (tasks switch inside the "
                             "C++ vector)")
        self.curriculum = curriculum
        self.vec = MettaGridVecEnv(env_config, num_envs=local_envs, seed=seed,
                                   num_threads=min(num_workers, local_envs), tasks=curriculum,
                                   prebuild_maps=prebuild_maps)
        self._puffer = None
        if vectorization == "multiprocessing":
            self._puffer = _make_puffer_vector(env_config, num_envs, num_workers, seed)
        elif vectorization != "threads":
            raise ValueError(f"trainer.vectorization: unknown engine {vectorization!r}")
        self._seed = seed

    def reset(self) -> np.ndarray:
        if self._puffer is None:
            return self.vec.reset()
        self._puffer.async_reset(self._seed)
        observations, *_ = self._puffer.recv()
        return observations

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """Step all agents; returns (observations, rewards, dones, finished-episode infos)."""
        if self._puffer is None:
            observations, rewards, terminals, truncations = self.vec.step(actions)
            results = self.vec.episode_results()
            infos = [episode_info(result) for result in results]
            if self.curriculum is not None:
                for result, info in zip(results, infos, strict=True):
                    self.curriculum.complete(result["task_id"], info["episode_return"])
        else:
            self._puffer.send(actions)
            # recv() -> (obs, rewards, terminals, truncations, <extras>..., infos, agent_ids, masks);
            # pufferlib-core 3.x inserts teacher actions before infos, so read infos from the end.
            received = self._puffer.recv()
            observations, rewards, terminals, truncations = received[:4]
            infos = [info for info in (received[-3] or []) if isinstance(info, dict)]
        return observations, rewards, terminals | truncations, infos

    def close(self) -> None:
        if self._puffer is not None:
            self._puffer.close()
        self.vec.close()


def _make_puffer_vector(env_config: EnvConfig, num_envs: int, num_workers: int, seed: int):
    import pufferlib.vector

    from mettagrid.adapters.puffer_env import MettaGridPufferEnv

    if num_envs % num_workers:
        raise ValueError(
            f"trainer.num_envs ({num_envs}) must be a multiple of trainer.num_workers ({num_workers}) "
            "with vectorization=multiprocessing"
        )

    def creator(buf=None, seed=0):
        return MettaGridPufferEnv(env_config, num_envs=1, buf=buf, seed=seed)

    return pufferlib.vector.make(
        creator, num_envs=num_envs, num_workers=num_workers, backend=pufferlib.vector.Multiprocessing, seed=seed
    )
