"""Bad inputs to the MettaGrid core and its Python faces: one table, one clear exception each.

Every row hands the core something a caller could get wrong: a raw params dict that bypasses
the Python schema (out of range, wrong type, missing key), a bad buffer or map, an action int32
cannot hold. Each must raise the named exception with a one-line message containing the key or
value, and leave the process alive and the env usable (docs/reliability.md, "Bad inputs").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from mettagrid import _core
from tests.hardening.bad_input import error_lines
from tests.mettagrid.core_helpers import Harness, make_params, parse_map

MAP = """
#####
#1.2#
#####
"""


def params_with(path, value=None, delete=False):
    """make_params(2) with the key at `path` set to `value` (or deleted)."""
    params = make_params(2)
    target = params
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return params


def build(params, num_envs=1, num_threads=1):
    return lambda: _core.VecEnv(params, num_envs, 0, num_threads)


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[], object]
    error: type[Exception]
    fragment: str


def _bad_params_cases() -> list[Case]:
    p = params_with
    return [
        Case("num_agents zero", build(p(["num_agents"], 0)), ValueError,
             'params["num_agents"]: must be in [1, 65536], got 0'),
        Case("num_agents over 32 bits", build(p(["num_agents"], 2**40)), ValueError,
             'params["num_agents"]: must be in [-2147483648, 2147483647] (32 bits), got 1099511627776'),
        Case("num_agents a string", build(p(["num_agents"], "2")), ValueError,
             'params["num_agents"]: expected an integer'),
        Case("obs_width even", build(p(["obs_width"], 16)), ValueError,
             'params["obs_width"]: must be odd and in [1, 15], got 16'),
        Case("too many tokens", build(p(["num_observation_tokens"], 4097)), ValueError,
             'params["num_observation_tokens"]: must be in [1, 4096], got 4097'),
        Case("color_step wraps a byte", build(p(["color_step"], 256)), ValueError,
             'params["color_step"]: must be in [0, 255], got 256'),
        Case("negative max_steps", build(p(["max_steps"], -1)), ValueError, 'params["max_steps"]: must be in [0, '),
        Case("float max_steps", build(p(["max_steps"], 10.0)), ValueError, 'params["max_steps"]: expected an integer'),
        Case("bool as a string", build(p(["terminate_at_max_steps"], "yes")), ValueError,
             'params["terminate_at_max_steps"]: expected a bool'),
        Case("duplicate item", build(p(["item_names", 1], "ore_red")), ValueError,
             'params["item_names"][1]: duplicate name "ore_red"'),
        Case("unknown action", build(p(["actions", 0, "name"], "dance")), ValueError,
             'params["actions"][0]["name"]: unknown action "dance"'),
        Case("glyph arg over a byte", build(p(["actions", 8, "max_arg"], 256)), ValueError,
             'params["actions"][8]["max_arg"]: must be in [0, 255], got 256'),
        Case("negative consumed amount", build(p(["actions", 5, "consumed"], [[4, -1]])), ValueError,
             'params["actions"][5]["consumed"][0][1]: must be in [0, 2147483647], got -1'),
        Case("item id out of range", build(p(["actions", 5, "defense"], [[5, 1]])), ValueError,
             'params["actions"][5]["defense"][0]: item id 5 out of range [0, 5)'),
        Case("type_id over a byte", build(p(["object_types", 2, "type_id"], 256)), ValueError,
             'params["object_types"][2]["type_id"]: must be in [1, 255], got 256'),
        Case("unknown object kind", build(p(["object_types", 0, "kind"], "lava")), ValueError,
             'params["object_types"][0]["kind"]: unknown object kind "lava"'),
        Case("negative conversion_ticks", build(p(["object_types", 2, "conversion_ticks"], -1)), ValueError,
             'params["object_types"][2]["conversion_ticks"]: must be in [0, 2147483647], got -1'),
        Case("max_output below -1", build(p(["object_types", 2, "max_output"], -2)), ValueError,
             'params["object_types"][2]["max_output"]: must be in [-1, 2147483647], got -2'),
        Case("group id over a byte", build(p(["groups", 1, "id"], 256)), ValueError,
             'params["groups"][1]["id"]: must be in [0, 255], got 256'),
        Case("group color over a byte", build(p(["groups", 0, "color"], 300)), ValueError,
             'params["groups"][0]["color"]: must be in [0, 255], got 300'),
        Case("NaN reward share", build(p(["groups", 0, "group_reward_pct"], float("nan"))), ValueError,
             'params["groups"][0]["group_reward_pct"]: must be a finite number in [0, 1], got nan'),
        Case("infinite inventory reward", build(p(["groups", 0, "inventory_rewards"], [float("inf")] * 5)),
             ValueError, 'params["groups"][0]["inventory_rewards"][0]: must be a finite number'),
        Case("reward cap beyond float", build(p(["groups", 0, "inventory_reward_max"], [1e300] * 5)), ValueError,
             'params["groups"][0]["inventory_reward_max"][0]: must be a finite number in [-1e+30, 1e+30], got inf'),
        Case("resource limit over 32 bits", build(p(["groups", 0, "resource_limits"], [2**31] * 5)), ValueError,
             'params["groups"][0]["resource_limits"][0]: must be in [-2147483648, 2147483647] (32 bits)'),
        Case("rewarding the reward stat", build(p(["groups", 0, "stat_rewards"], [["reward", 1.0, 1e30]])),
             ValueError, 'params["groups"][0]["stat_rewards"][0]: the "reward" stat cannot be rewarded'),
        Case("stat reward not a triple", build(p(["groups", 0, "stat_rewards"], [["action.invalid", 1.0]])),
             ValueError, 'params["groups"][0]["stat_rewards"][0]: expected a [stat, reward, cap] triple'),
        Case("missing group key", build(p(["groups", 0, "color"], delete=True)), ValueError,
             'params["groups"][0]["color"]: required key is missing'),
        Case("num_envs zero", build(make_params(2), num_envs=0), ValueError, "num_envs: must be in [1, 1048576], got 0"),
        Case("a million threads", build(make_params(2), num_threads=10**6), ValueError,
             "num_threads: must be in [1, 1024], got 1000000"),
    ]


def _harness():
    return Harness(MAP, reset=False)


def _set_buffers(**changes):
    def call():
        h = _harness()
        buffers = {"observations": h.obs, "actions": h.actions, "rewards": h.rewards, "terminals": h.terminals,
                   "truncations": h.truncations}
        for name, make in changes.items():
            buffers[name] = make(buffers)
        h.env.set_buffers(*buffers.values())

    return call


def _misaligned(a: np.ndarray) -> np.ndarray:
    raw = np.zeros(a.nbytes + 1, np.uint8)
    return raw[1:].view(a.dtype).reshape(a.shape)


def _read_only(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.flags.writeable = False
    return b


def _set_map(grid):
    return lambda: _harness().env.set_map(0, grid)


def _buffer_and_map_cases() -> list[Case]:
    wrapped = parse_map(MAP).astype(np.uint64)
    wrapped[0, 0] = 2**32 + 1
    minus_one = parse_map(MAP).astype(np.int64)
    minus_one[1, 2] = 2**32 - 1  # the int32 cast would make this an agent (-1)
    return [
        Case("int64 action buffer", _set_buffers(actions=lambda b: b["actions"].astype(np.int64)), ValueError,
             "actions: expected dtype int32, got int64"),
        Case("misaligned rewards", _set_buffers(rewards=lambda b: _misaligned(b["rewards"])), ValueError,
             "rewards: must be aligned"),
        Case("big-endian rewards", _set_buffers(rewards=lambda b: b["rewards"].astype(">f4")), ValueError,
             "rewards: expected dtype float32"),
        Case("aliased dones", _set_buffers(truncations=lambda b: b["terminals"]), ValueError,
             "terminals: shares memory with truncations"),
        Case("read-only observations", _set_buffers(observations=lambda b: _read_only(b["observations"])),
             ValueError, "observations: must be writeable"),
        Case("uint64 map code over int32", _set_map(wrapped), ValueError,
             "grid: cell code 4294967297 does not fit int32"),
        Case("int64 map code that would wrap to an agent", _set_map(minus_one), ValueError,
             "grid: cell code 4294967295 does not fit int32"),
        Case("broadcast map of 2**31 rows", _set_map(np.broadcast_to(np.zeros((1, 1), np.int32), (2**31 + 5, 1))),
             ValueError, "grid: shape (2147483653, 1) outside [1, 4096] per side"),
    ]


def _copy(src):
    return lambda: _core.copy_actions(src, np.zeros((2, 2), np.int32))


def _vec_env():
    from mettagrid.env_configs import compose_env_config
    from mettagrid.vec_env import MettaGridVecEnv

    env = MettaGridVecEnv(compose_env_config("mettagrid/navigation"), num_envs=1)
    env.reset()
    return env


def _vec_step(make_actions):
    def call():
        env = _vec_env()
        env.step(make_actions(env))

    return call


def _rotate(env, arg):
    """Every agent rotates with `arg`, as an int64 array (what a torch policy hands over)."""
    actions = np.zeros((env.total_agents, 2), np.int64)
    actions[:, 0] = env.action_names.index("rotate")
    actions[:, 1] = arg
    return actions


def _gym_step(action):
    def call():
        from mettagrid.adapters.gym_env import MettaGridGymEnv

        env = MettaGridGymEnv("mettagrid/navigation/evals/emptyspace")
        env.reset(seed=0)
        env.step(action(env))

    return call


def _parallel_step(value):
    def call():
        from mettagrid.adapters.pettingzoo_env import MettaGridParallelEnv

        env = MettaGridParallelEnv("mettagrid/navigation")
        env.reset(seed=0)
        env.step({"agent_0": [env.action_names.index("rotate"), value]})

    return call


def _schema_rewarding_reward():
    from mettagrid.config import load_env_config
    from mettagrid.env_configs import compose_env_config

    data = compose_env_config("mettagrid/navigation").model_dump()
    data["game"]["agent"]["rewards"]["stats"] = {"reward": 1.0}
    load_env_config(data, check_map=False)


def _action_cases() -> list[Case]:
    return [
        Case("2**32 + 2 is not rotate 2", _copy(np.array([[2, 2**32 + 2], [0, 0]])), ValueError,
             "actions: value 4294967298 at flat index 1 (agent 0) is not an integer in [-2147483648, 2147483647]"),
        Case("uint64 action id", _copy(np.array([[2**63, 0], [0, 0]], np.uint64)), ValueError,
             "actions: value 9223372036854775808 at flat index 0"),
        Case("fractional float action", _copy(np.array([[0.5, 0], [0, 0]])), ValueError, "actions: value 0.5"),
        Case("float32 INT32_MAX rounds up to 2**31", _copy(np.array([[2**31 - 1, 0], [0, 0]], np.float32)), ValueError,
             "actions: value 2147483648.0 at flat index 0"),
        Case("NaN action", _copy(np.array([[0, 0], [float("nan"), 0]], np.float32)), ValueError,
             "actions: value nan at flat index 2 (agent 1)"),
        Case("Python int beyond int64", _copy([[0, 2**70], [0, 0]]), ValueError,
             "actions: expected an array of integers, got dtype object"),
        Case("one value short", _copy(np.zeros(3, np.int64)), ValueError,
             "actions: expected 4 values (agents x 2), got 3"),
        Case("vec env int64 wrap", _vec_step(lambda env: _rotate(env, 2**32 + 2)), ValueError,
             "actions: value 4294967298"),
        Case("vec env list beyond int32", _vec_step(lambda env: _rotate(env, -(2**31) - 1).tolist()), ValueError,
             "actions: value -2147483649"),
        Case("gym action beyond int32", _gym_step(lambda env: np.array([2, 2**32 + 2], np.int64)), ValueError,
             "actions: value 4294967298"),
        Case("pettingzoo action beyond int32", _parallel_step(2**32 + 2), ValueError,
             "agent_0: actions: value 4294967298"),
    ]


CASES = _bad_params_cases() + _buffer_and_map_cases() + _action_cases() + [
    Case("schema: rewarding the reward stat", _schema_rewarding_reward, ValueError,
         "env.game.agent.rewards.stats.reward: the reward stat cannot be rewarded"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_core_input_is_refused_in_one_line(case: Case):
    with pytest.raises(case.error) as info:
        case.call()
    message = str(info.value)
    lines = error_lines(message)
    assert len(lines) == 1, f"expected one line, got {message!r}"
    assert case.fragment in lines[0], f"{case.fragment!r} not in {lines[0]!r}"


def test_the_table_is_big_enough():
    assert len(CASES) >= 15


def test_a_refused_step_leaves_the_env_usable():
    """The refusal happens before the core steps: nothing changes, and the next step works."""
    env = _vec_env()
    before = env.buffers.actions.copy()
    step = env.current_step(0)
    with pytest.raises(ValueError):
        env.step(_rotate(env, 2**32 + 2))
    assert env.current_step(0) == step and (env.buffers.actions == before).all()
    env.step(_rotate(env, 2))
    assert env.current_step(0) == step + 1
    assert {o["orientation"] for o in env.grid_objects(0) if o["kind"] == "agent"} == {2}


def test_invalid_but_in_range_actions_still_fail_as_actions():
    """docs/mettagrid.md section 3: an int32 id or arg out of the game's range is a failed action."""
    h = Harness(MAP)
    h.step(np.array([[2**31 - 1, 0], [h.action_ids["rotate"], -(2**31)]], np.int32))
    assert h.stats(0)["action.invalid"] == 1 and h.stats(1)["action.invalid"] == 1
    assert h.stats(1)["action.rotate.failed"] == 1


def test_building_stock_saturates_instead_of_wrapping():
    """A mine of INT32_MAX ore per tick, uncapped: its stock stops at INT32_MAX."""
    params = make_params(1)
    mine = params["object_types"][2]
    mine.update(output=[[0, 2**31 - 1]], max_output=-1, cooldown=0, initial_resource_count=2**31 - 1)
    h = Harness("#####\n#1m.#\n#####", params=params)
    for _ in range(3):
        h.step("noop")
    (building,) = h.objects("mine_red")
    assert building["output"]["ore_red"] == 2**31 - 1


def test_copy_actions_accepts_what_int32_holds_exactly():
    dst = np.zeros((2, 2), np.int32)
    _core.copy_actions(np.array([[-(2**31), 2**31 - 1], [3.0, -0.0]]), dst)
    assert dst.tolist() == [[-(2**31), 2**31 - 1], [3, 0]]
    _core.copy_actions(np.array([[1, 2], [3, 4]], ">i8"), dst)  # byte-swapped input is read correctly
    assert dst.tolist() == [[1, 2], [3, 4]]
