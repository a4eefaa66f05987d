"""Replays of games with team-owned buildings (CoGsGuard) record each building's owner.

The truth is the core's `object_teams` (owner group id, -1 when neutral), read after every step
of a `cogsguard_arena.small` episode played by the scripted `role` teams; the replay's `team`
field (0 = neutral) must match it frame by frame, and junctions must change hands.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mettagrid.replay import ReplayRecorder, compress_replay, frame_at, load_replay
from tests.mettagrid.test_replay import apply_live_changes, play_recorded

STEPS = 150  # by then both teams have aligned (and scrambled) junctions with seed 0


def cogsguard_env(steps: int = STEPS):
    from mettagrid.cogsguard.missions import load_mission
    from mettagrid.vec_env import MettaGridVecEnv

    config = load_mission("cogsguard_arena.small", max_steps=steps).model_copy(update={"desync_episodes": False})
    return MettaGridVecEnv(config, num_envs=1, seed=0, auto_reset=False)


def play(env, recorder: ReplayRecorder, on_step=None) -> None:
    from mettagrid.cogsguard.policies import COGSGUARD_POLICIES

    factory, _ = COGSGUARD_POLICIES["role"]
    play_recorded(env, factory(env, seed=0), recorder, on_step)


@pytest.fixture(scope="module")
def episode():
    env = cogsguard_env()
    truth: list[np.ndarray] = []
    recorder = ReplayRecorder(env, env_indices=[0])
    play(env, recorder, on_step=lambda: truth.append(env.object_teams(0).copy()))
    replay = load_replay(compress_replay(recorder.replay(0)))
    return env, replay, truth


def test_every_frame_records_the_cores_building_owners(episode):
    env, replay, truth = episode
    assert replay["max_steps"] == STEPS and len(truth) == STEPS + 1
    num_agents = replay["num_agents"]
    team_types = {obj.type_id for obj in env.game.objects.values() if obj.has_team}
    objects = replay["grid_objects"][num_agents:]
    assert len(objects) == len(truth[0])
    teamed = [i for i, obj in enumerate(objects) if obj["type"] in team_types]
    assert teamed and all(("team" in obj) == (i in teamed) for i, obj in enumerate(objects))
    for step, teams in enumerate(truth):
        frame = frame_at(replay, step)[num_agents:]
        for i in teamed:
            assert frame[i]["team"] == max(int(teams[i]), 0), (step, i)
    # ... and the core's own object view agrees on the owner's name
    names = {g["id"]: g["name"] for g in replay["groups"]}
    last = frame_at(replay, STEPS)[num_agents:]
    for expected, got in zip(env.grid_objects(0)[num_agents:], last):
        if "team" in expected:
            assert got["team"] == max(expected["team"], 0)
            assert names.get(got["team"], "") == expected["team_name"]


def test_junctions_change_hands_over_the_episode(episode):
    _, replay, _ = episode
    types = replay["object_types"]
    groups = {g["name"]: g["id"] for g in replay["groups"]}
    assert groups == {"cogs": 1, "clips": 2}
    junctions = [o for o in replay["grid_objects"] if types[o["type"]] == "junction"]
    assert junctions
    owners_seen = set()
    for junction in junctions:
        team = junction["team"]
        changes = team if isinstance(team, list) else [[0, team]]
        assert changes[0] == [0, 0]  # junctions start neutral
        owners_seen.update(value for _, value in changes)
    assert {0, groups["cogs"], groups["clips"]} <= owners_seen
    assert any(isinstance(j["team"], list) and len(j["team"]) > 2 for j in junctions)  # aligned, then scrambled
    # Hubs belong to their team for the whole episode: a constant.
    hubs = [o for o in replay["grid_objects"] if types[o["type"]] == "hub"]
    assert sorted(h["team"] for h in hubs) == [groups["cogs"], groups["clips"]]


def test_live_changes_carry_owner_changes():
    """What play.py streams (per-step changes) rebuilds the same `team` fields."""
    env = cogsguard_env(90)
    recorder = ReplayRecorder(env, env_indices=[0])
    streamed = None
    team_changes = 0

    def apply_step():
        nonlocal streamed, team_changes
        if streamed is None:
            streamed = copy.deepcopy(recorder.replay(0))
            return
        step, changes = recorder.last_step_changes(0)
        team_changes += sum(name == "team" for _, name, _ in changes)
        apply_live_changes(streamed, step, changes)

    play(env, recorder, on_step=apply_step)
    full = recorder.replay(0)
    assert team_changes > 0
    for step in range(full["max_steps"] + 1):
        ours = [o.get("team") for o in frame_at(streamed, step)]
        theirs = [o.get("team") for o in frame_at(full, step)]
        assert ours == theirs, step


def test_games_without_teams_have_no_team_field():
    from tests.mettagrid.test_replay import make_env, record

    replay = record(make_env("mettagrid/arena/basic", ["game.max_steps=5"]), "random").replay(0)
    assert not any("team" in obj for obj in replay["grid_objects"])


def test_map_images_draw_owned_buildings_in_the_owners_group_colour(episode):
    """`render_replay_frame_image` gives a building its owner's border (the group colour of the
    owner's agents) and tint, as the viewer does; neutral buildings look as before."""
    from mettagrid.renderer.image import group_color, load_sprite_rules, render_replay_frame_image

    _, replay, _ = episode
    types = replay["object_types"]
    cell = 48
    for step in range(replay["max_steps"] + 1):
        junctions = [o for o in frame_at(replay, step) if types[o["type"]] == "junction"
                     and not o["converting"] and not o["cooling_down"]]
        owned = [j for j in junctions if j["team"]]
        neutral = [j for j in junctions if not j["team"]]
        if owned and neutral:
            break
    else:
        raise AssertionError("no step with an idle owned junction next to an idle neutral one")
    image = render_replay_frame_image(replay, step, cell)

    def pixel(obj, x, y):
        return list(image.getpixel((obj["col"] * cell + int(x * cell), obj["row"] * cell + int(y * cell))))

    def rgb(color):
        return [int(color[i:i + 2], 16) for i in (1, 3, 5)]

    owner = owned[0]
    assert pixel(owner, 0.09, 0.5) == rgb(group_color(owner["team"]))  # the team border
    assert pixel(neutral[0], 0.09, 0.5) != rgb(group_color(owner["team"]))
    assert pixel(owner, 0.22, 0.5) != pixel(neutral[0], 0.22, 0.5)  # the tinted body
    # the tint is the sprite rules' alpha blend of the owner's colour over the body
    tint = load_sprite_rules()["team"][0]
    alpha = round(tint["alpha"] * 255) / 255
    body, team = np.array(pixel(neutral[0], 0.22, 0.5)), np.array(rgb(group_color(owner["team"])))
    assert np.abs(np.array(pixel(owner, 0.22, 0.5)) - (body * (1 - alpha) + team * alpha)).max() <= 1
    # Without the field (older replays) the same junction is drawn neutral.
    old = {**replay, "grid_objects": [{k: v for k, v in o.items() if k != "team"} for o in replay["grid_objects"]]}
    plain = render_replay_frame_image(old, step, cell)
    x, y = owner["col"] * cell + int(0.22 * cell), owner["row"] * cell + int(0.5 * cell)
    assert list(plain.getpixel((x, y))) == pixel(neutral[0], 0.22, 0.5)
