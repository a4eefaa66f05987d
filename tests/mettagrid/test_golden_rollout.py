"""Golden rollout: a fixed arena/combat rollout must reproduce a stored record bit for bit.

The record (`golden/arena_basic_seed7.json`) holds, for every step of a 120-step rollout of
`mettagrid/arena/combat` (game.max_steps=60, 2 envs, seed 7, random valid actions from
`np.random.default_rng(7)`), the sha256 of the observation buffer and of the reward buffer,
and the episode results of the run (floats rounded). Any change to the rules, observations,
rewards, seeding, map builders or the arena config shows up here.

* An accidental change fails this test, which names the first step that differs.
* A deliberate rule change regenerates the record; review and commit the new file with it:

      METTA_UPDATE_GOLDEN=1 pytest tests/mettagrid/test_golden_rollout.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("mettagrid._core")

from mettagrid.env_configs import compose_env_config
from mettagrid.vec_env import MettaGridVecEnv

GOLDEN = Path(__file__).parent / "golden" / "arena_basic_seed7.json"
SETUP = {
    "env": "mettagrid/arena/combat",
    "overrides": ["game.max_steps=60"],
    "num_envs": 2,
    "seed": 7,
    "action_seed": 7,
    "steps": 120,
}
DIGITS = 5  # episode result floats are rounded to this many decimals


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def rounded(value: Any) -> Any:
    """JSON-ready copy of an episode result with floats rounded (ints and names unchanged)."""
    if isinstance(value, dict):
        return {str(k): rounded(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), DIGITS)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return value


def record_rollout() -> dict[str, Any]:
    config = compose_env_config(SETUP["env"], SETUP["overrides"])
    env = MettaGridVecEnv(config, num_envs=SETUP["num_envs"], seed=SETUP["seed"])
    rng = np.random.default_rng(SETUP["action_seed"])
    obs = env.reset()
    steps = [{"step": 0, "obs": sha256(obs), "rewards": sha256(env.buffers.rewards)}]
    results = []
    for step in range(1, SETUP["steps"] + 1):
        obs, rewards, _, _ = env.step(env.valid_random_actions(rng))
        steps.append({"step": step, "obs": sha256(obs), "rewards": sha256(rewards)})
        results += env.episode_results()
    env.close()
    return {**SETUP, "steps_record": steps, "episode_results": rounded(results)}


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, as a readable path, or None if they are equal."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual)):
            if key not in expected or key not in actual:
                return f"{path}[{key!r}] present in only one of them"
            where = first_difference(expected[key], actual[key], f"{path}[{key!r}]")
            if where:
                return where
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for i, (e, a) in enumerate(zip(expected, actual)):
            where = first_difference(e, a, f"{path}[{i}]")
            if where:
                return where
        if len(expected) != len(actual):
            return f"{path}: {len(expected)} entries stored, {len(actual)} now"
        return None
    return None if expected == actual else f"{path}: stored {expected!r}, now {actual!r}"


def test_golden_rollout():
    actual = record_rollout()
    if os.environ.get("METTA_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(actual, indent=1) + "\n")
        pytest.skip(f"regenerated {GOLDEN.name}")
    assert GOLDEN.exists(), f"{GOLDEN} is missing; create it with METTA_UPDATE_GOLDEN=1"
    expected = json.loads(GOLDEN.read_text())
    hint = " (a deliberate rule change? regenerate with METTA_UPDATE_GOLDEN=1)"

    setup = {key: expected.get(key) for key in SETUP}
    assert setup == SETUP, f"the stored record was made with another setup: {setup}"
    for stored, now in zip(expected["steps_record"], actual["steps_record"]):
        for buffer in ("obs", "rewards"):
            assert stored[buffer] == now[buffer], (
                f"first difference at step {now['step']}: the {buffer} buffer differs" + hint
            )
    assert len(expected["steps_record"]) == len(actual["steps_record"])
    where = first_difference(expected["episode_results"], actual["episode_results"])
    assert where is None, f"episode results differ at episode_results{where}" + hint
