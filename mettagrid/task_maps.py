"""Per-env tasks for `MettaGridVecEnv`: which task each env plays, and its next map built ahead.

At each episode boundary of env e the task source (a curriculum) names e's next task; that
task's map is built on a worker thread (WFC, mazes and random maps are Python) while the core
keeps stepping, and queued into the core with the task's compiled game once ready. The core
starts e's following episode on whatever is queued then, so a reset never waits: if a build
is still running at that moment, e replays its current task once (counted in `stale`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from mettagrid.cells import encode_map
from mettagrid.config import EnvConfig, compile_params
from mettagrid.map_builder import AsciiMapConfig, make_map_builder

# Compiled games kept at once (one per task in flight, not one per task of the curriculum).
GAME_CACHE = 256


class TaskSource(Protocol):
    def next_task(self) -> int: ...

    def config(self, task_id: int) -> EnvConfig: ...


class TaskMaps:
    def __init__(self, tasks: TaskSource, num_envs: int, core_module, prebuild: bool, auto_reset: bool = True):
        self.tasks = tasks
        self.core_module = core_module
        self.auto_reset = auto_reset
        self.running: list[int | None] = [None] * num_envs  # task of the episode in progress
        self.queued: list[int | None] = [None] * num_envs  # task of the map the core holds next
        self.pending: dict[int, Future] = {}
        self.stale = 0
        self._games: OrderedDict[int, tuple[Any, Any, np.ndarray | None, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="map-prebuild") if prebuild else None
        self._core = None
        self._seed = 0

    def _game(self, task_id: int):
        """(map builder, compiled Params, the encoded map when fixed, game config) of a task."""
        with self._lock:
            if task_id in self._games:
                self._games.move_to_end(task_id)
                return self._games[task_id]
        config = self.tasks.config(task_id)
        game = config.game
        builder = make_map_builder(game.map_builder)
        static = encode_map(builder.build(0), game) if isinstance(game.map_builder, AsciiMapConfig) else None
        params = self.core_module.Params({**compile_params(config), "auto_reset": self.auto_reset})
        entry = (builder, params, static, game)
        with self._lock:
            self._games[task_id] = entry
            while len(self._games) > GAME_CACHE:
                self._games.popitem(last=False)
        return entry

    def _build(self, task_id: int, env_index: int, episode: int):
        from mettagrid.vec_env import map_seed

        builder, params, static, game = self._game(task_id)
        grid = static if static is not None else encode_map(builder.build(map_seed(self._seed, env_index, episode)), game)
        return task_id, grid, params

    def start(self, core, seed: int) -> None:
        """Queue a first task and map in every env of a fresh core (built here: nothing runs yet)."""
        for future in self.pending.values():
            future.cancel()
        self.pending.clear()
        self._core, self._seed = core, seed
        for env_index in range(len(self.running)):
            task_id, grid, params = self._build(self.tasks.next_task(), env_index, 0)
            core.set_map(env_index, grid, params)
            self.queued[env_index] = task_id
            self.running[env_index] = None

    def episode_started(self, env_index: int, next_episode: int) -> None:
        """The core began env `env_index`'s episode on its queued map: draw the task after it."""
        self.running[env_index] = self.queued[env_index]
        if env_index in self.pending:  # the map drawn last time is still being built
            self.stale += 1
            return
        task_id = self.tasks.next_task()
        if self._pool is None:
            _, grid, params = self._build(task_id, env_index, next_episode)
            self._core.set_map(env_index, grid, params)
            self.queued[env_index] = task_id
        else:
            self.pending[env_index] = self._pool.submit(self._build, task_id, env_index, next_episode)

    def apply_ready(self, core) -> None:
        """Queue the maps built since the last step (a failed build raises here, in the caller)."""
        if not self.pending:
            return
        for env_index, future in list(self.pending.items()):
            if future.done():
                del self.pending[env_index]
                task_id, grid, params = future.result()
                core.set_map(env_index, grid, params)
                self.queued[env_index] = task_id

    def wait(self) -> None:
        """Queue every map still being built (tests; a caller wanting no stale episode)."""
        for future in list(self.pending.values()):
            future.result()
        self.apply_ready(self._core)

    def finished(self, env_index: int) -> int | None:
        return self.running[env_index]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
