"""Replays: recorded episodes read back frame for frame, stay compact, and survive bad input."""

from __future__ import annotations

import copy
import zlib

import numpy as np
import pytest

from metta.sim.replay import write_replay
from mettagrid.env_configs import compose_env_config
from mettagrid.replay import (
    ReplayFormatError,
    ReplayRecorder,
    compress_replay,
    frame_at,
    load_replay,
    value_at,
)
from mettagrid.scripted_policies import SCRIPTED_POLICIES
from mettagrid.vec_env import MettaGridVecEnv


def make_env(name: str, overrides: list[str], num_envs: int = 1, auto_reset: bool = False) -> MettaGridVecEnv:
    config = compose_env_config(name, overrides).model_copy(update={"desync_episodes": False})
    return MettaGridVecEnv(config, num_envs=num_envs, seed=3, auto_reset=auto_reset)


def record(env: MettaGridVecEnv, policy: str, on_step=None) -> ReplayRecorder:
    recorder = ReplayRecorder(env, env_indices=[0])
    play_recorded(env, SCRIPTED_POLICIES[policy](env, seed=1), recorder, on_step)
    return recorder


def play_recorded(env: MettaGridVecEnv, actor, recorder: ReplayRecorder, on_step=None) -> None:
    """Reset and play env 0's episode to its end with `actor`, recording every frame;
    `on_step()` runs after each frame is recorded (the reset's too)."""
    observations = env.reset()
    recorder.after_step()
    if on_step:
        on_step()
    while recorder.recording(0):
        observations, *_ = env.step(actor.act(observations))
        recorder.after_step()
        if on_step:
            on_step()


def apply_live_changes(streamed: dict, step: int, changes) -> None:
    """One step of what play.py streams, applied as the viewer does to the replay it holds."""
    for obj, name, value in changes:
        entry = streamed["grid_objects"][obj]
        current = entry.get(name)
        if isinstance(current, list):
            current.append([step, value])
        else:
            entry[name] = [[0, current], [step, value]]
    streamed["max_steps"] = step


def inventory_by_name(pairs, item_names):
    return {item_names[item]: count for item, count in pairs}


def test_every_frame_matches_the_core_objects_view():
    """The replay is built from `replay_frame`; the truth here is the core's separate
    `grid_objects` view, taken after every step."""
    env = make_env("mettagrid/arena/combat", ["game.max_steps=150"])
    truth = []
    recorder = record(env, "random", on_step=lambda: truth.append((env.grid_objects(0), env.episode_rewards(0).copy())))
    replay = load_replay(compress_replay(recorder.replay(0)))
    assert replay["max_steps"] == 150 and len(truth) == 151
    items = replay["item_names"]
    for step, (objects, totals) in enumerate(truth):
        frame = frame_at(replay, step)
        assert len(frame) == len(objects)
        for expected, got in zip(objects, frame):
            assert (got["row"], got["col"]) == (expected["row"], expected["col"]), (step, expected)
            assert replay["object_types"][got["type"]] == expected["type_name"]
            if expected["kind"] == "agent":
                assert got["orientation"] == expected["orientation"]
                assert got["frozen"] == expected["frozen"]
                assert got["color"] == expected["color"]
                assert inventory_by_name(got["inventory"], items) == expected["inventory"]
                assert got["total_reward"] == pytest.approx(totals[expected["agent_id"]], abs=1e-4)
            elif expected["kind"] == "converter":
                assert inventory_by_name(got["inventory"], items) == expected["output"]
                assert inventory_by_name(got["input"], items) == expected["input"]
                assert bool(got["converting"]) == expected["converting"]
                assert bool(got["cooling_down"]) == expected["cooling_down"]


def test_actions_and_their_success_are_recorded_per_step():
    env = make_env("mettagrid/arena/basic", ["game.max_steps=60"])
    taken, succeeded = [], []

    def remember():
        if env.current_step(0) > 0:
            taken.append(env.buffers.actions[: env.num_agents].copy())
            stats = env.agent_stats(0)
            succeeded.append([sum(v for k, v in s.items() if k.endswith(".success")) for s in stats])

    recorder = record(env, "random", on_step=remember)
    replay = recorder.replay(0)
    names = replay["action_names"]
    for step, actions in enumerate(taken, start=1):
        for agent in range(env.num_agents):
            recorded = value_at(replay["grid_objects"][agent]["action"], step)
            assert recorded == [int(actions[agent, 0]), int(actions[agent, 1])]
    # success flags add up to the core's per-agent success counters
    for agent in range(env.num_agents):
        flags = [value_at(replay["grid_objects"][agent]["action_success"], t) for t in range(1, len(taken) + 1)]
        assert sum(flags) == succeeded[-1][agent]
    assert names[0] == "noop" and "move" in names
    assert "stats" in replay["grid_objects"][0]


def test_a_thousand_step_arena_episode_with_24_agents_is_well_under_a_megabyte():
    env = make_env("mettagrid/arena/basic", ["game.max_steps=1000"])
    assert env.num_agents == 24
    data = compress_replay(record(env, "random").replay(0))
    assert len(data) < 400_000, len(data)
    assert load_replay(data)["max_steps"] == 1000


def test_live_changes_rebuild_the_same_replay():
    """What play.py streams (per-step changes) applied to the first frame gives the full replay."""
    env = make_env("mettagrid/arena/combat", ["game.max_steps=40"])
    streamed: dict | None = None

    def apply_step():
        nonlocal streamed
        if streamed is None:
            streamed = copy.deepcopy(recorder.replay(0))
            return
        apply_live_changes(streamed, *recorder.last_step_changes(0))

    recorder = ReplayRecorder(env, env_indices=[0])
    play_recorded(env, SCRIPTED_POLICIES["random"](env, seed=2), recorder, on_step=apply_step)
    full = recorder.replay(0)
    assert streamed["max_steps"] == full["max_steps"] == 40
    for step in range(41):
        ours = frame_at(streamed, step)
        theirs = frame_at(full, step)
        for a, b in zip(ours, theirs):
            b = {k: v for k, v in b.items() if k != "stats"}
            a = {k: v for k, v in a.items() if k != "stats"}
            assert a == b, step


def test_with_auto_reset_the_recording_stops_at_the_episode_end():
    env = make_env("mettagrid/navigation", ["game.max_steps=25"], num_envs=2, auto_reset=True)
    recorder = ReplayRecorder(env)
    actor = SCRIPTED_POLICIES["random"](env, seed=0)
    observations = env.reset()
    recorder.after_step()
    for _ in range(60):
        observations, *_ = env.step(actor.act(observations))
        recorder.after_step()
    assert not recorder.recording(0) and not recorder.recording(1)
    # The core resets inside the final step, so the last frame kept is the one before it.
    assert recorder.replay(1)["max_steps"] == 24


def test_only_the_named_envs_are_recorded():
    env = make_env("mettagrid/navigation", ["game.max_steps=5"], num_envs=3)
    recorder = ReplayRecorder(env, env_indices=[2])
    env.reset()
    recorder.after_step()
    with pytest.raises(ValueError, match="env 0: nothing recorded"):
        recorder.replay(0)
    assert recorder.replay(2)["max_steps"] == 0


def test_bad_files_are_refused_in_one_line(tmp_path):
    path = tmp_path / "broken.json.z"
    path.write_bytes(b"\x00\x01not zlib")
    with pytest.raises(ReplayFormatError, match=r"broken\.json\.z: not a replay file"):
        load_replay(path)
    old = tmp_path / "old.json.z"
    old.write_bytes(zlib.compress(b'{"version": 99}'))
    with pytest.raises(ReplayFormatError, match="replay version 99 is not supported"):
        load_replay(old)


def test_replays_write_atomically_to_files_and_s3(tmp_path, s3_endpoint):
    import boto3

    env = make_env("mettagrid/navigation", ["game.max_steps=10"])
    recorder = record(env, "simple")
    local = write_replay(recorder.replay(0), tmp_path / "a" / "ep.json.z")
    assert load_replay(local)["max_steps"] == 10
    assert not [p for p in (tmp_path / "a").iterdir() if p.name != "ep.json.z"]  # no temp file left
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="replays-test")
    uri = write_replay(recorder.replay(0), "s3://replays-test/run/ep.json.z")
    assert uri == "s3://replays-test/run/ep.json.z"
    body = s3.get_object(Bucket="replays-test", Key="run/ep.json.z")["Body"].read()
    assert load_replay(body)["grid_objects"][0]["agent_id"] == 0


def test_recording_is_deterministic_per_seed():
    first = compress_replay({**record(make_env("mettagrid/arena/basic", ["game.max_steps=30"]), "random").replay(0), "created_at": ""})
    second = compress_replay({**record(make_env("mettagrid/arena/basic", ["game.max_steps=30"]), "random").replay(0), "created_at": ""})
    assert first == second
    assert np.frombuffer(first, dtype=np.uint8).size > 0
