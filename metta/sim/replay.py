"""Replays from the library's side: one recorded episode of a policy, written where asked.

The recorder and the file format live in `mettagrid.replay` (docs/replays.md). The suite
runner uses `ReplayRecorder` directly; tools and the trainer call `record_episode` to play
one episode of one env and `write_replay` to store it in a directory or under s3://.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from metta.common.uri import join_destination, write_output
from mettagrid.config import EnvConfig
from mettagrid.replay import REPLAY_SUFFIX, ReplayRecorder, compress_replay
from mettagrid.vec_env import MettaGridVecEnv

__all__ = ["REPLAY_SUFFIX", "ReplayRecorder", "record_episode", "replay_destination", "write_replay"]


def record_episode(
    env_config: EnvConfig,
    make_actor: Callable[[MettaGridVecEnv], Any],
    *,
    seed: int = 0,
    max_time_s: float | None = None,
    metadata: dict[str, Any] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Play one episode of one env with the actor `make_actor(env)` returns; its replay.

    The env runs without auto-reset, so the final frame is kept. With `max_time_s` the
    episode is cut short when the time is spent (the replay then ends early).
    """
    config = env_config.model_copy(update={"desync_episodes": False})
    env = MettaGridVecEnv(config, num_envs=1, seed=seed, auto_reset=False)
    try:
        actor = make_actor(env)
        observe_dones = getattr(actor, "observe_dones", None)
        recorder = ReplayRecorder(env, metadata=metadata)
        observations = env.reset()
        recorder.after_step()
        deadline = time.monotonic() + max_time_s if max_time_s else None
        while recorder.recording(0):
            if deadline is not None and time.monotonic() > deadline:
                break
            observations, _, terminals, truncations = env.step(actor.act(observations))
            if observe_dones:
                observe_dones(terminals, truncations)
            recorder.after_step()
            if on_step:
                on_step(env.current_step(0))
        return recorder.replay(0)
    finally:
        env.close()


def replay_destination(replay_dir: str | Path, name: str) -> str:
    """`<replay_dir>/<name>.json.z` for a directory or an s3:// prefix."""
    return join_destination(str(replay_dir), name if name.endswith(REPLAY_SUFFIX) else name + REPLAY_SUFFIX)


def write_replay(replay: dict[str, Any], destination: str | Path, key: str = "replay_dir") -> str:
    """Store a replay document (compressed) at a local path or s3:// URI; returns where it went.
    Local writes are atomic; a failure is a one-line ConfigError naming `key`."""
    return write_output(str(destination), compress_replay(replay), key, "application/x-compress")
