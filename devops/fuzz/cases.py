"""The fuzz cases of the MettaGrid core (`mettagrid._core`), one function per kind.

A case is fully determined by `(seed, index)`: `run_case(seed, index)` draws its kind and
everything else from `np.random.default_rng([seed, index])`, so a failure is replayed by
running the same pair again (devops/fuzz/run.py --replay). Each case either passes, counts a
refusal (an input the core must refuse, refused with one clear ValueError), or raises
`Failure` with what went wrong. A crash or a hang never returns here; run.py's parent
process sees it.

Kinds:
  episode   a random valid game (params, maps, buffers) stepped with random actions, in-range
            and out-of-range, with resets, reset_env and inspection calls; invariants checked
  params    a valid params dict with one key made invalid: must be one ValueError naming it
  buffers   set_buffers with random dtype/shape/layout/alias mistakes: ValueError or accepted
  maps      set_map with random bad grids (codes, dtypes, sizes): ValueError or accepted
  actions   copy_actions with random dtypes and values: equal to an exact int32 oracle
  calls     calls out of order or out of range: RuntimeError / IndexError / ValueError
  adapter   MettaGridVecEnv.step with int64/float/list actions, in and out of int32
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
KINDS = ("episode", "episode", "episode", "params", "params", "buffers", "maps", "actions", "calls", "adapter")


class Failure(Exception):
    """The core misbehaved (not a refusal): wrong exception, broken invariant, accepted bad input."""


@dataclass
class Counts:
    cases: int = 0
    configs: int = 0  # params dicts handed to the core
    steps: int = 0  # env steps (each VecEnv.step counts num_envs)
    refusals: int = 0  # bad inputs refused as they should be
    failures: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        for name in ("cases", "configs", "steps", "refusals", "failures"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, n in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + n

    def as_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in ("cases", "configs", "steps", "refusals", "failures")},
                "by_kind": dict(self.by_kind)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Counts:
        return cls(**{k: d.get(k, 0) for k in ("cases", "configs", "steps", "refusals", "failures")},
                   by_kind=dict(d.get("by_kind", {})))


def core():
    from mettagrid import _core

    return _core


# ---------------------------------------------------------------------------------------------
# Random valid games


def _pick(rng: np.random.Generator, values):
    return values[int(rng.integers(len(values)))]


def _amounts(rng, num_items: int, big: bool) -> list[list[int]]:
    n = int(rng.integers(0, 3))
    choices = [0, 1, 1, 2, 3, INT32_MAX] if big else [0, 1, 1, 2, 3]
    return [[int(rng.integers(num_items)), int(_pick(rng, choices))] for _ in range(n)]


def random_params(rng: np.random.Generator) -> dict[str, Any]:
    """A params dict inside every documented range (docs/mettagrid-core-notes.md)."""
    _core = core()
    big = rng.random() < 0.3  # extreme but valid values: saturation, huge limits and caps
    teams = rng.random() < 0.3
    num_items = int(rng.integers(1, 9)) if rng.random() < 0.95 else int(rng.integers(9, 243 if teams else 244))
    items = [f"item{i}" for i in range(num_items)]
    actions = []
    for name in _core.ACTION_NAMES:
        if rng.random() < 0.25:
            continue
        cap = _core.ACTION_MAX_ARGS[name]
        actions.append({
            "name": name,
            "max_arg": int(rng.integers(0, cap + 1)) if rng.random() < 0.5 else cap,
            "priority": int(_pick(rng, [0, 0, 0, 1, -1, 255, -255])),
            "required": _amounts(rng, num_items, big) if rng.random() < 0.2 else [],
            "consumed": _amounts(rng, num_items, big) if rng.random() < 0.3 else [],
            "defense": _amounts(rng, num_items, big) if name == "attack" and rng.random() < 0.5 else [],
            "steal": bool(rng.random() < 0.5),
        })
    object_types = [{"name": "wall", "type_id": 1, "kind": "wall", "color": 0}]
    if rng.random() < 0.7:
        object_types.append({"name": "block", "type_id": int(rng.integers(1, 256)), "kind": "block",
                             "color": int(rng.integers(256))})
    for c in range(int(rng.integers(0, 5))):
        big_n = [0, 1, 2, 5, INT32_MAX] if big else [0, 1, 2, 5]
        alignable = teams and rng.random() < 0.5
        team_only = teams and rng.random() < 0.4
        object_types.append({
            "name": f"conv{c}", "type_id": int(rng.integers(1, 256)), "kind": "converter",
            "color": int(rng.integers(256)),
            "input": _amounts(rng, num_items, big), "output": _amounts(rng, num_items, big),
            "max_output": int(_pick(rng, [-1, -1, 0, 1, 5] + ([INT32_MAX] if big else []))),
            "max_conversions": int(_pick(rng, [-1, -1, 0, 1, 3] + ([INT32_MAX] if big else []))),
            "conversion_ticks": int(_pick(rng, [0, 1, 1, 2, 5] + ([INT32_MAX] if big else []))),
            "cooldown": int(_pick(rng, [0, 0, 1, 3] + ([INT32_MAX] if big else []))),
            "initial_resource_count": int(_pick(rng, big_n)),
            "alignable": alignable, "team_only": team_only,
            "use_required": _amounts(rng, num_items, big) if rng.random() < 0.2 else [],
        })
    if teams and not any(o.get("alignable") or o.get("team_only") for o in object_types):
        object_types[-1] = {**object_types[-1], "kind": "converter", "input": [], "output": [[0, 1]],
                            "max_output": 3, "max_conversions": -1, "conversion_ticks": 1, "cooldown": 0,
                            "initial_resource_count": 0, "alignable": True, "team_only": False,
                            "use_required": []}
    alignable = [o["name"] for o in object_types if o.get("alignable")]
    stat_names = [s for s in _core.agent_stat_names([a["name"] for a in actions], items, alignable) if s != "reward"]
    groups = []
    for g in range(int(rng.integers(1, 4))):
        limit_choices = [0, 1, 3, 50] + ([INT32_MAX] if big else [])
        reward = lambda: float(_pick(rng, [0.0, 0.0, 1.0, -0.5, 0.01] + ([1e6, -1e6] if big else [])))  # noqa: E731
        cap = lambda: float(_pick(rng, [1e30, 1e30, 2.0, 0.0, -1.0] + ([-1e30] if big else [])))  # noqa: E731
        groups.append({
            "id": int(rng.integers(1 if teams else 0, 256)), "name": f"g{g}",
            "group_reward_pct": float(_pick(rng, [0.0, 0.0, 0.5, 1.0])),
            "freeze_duration": int(_pick(rng, [0, 1, 10] + ([INT32_MAX] if big else []))),
            "resource_limits": [int(_pick(rng, limit_choices)) for _ in items],
            "initial_inventory": [int(_pick(rng, limit_choices)) for _ in items],
            "inventory_rewards": [reward() for _ in items],
            "inventory_reward_max": [cap() for _ in items],
            "stat_rewards": [[str(_pick(rng, stat_names)), reward(), cap()] for _ in range(int(rng.integers(0, 3)))],
            "action_failure_penalty": float(_pick(rng, [0.0, 0.0, 0.1] + ([1e6] if big else []))),
            "color": int(rng.integers(256)),
        })
    params = {
        "num_agents": int(rng.integers(1, 9)) if rng.random() < 0.95 else int(rng.integers(9, 120)),
        "obs_width": int(_pick(rng, [1, 3, 5, 7, 9, 11, 13, 15])),
        "obs_height": int(_pick(rng, [1, 3, 5, 7, 9, 11, 13, 15])),
        "num_observation_tokens": int(_pick(rng, [1, 2, 5, 30, 200, 4096])),
        "max_steps": int(_pick(rng, [0, 1, 2, 7, 40, INT32_MAX])),
        "terminate_at_max_steps": bool(rng.random() < 0.5),
        "desync_episodes": bool(rng.random() < 0.3),
        "item_names": items, "actions": actions,
        "color_step": int(rng.integers(256)),
        "object_types": object_types, "groups": groups,
    }
    if rng.random() < 0.7:
        params["auto_reset"] = bool(rng.random() < 0.7)
    return params


def random_map(rng: np.random.Generator, params: dict[str, Any]) -> np.ndarray:
    """A valid grid for `params`: exactly num_agents agents, random objects (some owned)."""
    a = params["num_agents"]
    side = max(2, int(math.ceil(math.sqrt(a))) + int(rng.integers(0, 6)))
    h, w = side + int(rng.integers(0, 4)), side
    cells = np.zeros(h * w, dtype=np.int64)
    order = rng.permutation(h * w)
    groups = len(params["groups"])
    cells[order[:a]] = -rng.integers(1, groups + 1, size=a)
    types = params["object_types"]
    teamed = [k + 1 for k, o in enumerate(types) if o.get("alignable") or o.get("team_only")]
    for pos in order[a:]:
        if rng.random() < 0.35:
            code = int(rng.integers(1, len(types) + 1))
            if teamed and rng.random() < 0.3:
                code = int(_pick(rng, teamed)) + 65536 * int(rng.integers(1, groups + 1))
            cells[pos] = code
    if rng.random() < 0.5 and h > 2 and w > 2:  # a wall border, as real maps have
        grid = cells.reshape(h, w)
        inner = grid[1:-1, 1:-1].copy()
        if (inner < 0).sum() == a:
            grid[:] = 1
            grid[1:-1, 1:-1] = inner
    return cells.reshape(h, w).astype(np.int32)


class Buffers:
    """The five step buffers, each a slice of a larger array with canary bytes on both sides,
    so that a write outside a buffer shows up without a sanitizer."""

    PAD = 64

    def __init__(self, rows: int, tokens: int):
        self._raw = {}
        self.arrays = {}
        for name, dtype, shape in (("observations", np.uint8, (rows, tokens, 3)), ("actions", np.int32, (rows, 2)),
                                   ("rewards", np.float32, (rows,)), ("terminals", np.bool_, (rows,)),
                                   ("truncations", np.bool_, (rows,))):
            itemsize = np.dtype(dtype).itemsize
            n = int(np.prod(shape))
            raw = np.full(n * itemsize + 2 * self.PAD, 0xA5, dtype=np.uint8)
            self._raw[name] = raw
            self.arrays[name] = raw[self.PAD : self.PAD + n * itemsize].view(dtype).reshape(shape)

    def check_canaries(self) -> None:
        for name, raw in self._raw.items():
            if not ((raw[: self.PAD] == 0xA5).all() and (raw[-self.PAD :] == 0xA5).all()):
                raise Failure(f"write outside the {name} buffer")

    def args(self):
        a = self.arrays
        return a["observations"], a["actions"], a["rewards"], a["terminals"], a["truncations"]


def random_actions(rng: np.random.Generator, rows: int, num_actions: int, max_arg: int) -> np.ndarray:
    mode = rng.random()
    ids = rng.integers(0, max(num_actions, 1), size=rows)
    args = rng.integers(0, max_arg + 1, size=rows)
    out = np.stack([ids, args], axis=1)
    if mode < 0.3:  # anything int32 can hold: ids and args out of the game's range
        wild = np.array([INT32_MIN, INT32_MAX, -1, num_actions, max_arg + 1, 256, 2**16], dtype=np.int64)
        mask = rng.random(out.shape) < 0.3
        out = np.where(mask, wild[rng.integers(len(wild), size=out.shape)], out)
    return out.astype(np.int32)


def check_observations(obs: np.ndarray, params: dict[str, Any], num_features: int) -> None:
    loc, feat = obs[:, :, 0].astype(np.int64), obs[:, :, 1].astype(np.int64)
    pad = (obs == 0xFF).all(axis=2)
    # Padding only at the tail: once a row pads, it pads to the end.
    if (np.diff(pad.astype(np.int8), axis=1) < 0).any():
        raise Failure("a token after padding")
    real = ~pad
    if (((loc >> 4) >= params["obs_height"]) & real).any() or (((loc & 15) >= params["obs_width"]) & real).any():
        raise Failure("token location outside the observation window")
    if ((feat >= num_features) & real).any():
        raise Failure("token with an unknown feature id")


def check_state(env, params: dict[str, Any], e: int, height: int, width: int) -> None:
    pos = env.agent_positions(e)
    if pos.shape != (params["num_agents"], 2):
        raise Failure(f"agent_positions shape {pos.shape}")
    if (pos < 0).any() or (pos[:, 0] >= height).any() or (pos[:, 1] >= width).any():
        raise Failure("agent off the map")
    if len({(int(r), int(c)) for r, c in pos}) != len(pos):
        raise Failure("two agents on one cell")
    inv = env.agent_inventory(e)
    limit = max(max(g["resource_limits"]) for g in params["groups"])
    if (inv < 0).any() or (inv > limit).any():
        raise Failure("inventory outside [0, resource limit]")
    if not np.isfinite(env.episode_rewards(e)).all():
        raise Failure("non-finite episode reward")
    step = env.current_step(e)
    if params["max_steps"] > 0 and not 0 <= step <= params["max_steps"]:
        raise Failure(f"current_step {step} outside [0, max_steps]")
    env.grid_objects(e)
    frame = env.replay_frame(e)
    if frame.shape[1] != len(env.replay_columns()):
        raise Failure("replay_frame columns")
    env.agent_stats(e), env.building_stats(e), env.game_stats(e), env.object_teams(e), env.replay_rewards(e)


def case_episode(rng: np.random.Generator, counts: Counts, params: dict[str, Any] | None = None) -> None:
    _core = core()
    params = params if params is not None else random_params(rng)
    num_envs = int(_pick(rng, [1, 1, 2, 3, 8]))
    threads = int(_pick(rng, [1, 1, 2, 3]))
    counts.configs += 1
    try:
        env = _core.VecEnv(params, num_envs, int(rng.integers(0, 2**63)), threads)
    except Exception as error:  # a valid config must be accepted
        raise Failure(f"valid params refused: {type(error).__name__}: {error}") from None
    maps = [random_map(rng, params) for _ in range(num_envs)]
    # An env plays a map set with set_map from its next episode on, which may be an auto-reset
    # in the middle of a step: positions are checked against every map the env was given.
    bounds = [m.shape for m in maps]
    for e, grid in enumerate(maps):
        env.set_map(e, grid)
    rows = num_envs * params["num_agents"]
    buffers = Buffers(rows, params["num_observation_tokens"])
    env.set_buffers(*buffers.args())
    env.reset()
    buffers.check_canaries()
    features = len(env.feature_names)
    num_actions = len(params["actions"])
    max_arg = max([a["max_arg"] for a in params["actions"]], default=0)
    obs, actions, rewards, terminals, truncations = buffers.args()
    check_observations(obs, params, features)
    for _ in range(int(rng.integers(1, 120))):
        actions[:] = random_actions(rng, rows, num_actions, max_arg)
        env.step()
        counts.steps += num_envs
        buffers.check_canaries()
        if not np.isfinite(rewards).all():
            raise Failure("non-finite reward")
        t, u = terminals.view(np.uint8), truncations.view(np.uint8)
        if (t > 1).any() or (u > 1).any():
            raise Failure("terminal/truncation byte not 0/1")
        per_env_t = t.reshape(num_envs, -1)
        if (per_env_t.min(axis=1) != per_env_t.max(axis=1)).any():
            raise Failure("agents of one env disagree on termination")
        if (t & u).any():
            raise Failure("both terminal and truncated")
        check_observations(obs, params, features)
        for result in env.episode_results():
            if params["max_steps"] > 0 and result["steps"] > params["max_steps"]:
                raise Failure(f"episode of {result['steps']} steps with max_steps {params['max_steps']}")
            if not all(math.isfinite(r) for r in result["episode_rewards"]):
                raise Failure("non-finite episode reward in a result")
        if rng.random() < 0.1:
            e = int(rng.integers(num_envs))
            check_state(env, params, e, *bounds[e])
        if rng.random() < 0.05:
            e = int(rng.integers(num_envs))
            if rng.random() < 0.5:
                maps[e] = random_map(rng, params)
                env.set_map(e, maps[e])  # used from its next episode on
                bounds[e] = tuple(max(a, b) for a, b in zip(bounds[e], maps[e].shape))
            else:
                env.reset_env(e)
                check_state(env, params, e, *bounds[e])
                check_observations(obs, params, features)
    for e in range(num_envs):
        env.episode_over(e)
    buffers.check_canaries()


# ---------------------------------------------------------------------------------------------
# Bad params: one key made invalid, one ValueError naming it


def _bad_values(rng: np.random.Generator, params: dict[str, Any]) -> tuple[list[Any], Any, str]:
    """(path, bad value, fragment expected in the message) for one mutation."""
    p = params
    choices: list[tuple[list[Any], list[Any]]] = [
        (["num_agents"], [0, -1, 2**16 + 1, 2**31, 2**63, "4", 4.0, None]),
        (["obs_width"], [0, 2, 16, 17, -3, 2**40]),
        (["obs_height"], [0, 4, 17]),
        (["num_observation_tokens"], [0, -5, 4097, 2**33]),
        (["max_steps"], [-1, 2**31, 1.5]),
        (["color_step"], [-1, 256, 2**31 + 2, -(2**31)]),
        (["terminate_at_max_steps"], ["yes", 2, None]),
        (["desync_episodes"], ["no", []]),
        (["item_names"], ["abc", [1, 2], [""], ["a", "a"], [f"i{k}" for k in range(244)]]),
        (["groups"], [[], {}, "g", [copy.deepcopy(p["groups"][0]) for _ in range(257)]]),
    ]
    if p["actions"]:
        a = int(rng.integers(len(p["actions"])))
        cap = core().ACTION_MAX_ARGS[p["actions"][a]["name"]]
        choices += [
            (["actions", a, "name"], ["dance", 7, ""]),
            (["actions", a, "max_arg"], [-1, cap + 1, 2**32]),
            (["actions", a, "priority"], [256, -256, 2**31]),
            (["actions", a, "required"], [[[len(p["item_names"]), 1]], [[0, -1]], [[0, 1, 2]], [[-1, 1]], 5]),
            (["actions", a, "consumed"], [[[0, 2**31]], [[2**40, 1]]]),
            (["actions", a, "steal"], ["x", 3]),
        ]
    o = int(rng.integers(len(p["object_types"])))
    choices += [
        (["object_types", o, "type_id"], [0, 256, -1, 2**31]),
        (["object_types", o, "color"], [256, -1]),
        (["object_types", o, "kind"], ["lava", 3]),
        (["object_types", o, "name"], ["", 5]),
    ]
    if p["object_types"][o]["kind"] == "converter":
        choices += [
            (["object_types", o, "max_output"], [-2, 2**31]),
            (["object_types", o, "max_conversions"], [-2]),
            (["object_types", o, "conversion_ticks"], [-1, 2**31]),
            (["object_types", o, "cooldown"], [-1]),
            (["object_types", o, "initial_resource_count"], [-1, 2**32]),
            (["object_types", o, "output"], [[[len(p["item_names"]), 1]], [[0, -3]]]),
            (["object_types", o, "alignable"], ["true"]),
        ]
    g = int(rng.integers(len(p["groups"])))
    n = len(p["item_names"])
    choices += [
        (["groups", g, "id"], [256, -1, 2**31]),
        (["groups", g, "group_reward_pct"], [-0.1, 1.5, float("nan"), "half"]),
        (["groups", g, "freeze_duration"], [-1, 2**31]),
        (["groups", g, "resource_limits"], [[50] * (n + 1), [-1] * n, [2**31] * n]),
        (["groups", g, "initial_inventory"], [[-1] * n, [0] * (n - 1)]),
        (["groups", g, "inventory_rewards"], [[float("inf")] * n, [float("nan")] * n, [2e6] * n, ["x"] * n]),
        (["groups", g, "inventory_reward_max"], [[float("inf")] * n, [-1e31] * n, [1e300] * n]),
        (["groups", g, "stat_rewards"], [[["no.such.stat", 1.0, 1e30]], [["action.invalid", float("nan"), 1.0]],
                                         [["action.invalid", 1.0]], [["action.invalid", 1.0, float("-inf")]],
                                         [["reward", 0.5, 1e30]]]),
        (["groups", g, "action_failure_penalty"], [-0.5, float("inf"), 2e6]),
        (["groups", g, "color"], [256, -1]),
        (["groups", g, "name"], [3, ""]),
    ]
    path, values = choices[int(rng.integers(len(choices)))]
    return path, values[int(rng.integers(len(values)))]


def case_params(rng: np.random.Generator, counts: Counts) -> None:
    _core = core()
    params = random_params(rng)
    if rng.random() < 0.15:  # a missing key
        target = params
        path = [_pick(rng, [k for k in params if k != "auto_reset"])]
        if rng.random() < 0.5 and params["groups"]:
            target, path = params["groups"][0], ["groups", 0, _pick(rng, list(params["groups"][0]))]
        del target[path[-1]]
        bad = "<missing>"
    else:
        path, bad = _bad_values(rng, params)
        target = params
        for key in path[:-1]:
            target = target[key]
        if path == ["groups"] and isinstance(bad, list) and len(bad) > 1:
            for k, group in enumerate(bad):
                group["name"] = f"g{k}"
        target[path[-1]] = bad
    counts.configs += 1
    try:
        _core.VecEnv(params, 1, 0, 1)
    except ValueError as error:
        message = str(error)
        if "\n" in message:
            raise Failure(f"multi-line message for {path}: {message!r}") from None
        named = [str(key) for key in path if isinstance(key, str)][-1]
        if not (message.startswith("params[") and named in message):
            raise Failure(f"message does not name {path}: {message!r}") from None
        counts.refusals += 1
        return
    except Exception as error:
        raise Failure(f"{path} = {bad!r}: {type(error).__name__} instead of ValueError: {error}") from None
    raise Failure(f"{path} = {bad!r} was accepted")


# ---------------------------------------------------------------------------------------------
# Buffers, maps, actions, call order


def _small_env(rng: np.random.Generator, counts: Counts, num_envs: int = 2):
    _core = core()
    params = random_params(rng)
    params["num_agents"] = min(params["num_agents"], 6)
    params["num_observation_tokens"] = min(params["num_observation_tokens"], 64)
    counts.configs += 1
    env = _core.VecEnv(params, num_envs, 0, 1)
    return env, params


def case_buffers(rng: np.random.Generator, counts: Counts) -> None:
    env, params = _small_env(rng, counts)
    for e in range(2):
        env.set_map(e, random_map(rng, params))
    rows, tokens = 2 * params["num_agents"], params["num_observation_tokens"]
    buffers = Buffers(rows, tokens)
    args = list(buffers.args())
    bad = False
    for k in range(5):
        if rng.random() < 0.25:
            bad = True
            a = args[k]
            how = int(rng.integers(8))
            if how == 0:
                args[k] = a.astype(_pick(rng, [np.int64, np.float64, np.uint16, np.int8, np.float16]))
            elif how == 1:
                args[k] = np.zeros(a.shape[:-1] + (a.shape[-1] + 1,), a.dtype)
            elif how == 2:
                args[k] = np.zeros((a.shape[0] + 1,) + a.shape[1:], a.dtype)
            elif how == 3:
                args[k] = np.zeros((a.shape[0] * 2,) + a.shape[1:], a.dtype)[::2]
            elif how == 4 and k != 1:
                args[k] = a.copy()
                args[k].flags.writeable = False
            elif how == 5:
                raw = np.zeros(a.nbytes + 1, np.uint8)
                args[k] = raw[1:].view(a.dtype).reshape(a.shape) if a.dtype.itemsize > 1 else a.astype(np.int64)
            elif how == 6:
                args[k] = a.astype(a.dtype.newbyteorder(">")) if a.dtype.itemsize > 1 else a.reshape(1, -1)
            else:
                args[k] = args[(k + 1) % 5]  # aliasing another buffer (wrong dtype/shape or overlap)
    try:
        env.set_buffers(*args)
    except ValueError as error:
        if "\n" in str(error):
            raise Failure(f"multi-line buffer error: {error!r}") from None
        counts.refusals += 1
        return
    if bad:
        raise Failure("bad buffers accepted: " + ", ".join(f"{x.dtype}{x.shape}" for x in args))
    env.reset()
    env.step()
    counts.steps += 2
    buffers.check_canaries()


def case_maps(rng: np.random.Generator, counts: Counts) -> None:
    env, params = _small_env(rng, counts, num_envs=1)
    grid = random_map(rng, params).astype(np.int64)
    groups, types = len(params["groups"]), len(params["object_types"])
    how = int(rng.integers(10))
    if how == 0:  # a code of a type that does not exist, or an agent of no group
        grid.flat[int(rng.integers(grid.size))] = int(_pick(rng, [types + 1, -groups - 1, 2**31 - 1, -(2**31)]))
    elif how == 1:  # a value int32 cannot hold: the cast would wrap it into a valid code
        grid = grid.astype(np.uint64)
        grid.flat[int(rng.integers(grid.size))] = np.uint64(2**32 + 1)
    elif how == 2:
        grid.flat[int(rng.integers(grid.size))] = 2**32 - 1  # wraps to -1, an agent
    elif how == 3:
        grid = grid.astype(np.float64)
    elif how == 4:
        grid = grid.reshape(-1)
    elif how == 5:
        grid = grid[None]
    elif how == 6:
        grid = np.zeros((0, 3), np.int32)
    elif how == 7:
        grid = np.broadcast_to(np.zeros((1, 1), np.int32), (2**31 + 5, 1))
    elif how == 8:  # an agent too many or too few
        grid = np.where(grid < 0, 0, grid) if rng.random() < 0.5 else np.full_like(grid, -1)
    else:
        narrow = np.int16 if np.abs(grid).max() < 2**15 else np.int32
        grid = grid.astype(_pick(rng, [narrow, np.int32, np.int64, np.uint32]) if grid.min() >= 0 else narrow)
        env.set_map(0, grid)
        return
    if how == 8 and params["num_agents"] == grid.size:
        return  # happened to have the right count
    try:
        env.set_map(0, grid)
    except ValueError as error:
        if "\n" in str(error):
            raise Failure(f"multi-line map error: {error!r}") from None
        counts.refusals += 1
        return
    raise Failure(f"bad map accepted ({how}): dtype {grid.dtype} shape {grid.shape}")


def _exact_int32(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, (float, np.floating)):
        return math.isfinite(value) and float(value).is_integer() and INT32_MIN <= value <= INT32_MAX
    return INT32_MIN <= int(value) <= INT32_MAX


def case_actions(rng: np.random.Generator, counts: Counts) -> None:
    _core = core()
    rows = int(rng.integers(1, 6))
    dst = np.zeros((rows, 2), np.int32)
    pool = [0, 1, 3, -1, INT32_MAX, INT32_MIN, 2**31, -(2**31) - 1, 2**32 + 2, 2**63 - 1, 255, 256]
    values = [int(_pick(rng, pool)) if rng.random() < 0.4 else int(rng.integers(-5, 10)) for _ in range(rows * 2)]
    form = int(rng.integers(6))
    if form == 0:
        src: Any = values  # a flat Python list
    elif form == 1:
        dtype = _pick(rng, [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
        info = np.iinfo(dtype)
        src = np.array([min(max(v, info.min), info.max) for v in values], dtype=dtype).reshape(rows, 2)
    elif form == 2:
        floats = [float(v) + _pick(rng, [0.0, 0.0, 0.5]) for v in values]
        floats[int(rng.integers(len(floats)))] = _pick(rng, [0.0, float("nan"), float("inf"), 1e10, -0.0])
        src = np.array(floats, dtype=_pick(rng, [np.float32, np.float64])).reshape(rows, 2)
    elif form == 3:
        src = np.array(values, dtype=np.int64).reshape(rows, 2)[:, ::-1]  # not contiguous
    elif form == 4:
        src = np.array([v for v in values], dtype=object) if rng.random() < 0.5 else [[1, 2], [3]]
    else:
        src = np.array(values[:-1], dtype=np.int64)  # one value short
    arr = None
    try:
        arr = np.asarray(src)
    except ValueError:
        pass
    expect_ok = (arr is not None and arr.dtype.kind in "iufb" and arr.size == dst.size
                 and all(_exact_int32(v) for v in arr.reshape(-1).tolist()))
    try:
        _core.copy_actions(src, dst)
    except ValueError as error:
        if expect_ok:
            raise Failure(f"copy_actions refused valid {arr!r}: {error}") from None
        if "\n" in str(error) or not str(error).startswith("actions"):
            raise Failure(f"unclear copy_actions message: {error!r}") from None
        counts.refusals += 1
        return
    if not expect_ok:
        raise Failure(f"copy_actions accepted {src!r} -> {dst.tolist()}")
    want = [int(v) for v in arr.reshape(-1).tolist()]
    if dst.reshape(-1).tolist() != want:
        raise Failure(f"copy_actions wrote {dst.tolist()} for {want}")


def case_calls(rng: np.random.Generator, counts: Counts) -> None:
    env, params = _small_env(rng, counts)
    calls = [
        ("step before set_buffers", lambda: env.step(), RuntimeError),
        ("reset before set_buffers", lambda: env.reset(), RuntimeError),
        ("set_map out of range", lambda: env.set_map(_pick(rng, [-1, 2, 2**20]), random_map(rng, params)), IndexError),
        ("grid_objects before reset", lambda: env.grid_objects(0), RuntimeError),
        ("agent_stats out of range", lambda: env.agent_stats(_pick(rng, [-1, 5])), IndexError),
        ("num_envs 0", lambda: core().VecEnv(params, 0, 0, 1), ValueError),
        ("num_envs huge", lambda: core().VecEnv(params, 2**40, 0, 1), ValueError),
        ("num_threads 0", lambda: core().VecEnv(params, 1, 0, 0), ValueError),
        ("num_threads huge", lambda: core().VecEnv(params, 1, 0, 10**6), ValueError),
    ]
    name, call, expected = calls[int(rng.integers(len(calls)))]
    try:
        call()
    except expected as error:
        if "\n" in str(error):
            raise Failure(f"{name}: multi-line message {error!r}") from None
        counts.refusals += 1
        return
    except Exception as error:
        raise Failure(f"{name}: {type(error).__name__} instead of {expected.__name__}: {error}") from None
    raise Failure(f"{name}: accepted")


_ADAPTER_ENV = None


def case_adapter(rng: np.random.Generator, counts: Counts) -> None:
    """The Python face: MettaGridVecEnv.step must refuse what int32 cannot hold, never wrap it."""
    global _ADAPTER_ENV
    if _ADAPTER_ENV is None:
        from mettagrid.env_configs import compose_env_config
        from mettagrid.vec_env import MettaGridVecEnv

        _ADAPTER_ENV = MettaGridVecEnv(compose_env_config("mettagrid/navigation"), num_envs=2, seed=0)
        _ADAPTER_ENV.reset()
        counts.configs += 1
    env = _ADAPTER_ENV
    rows = env.total_agents
    n = len(env.action_names)
    good = np.stack([rng.integers(0, n, rows), rng.integers(0, 2, rows)], axis=1)
    form = int(rng.integers(4))
    bad_value = _pick(rng, [2**32 + 2, 2**31, -(2**31) - 1, 2**63 - 1])
    if form == 0:
        actions: Any = good.astype(np.int64)
        actions[int(rng.integers(rows)), int(rng.integers(2))] = bad_value
    elif form == 1:
        actions = good.astype(np.float64)
        actions[int(rng.integers(rows)), 0] = _pick(rng, [0.5, float("nan"), float(bad_value)])
    elif form == 2:
        actions = good.tolist()
        actions[int(rng.integers(rows))][1] = bad_value
    else:
        actions = good.astype(_pick(rng, [np.int64, np.uint64, np.float32, np.int8]))
        env.step(actions)
        counts.steps += env.num_envs
        if env.buffers.actions.tolist() != good.tolist():
            raise Failure("valid actions changed on the way in")
        return
    before = env.buffers.actions.copy()
    try:
        env.step(actions)
    except ValueError as error:
        if "\n" in str(error):
            raise Failure(f"multi-line actions error: {error!r}") from None
        counts.refusals += 1
        return
    raise Failure(f"out-of-int32 actions accepted: buffer {before.tolist()} -> {env.buffers.actions.tolist()}")


CASES = {
    "episode": case_episode, "params": case_params, "buffers": case_buffers, "maps": case_maps,
    "actions": case_actions, "calls": case_calls, "adapter": case_adapter,
}


def case_kind(seed: int, index: int) -> str:
    return KINDS[int(np.random.default_rng([seed, index, 1]).integers(len(KINDS)))]


def run_case(seed: int, index: int, counts: Counts) -> str:
    """Run case `index` of `seed`; raises Failure (or anything unexpected) on a failure."""
    kind = case_kind(seed, index)
    rng = np.random.default_rng([seed, index])
    counts.cases += 1
    counts.by_kind[kind] = counts.by_kind.get(kind, 0) + 1
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # numpy's overflow warnings for the deliberately huge values
        CASES[kind](rng, counts)
    return kind
