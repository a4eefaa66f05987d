"""Boundary checks of the binding: buffers, params and maps (docs/mettagrid.md sections 9-10)."""

import numpy as np
import pytest

from mettagrid import _core
from tests.mettagrid.core_helpers import Harness, make_params, parse_map

ROOM = """
#####
#.@.#
#####
"""


def fresh(num_envs=2):
    h = Harness(ROOM, num_envs=num_envs, reset=False)
    n = num_envs
    bufs = dict(
        observations=np.zeros((n, 200, 3), dtype=np.uint8),
        actions=np.zeros((n, 2), dtype=np.int32),
        rewards=np.zeros(n, dtype=np.float32),
        terminals=np.zeros(n, dtype=bool),
        truncations=np.zeros(n, dtype=bool),
    )
    return h, bufs


@pytest.mark.parametrize("name,bad,message", [
    ("observations", np.zeros((2, 200, 3), dtype=np.float32), "observations: expected dtype uint8, got float32"),
    ("observations", np.zeros((2, 100, 3), dtype=np.uint8), "observations: expected shape (2, 200, 3), got (2, 100, 3)"),
    ("actions", np.zeros((2, 2), dtype=np.int64), "actions: expected dtype int32, got int64"),
    ("actions", np.zeros((4, 2), dtype=np.int32)[::2], "actions: must be C-contiguous"),
    ("rewards", np.zeros(2, dtype=np.float64), "rewards: expected dtype float32, got float64"),
    ("rewards", np.zeros((2, 1), dtype=np.float32), "rewards: expected shape (2,), got (2, 1)"),
    ("terminals", np.zeros(2, dtype=np.uint8), "terminals: expected dtype bool, got uint8"),
    ("truncations", np.zeros(3, dtype=bool), "truncations: expected shape (2,), got (3,)"),
    ("observations", np.zeros((2, 3, 200), dtype=np.uint8).transpose(0, 2, 1), "observations: must be C-contiguous"),
])
def test_bad_buffers_raise_naming_the_buffer(name, bad, message):
    h, bufs = fresh()
    bufs[name] = bad
    with pytest.raises(ValueError) as e:
        h.env.set_buffers(**bufs)
    assert message in str(e.value)


def test_read_only_output_buffer_is_rejected():
    h, bufs = fresh()
    bufs["rewards"].setflags(write=False)
    with pytest.raises(ValueError, match="rewards: must be writeable"):
        h.env.set_buffers(**bufs)


def test_buffers_are_borrowed_not_copied():
    h, bufs = fresh()
    h.env.set_buffers(**bufs)
    obs = bufs["observations"]
    del bufs  # the VecEnv keeps the arrays alive
    h.env.reset()
    assert obs[0, 0, 1] == 8 and obs[1, 0, 1] == 8
    assert (obs[0, -1] == 255).all()


def test_step_before_buffers_or_reset_raises():
    env = _core.VecEnv(make_params(1), 1, 0)
    env.set_map(0, parse_map(ROOM))
    with pytest.raises(RuntimeError, match="set_buffers"):
        env.step()
    h = Harness(ROOM, reset=False)
    with pytest.raises(RuntimeError, match="reset"):
        h.env.step()


def test_reset_without_map_raises():
    env = _core.VecEnv(make_params(1), 2, 0)
    env.set_map(0, parse_map(ROOM))
    env.set_buffers(np.zeros((2, 200, 3), np.uint8), np.zeros((2, 2), np.int32), np.zeros(2, np.float32),
                    np.zeros(2, bool), np.zeros(2, bool))
    with pytest.raises(RuntimeError, match="env 1 has no map"):
        env.reset()


def test_core_invariants_name_the_key():
    # Types and missing keys are the schema's job (tests/mettagrid/test_config.py); the core
    # trusts the compiled dict's types but still refuses params that would break its invariants.
    p = make_params(1)
    p["groups"][0]["resource_limits"] = [1, 2]
    with pytest.raises(ValueError, match=r'params\["groups"\]\[0\]\["resource_limits"\]: expected 5 entries'):
        _core.VecEnv(p, 1, 0)
    p = make_params(1)
    p["actions"][0]["name"] = "dance"
    with pytest.raises(ValueError, match='unknown action "dance"'):
        _core.VecEnv(p, 1, 0)
    p = make_params(1)
    p["obs_width"] = 10
    with pytest.raises(ValueError, match=r'params\["obs_width"\]: must be odd'):
        _core.VecEnv(p, 1, 0)
    p = make_params(1)
    p["groups"][0]["stat_rewards"] = [["no.such.stat", 1.0, 1.0]]
    with pytest.raises(ValueError, match="unknown agent stat"):
        _core.VecEnv(p, 1, 0)


def test_map_with_wrong_agent_count():
    env = _core.VecEnv(make_params(3), 1, 0)
    with pytest.raises(ValueError, match="map has 1 agents, expected num_agents = 3"):
        env.set_map(0, parse_map(ROOM))


def test_map_with_bad_codes_or_shape():
    env = _core.VecEnv(make_params(1), 1, 0)
    grid = parse_map(ROOM)
    grid[0, 0] = 99
    with pytest.raises(ValueError, match=r"cell \(0, 0\) has code 99"):
        env.set_map(0, grid)
    with pytest.raises(ValueError, match="grid: expected a 2-d array"):
        env.set_map(0, np.zeros(5, np.int32))
    with pytest.raises(ValueError, match="grid: expected an integer array"):
        env.set_map(0, parse_map(ROOM).astype(np.float32))
    with pytest.raises(IndexError):
        env.set_map(3, parse_map(ROOM))


def test_inspection_shapes():
    h = Harness(ROOM, num_envs=2)
    assert h.env.agent_inventory(1).shape == (1, 5) and h.env.agent_inventory(1).dtype == np.int32
    assert h.env.agent_positions(1).tolist() == [[1, 2]]
    assert h.env.episode_rewards(0).dtype == np.float32
    assert h.env.current_step(1) == 0
    kinds = {o["kind"] for o in h.env.grid_objects(0)}
    assert kinds == {"agent", "wall"}
