"""Imitation from a recorded demonstration file: recorded as a user would (python -m
metta.rl.demonstrations), learnt from by the action_supervised row, bad files refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from metta.rl.demonstrations import Demonstrations
from metta.rl.loss_zoo import action_supervised_loss
from metta.rl.losses import ActionSupervisedConfig
from tests.rl.test_loss_zoo import make_batch, nav, tiny_policy  # noqa: F401  (nav is a fixture)
from tests.tools.test_train_tool import TINY, run_train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demos") / "scripted.npz"
    result = subprocess.run([sys.executable, "-m", "metta.rl.demonstrations", "--env", "mettagrid/navigation",
                             "--policy", "metta://policy/scripted", "--steps", "48", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert f"written to {out}" in result.stdout
    return out


def test_the_file_holds_what_the_scripted_player_did(recorded):
    with np.load(recorded) as data:
        obs, actions, resets = data["obs"], data["actions"], data["resets"]
        assert obs.shape[:2] == (48, 8) and obs.shape[-1] == 3 and obs.dtype == np.uint8
        assert actions.shape == (48, 8, 2) and resets[0].all()
        assert "move" in list(data["action_names"])
    assert len({tuple(a) for a in actions.reshape(-1, 2)}) > 1  # a player, not a constant


def test_imitating_the_file_raises_the_recorded_actions_log_prob(nav, recorded):  # noqa: F811
    info, obs = nav
    policy = tiny_policy(info)
    demos = Demonstrations(str(recorded), policy, torch.device("cpu"), seed=0)
    everything = (demos.obs, demos.targets, demos.resets)

    def recorded_ce() -> float:
        with torch.no_grad():
            state = policy.initial_state(everything[0].shape[1])
            logits, _, _ = policy.forward_sequence(everything[0], state, everything[2])
            log_probs = torch.log_softmax(logits, -1).gather(-1, everything[1].clamp(min=0)[..., None])[..., 0]
            return float(-(log_probs * (everything[1] >= 0)).sum() / (everything[1] >= 0).sum())

    before = recorded_ce()
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-3)
    cfg = ActionSupervisedConfig(enabled=True, demonstrations_uri=str(recorded))
    for _ in range(40):
        batch = make_batch(policy, obs)
        batch.state = {"action_supervised": demos}
        loss, metrics = action_supervised_loss(batch, cfg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert "action_supervised_loss" in metrics
    assert recorded_ce() < before - 0.3, (before, recorded_ce())


def test_a_run_learns_from_the_file_end_to_end(tmp_path, recorded):
    result = run_train("run=imitate", f"train_dir={tmp_path}", "trainer.total_timesteps=1024", *TINY,
                       "trainer.losses.action_supervised.enabled=true",
                       f"trainer.losses.action_supervised.demonstrations_uri={recorded}")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "imitate" / "metrics.jsonl").read_text().splitlines()]
    assert all("losses/action_supervised_loss" in row for row in rows)


@pytest.mark.parametrize("content, words", [
    (b"not an npz", "demonstrations_uri"),
    (None, "No such file"),
])
def test_a_bad_file_is_refused_in_one_line(tmp_path, content, words):
    path = tmp_path / "bad.npz"
    if content is not None:
        path.write_bytes(content)
    result = run_train("run=bad", f"train_dir={tmp_path}", *TINY, "trainer.losses.action_supervised.enabled=true",
                       f"trainer.losses.action_supervised.demonstrations_uri={path}")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and words in result.stderr and str(path) in result.stderr
