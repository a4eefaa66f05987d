"""Episode replays: record a MettaGridVecEnv step by step, store each episode compactly, read it back.

A replay is one JSON document, zlib-compressed on disk (`*.json.z`); docs/replays.md is the
format's contract. In short: a header (version, action/item/object-type names, map size,
agent count, the last recorded step) and `grid_objects`, one entry per object (agents
first, then walls, blocks and buildings in the core's object order). In an entry every
field is either a number or string, constant for the whole episode, or a JSON array of
`[step, value]` changes sorted by step, the first at step 0: the field holds `value` from
`step` until the next change. Fields whose values are themselves arrays (`inventory`,
`input`, `action`) are always change lists, so "array" always means "change list".

Frames are step 0 (after the reset) to `max_steps` (after the last recorded step).

Recording diffs whole frames with numpy: the core hands over one int32 row per object
(`replay_frame`), so a step costs a compare of two small arrays, not a walk over dicts. In
games with team-owned buildings (`alignable` or `team_only` types) the recorder appends one
more column, `team`, from the core's `object_teams` (the owner's group id, 0 = neutral); it
becomes the `team` field of those buildings.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPLAY_VERSION = 1
REPLAY_SUFFIX = ".json.z"

# Number fields taken straight from the core's frame columns, per kind of object; a kind
# leaves out the columns that mean nothing for it. Walls and blocks keep their position
# (blocks can be swapped around).
SCALAR_FIELDS = {
    "agent": ("row", "col", "orientation", "frozen", "color", "glyph", "action_success"),
    "converter": ("row", "col", "color", "converting", "cooling_down", "conversions_started"),
    "plain": ("row", "col"),
}
SCALAR_FIELDS["teamed"] = (*SCALAR_FIELDS["converter"], "team")  # buildings a team may own
TEAM_COLUMN = "team"  # appended to the core's frame columns in games with teams
REWARD_DECIMALS = 5


@dataclass
class _EpisodeTrack:
    """The frames of one env's episode, kept as the first frame plus per-step diffs."""

    first_step: int
    first: np.ndarray  # (objects, columns) int32
    first_rewards: np.ndarray  # (agents, 2) float32: step reward, episode reward
    previous: np.ndarray
    previous_rewards: np.ndarray
    last_step: int
    changes: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    reward_changes: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    closed: bool = False
    agent_stats: list[dict[str, float]] | None = None

    def add(self, step: int, frame: np.ndarray, rewards: np.ndarray) -> None:
        rows, cols = np.nonzero(frame != self.previous)
        if rows.size:
            self.changes.append((step, rows, cols, frame[rows, cols]))
        reward_rows, reward_cols = np.nonzero(rewards != self.previous_rewards)
        if reward_rows.size:
            self.reward_changes.append((step, reward_rows, reward_cols, rewards[reward_rows, reward_cols]))
        self.previous, self.previous_rewards, self.last_step = frame, rewards, step


class FrameLayout:
    """Which frame columns make which replay field, for each kind of object."""

    def __init__(self, env: Any, columns: list[str]):
        self.column = {name: i for i, name in enumerate(columns)}
        self.type_col = self.column["type"]
        self.num_agents = env.num_agents
        self.converter_types = {obj.type_id for obj in env.game.objects.values() if obj.kind == "converter"}
        # Types whose buildings carry a `team` field (only when the frames have the column).
        self.team_types = (
            {obj.type_id for obj in env.game.objects.values() if obj.has_team} if TEAM_COLUMN in self.column else set()
        )
        inventory = [self.column[f"inventory:{item}"] for item in env.item_names]
        inputs = [self.column[f"input:{item}"] for item in env.item_names]
        action = [self.column["action"], self.column["action_arg"]]
        self._grouped = {
            "agent": {"action": action, "inventory": inventory},
            "converter": {"inventory": inventory, "input": inputs},
            "teamed": {"inventory": inventory, "input": inputs},
            "plain": {},
        }
        self.builders = {
            "action": lambda current: [current[action[0]], current[action[1]]],
            "inventory": lambda current: [[i, current[c]] for i, c in enumerate(inventory) if current[c]],
            "input": lambda current: [[i, current[c]] for i, c in enumerate(inputs) if current[c]],
        }
        # column -> (field, grouped?) per kind, for turning one step's diffs into field changes
        self.field_of_column: dict[str, dict[int, tuple[str, bool]]] = {}
        for kind in ("agent", "converter", "teamed", "plain"):
            table = {self.column[name]: (name, False) for name in SCALAR_FIELDS[kind] if name in self.column}
            for name, cols in self._grouped[kind].items():
                table.update({c: (name, True) for c in cols})
            self.field_of_column[kind] = table

    def kind_of(self, obj: int, type_id: int) -> str:
        if obj < self.num_agents:
            return "agent"
        if type_id in self.team_types:
            return "teamed"
        return "converter" if type_id in self.converter_types else "plain"

    def grouped_fields(self, kind: str) -> dict[str, list[int]]:
        return self._grouped[kind]


class ReplayRecorder:
    """Records one episode per env of a vector env (by default every env).

    Call `after_step()` after `reset()` and after every `step()`. An env's recording ends
    with its episode: when the core reports the episode over (envs made with
    `auto_reset=False` keep their final frame), or, with auto-reset, when the step counter
    goes back (the final frame is then already gone). `replay(i)` builds env i's document;
    `finish(i, path)` writes it.
    """

    def __init__(self, env: Any, env_indices: list[int] | None = None, metadata: dict[str, Any] | None = None):
        self.env = env
        self.columns: list[str] = list(env._core.replay_columns())
        # Games with team-owned buildings get one more column: each object's owner (0 = none).
        self._teams = any(obj.has_team for obj in env.game.objects.values())
        if self._teams:
            self.columns.append(TEAM_COLUMN)
        self.metadata = dict(metadata or {})
        self._indices = list(range(env.num_envs)) if env_indices is None else list(env_indices)
        self._tracks: dict[int, _EpisodeTrack] = {}
        self._layout: FrameLayout | None = None

    def after_step(self) -> None:
        core = self.env._core
        for index in self._indices:
            track = self._tracks.get(index)
            if track is not None and track.closed:
                continue
            step = int(core.current_step(index))
            if track is not None and step <= track.last_step:
                track.closed = True  # auto-reset started the next episode
                continue
            frame, rewards = self._frame(index), core.replay_rewards(index)
            if track is None:
                self._tracks[index] = _EpisodeTrack(step, frame, rewards, frame, rewards, step)
            else:
                track.add(step, frame, rewards)
            if core.episode_over(index):
                self._close(index)

    def _frame(self, index: int) -> np.ndarray:
        """The core's replay frame of env `index`, plus the `team` column in games with teams."""
        core = self.env._core
        frame = core.replay_frame(index)
        if not self._teams:
            return frame
        out = np.zeros((frame.shape[0], frame.shape[1] + 1), dtype=frame.dtype)
        out[:, :-1] = frame
        teams = core.object_teams(index)  # objects only (agents come first in a frame); -1 = neutral
        out[frame.shape[0] - teams.shape[0]:, -1] = np.maximum(teams, 0)
        return out

    def _close(self, index: int) -> None:
        track = self._tracks[index]
        track.closed = True
        track.agent_stats = self.env.agent_stats(index)

    def recording(self, env_index: int) -> bool:
        """True while env `env_index`'s episode is still being recorded."""
        track = self._tracks.get(env_index)
        return track is None or not track.closed

    def last_step_changes(self, env_index: int = 0) -> tuple[int, list[list[Any]]]:
        """The most recent recorded step of env `env_index` and its changes as
        `[object id, field, new value]` (what a live viewer appends to its replay)."""
        track = self._tracks[env_index]
        step = track.last_step - track.first_step
        if self._layout is None:
            self._layout = FrameLayout(self.env, self.columns)
        layout, frame, out = self._layout, track.previous, []
        if track.changes and track.changes[-1][0] == track.last_step:
            _, rows, cols, _ = track.changes[-1]
            seen: set[tuple[int, str]] = set()
            for obj, col in zip(rows.tolist(), cols.tolist()):
                kind = layout.kind_of(obj, int(frame[obj, layout.type_col]))
                name, grouped = layout.field_of_column[kind].get(col, (None, False))
                if name is None or (obj, name) in seen:
                    continue
                seen.add((obj, name))
                if grouped:
                    current = {c: int(frame[obj, c]) for c in layout.grouped_fields(kind)[name]}
                    out.append([obj, name, layout.builders[name](current)])
                else:
                    out.append([obj, name, int(frame[obj, col])])
        if track.reward_changes and track.reward_changes[-1][0] == track.last_step:
            _, rows, cols, values = track.reward_changes[-1]
            for agent, col, value in zip(rows.tolist(), cols.tolist(), values.tolist()):
                out.append([agent, ("reward", "total_reward")[col], round(value, REWARD_DECIMALS)])
        return step, out

    def replay(self, env_index: int = 0) -> dict[str, Any]:
        track = self._tracks.get(env_index)
        if track is None:
            raise ValueError(f"env {env_index}: nothing recorded (call after_step() after reset())")
        if track.agent_stats is None and not track.closed:
            track.agent_stats = self.env.agent_stats(env_index)
        return encode_replay(self.env, self.columns, track, self.metadata)


# ---------------------------------------------------------------------------------------------
# encoding


def replay_header(env: Any, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    height, width = env.map_size()
    game = env.game
    names, kinds = object_type_table(game)
    return {
        "version": REPLAY_VERSION,
        "action_names": list(env.action_names),
        "item_names": list(env.item_names),
        "object_types": names,
        "object_kinds": kinds,
        "groups": [{"id": g.id, "name": name} for name, g in game.groups.items()],
        "map_size": [width, height],
        "num_agents": env.num_agents,
        "step_limit": game.max_steps,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **({"metadata": metadata} if metadata else {}),
    }


def object_type_table(game: Any) -> tuple[list[str | None], list[str | None]]:
    """Type names and kinds indexed by type id (0 = agent; ids no object uses are null)."""
    size = max([0, *(obj.type_id for obj in game.objects.values())]) + 1
    names: list[str | None] = [None] * size
    kinds: list[str | None] = [None] * size
    names[0], kinds[0] = "agent", "agent"
    for name, obj in game.objects.items():
        names[obj.type_id], kinds[obj.type_id] = name, obj.kind
    return names, kinds


def encode_replay(env: Any, columns: list[str], track: _EpisodeTrack, metadata: dict[str, Any]) -> dict[str, Any]:
    layout = FrameLayout(env, columns)
    column = layout.column
    num_objects = track.first.shape[0]
    base = track.first_step

    # Per (object, column): the steps and values where it changed, in step order.
    changed: dict[tuple[int, int], list[list[int]]] = {}
    for step, rows, cols, values in track.changes:
        for row, col, value in zip(rows.tolist(), cols.tolist(), values.tolist()):
            changed.setdefault((row, col), []).append([step - base, value])
    reward_changed: dict[tuple[int, int], list[list[Any]]] = {}
    for step, rows, cols, values in track.reward_changes:
        for row, col, value in zip(rows.tolist(), cols.tolist(), values.tolist()):
            reward_changed.setdefault((row, col), []).append([step - base, round(value, REWARD_DECIMALS)])

    def scalar(obj: int, name: str) -> Any:
        col = column[name]
        start = int(track.first[obj, col])
        later = changed.get((obj, col))
        return [[0, start], *later] if later else start

    def grouped(obj: int, cols: list[int], build) -> list[list[Any]]:
        """A change list of a value built from several columns (inventory, action)."""
        steps = sorted({s for c in cols for s, _ in changed.get((obj, c), [])})
        current = {c: int(track.first[obj, c]) for c in cols}
        out = [[0, build(current)]]
        pending = {c: iter(changed.get((obj, c), [])) for c in cols}
        heads = {c: next(pending[c], None) for c in cols}
        for step in steps:
            for c in cols:
                while heads[c] is not None and heads[c][0] == step:
                    current[c] = heads[c][1]
                    heads[c] = next(pending[c], None)
            out.append([step, build(current)])
        return out

    objects = []
    for obj in range(num_objects):
        kind = layout.kind_of(obj, int(track.first[obj, layout.type_col]))
        entry: dict[str, Any] = {"id": obj, "type": int(track.first[obj, layout.type_col])}
        if kind == "agent":
            entry["agent_id"] = obj
            entry["group"] = int(track.first[obj, column["group"]])
        for name in SCALAR_FIELDS[kind]:
            entry[name] = scalar(obj, name)
        for name, cols in layout.grouped_fields(kind).items():
            entry[name] = grouped(obj, cols, layout.builders[name])
        if kind == "agent":
            entry["reward"] = _reward_field(track, reward_changed, obj, 0)
            entry["total_reward"] = _reward_field(track, reward_changed, obj, 1)
            if track.agent_stats is not None:
                entry["stats"] = {k: round(v, REWARD_DECIMALS) for k, v in track.agent_stats[obj].items()}
        objects.append(entry)

    header = replay_header(env, metadata)
    header["max_steps"] = track.last_step - base
    return {**header, "grid_objects": objects}


def _reward_field(track: _EpisodeTrack, reward_changed, agent: int, col: int) -> Any:
    start = round(float(track.first_rewards[agent, col]), REWARD_DECIMALS)
    later = reward_changed.get((agent, col))
    return [[0, start], *later] if later else start


def compress_replay(replay: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(replay, separators=(",", ":")).encode(), level=9)


# ---------------------------------------------------------------------------------------------
# decoding


class ReplayFormatError(ValueError):
    pass


def load_replay(source: str | Path | bytes) -> dict[str, Any]:
    """A replay document from a `*.json.z` (or plain `*.json`) file or its bytes."""
    name = "<bytes>"
    if not isinstance(source, bytes):
        name = str(source)
        source = Path(source).read_bytes()
    try:
        raw = zlib.decompress(source) if source[:1] != b"{" else source
        replay = json.loads(raw)
    except (zlib.error, ValueError) as error:
        raise ReplayFormatError(f"{name}: not a replay file ({error})") from None
    version = replay.get("version") if isinstance(replay, dict) else None
    if version != REPLAY_VERSION:
        raise ReplayFormatError(f"{name}: replay version {version!r} is not supported (expected {REPLAY_VERSION})")
    return replay


def value_at(field_value: Any, step: int) -> Any:
    """A field's value at `step`: the constant, or the last change at or before `step`."""
    if not isinstance(field_value, list):
        return field_value
    current = field_value[0][1]
    for change_step, value in field_value:
        if change_step > step:
            break
        current = value
    return current


def frame_at(replay: dict[str, Any], step: int) -> list[dict[str, Any]]:
    """Every object's fields at `step` (change lists resolved)."""
    return [{name: value_at(value, step) for name, value in obj.items()} for obj in replay["grid_objects"]]
