"""Checkpoint format, atomic writes, the run's CheckpointManager and the trainer state."""

from __future__ import annotations

import json
import random
from datetime import datetime

import numpy as np
import pytest
import torch
from pydantic import BaseModel
from torch import nn

from metta.agent import policy_file
from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policy_file import (
    FORMAT,
    CheckpointError,
    checkpoint_name,
    load_policy,
    parse_checkpoint_name,
    read_metadata,
    save_policy,
    sidecar_path,
)
from metta.common.uri import atomic_write
from metta.rl.checkpoint import CheckpointManager, restore_rng_state

# ---------------------------------------------------------------------------------------------
# Policies to save: the real `make_policy` when the agent package has its policies, otherwise a
# stand-in with the same constructor shape (architecture config, env_info), patched into the
# checkpoint loader. Also used by tests/agent/test_policy_store.py.

ENV_INFO = PolicyEnvInfo(
    feature_names=("hp", "inv_ore", "wall"),
    action_names=("noop", "move", "rotate"),
    action_max_args=(0, 1, 3),
    obs_width=5,
    obs_height=5,
    num_observation_tokens=12,
)


class StandInArchitecture(BaseModel):
    name: str = "stand_in"
    hidden_size: int = 16


class StandInPolicy(nn.Module):
    """Token embedding -> LSTM -> heads, with a buffer, like the real policies."""

    def __init__(self, architecture: StandInArchitecture, env_info: PolicyEnvInfo):
        super().__init__()
        self.architecture, self.env_info = architecture, env_info
        hidden = architecture.hidden_size
        self.embed = nn.Linear(3, hidden)
        self.lstm = nn.LSTM(hidden, hidden)
        self.action_head = nn.Linear(hidden, sum(a + 1 for a in env_info.action_max_args))
        self.value_head = nn.Linear(hidden, 1)
        self.register_buffer("feature_max", torch.ones(env_info.num_features))

    def initial_state(self, batch_size: int):
        shape = (1, batch_size, self.architecture.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, obs, state, done=None):
        x = self.embed(obs.float() / 255.0).mean(dim=1) * self.feature_max.mean()
        out, state = self.lstm(x.unsqueeze(0), state)
        return self.action_head(out[0]), self.value_head(out[0]).squeeze(-1), state


def stand_in_make_policy(architecture: dict, env_info: PolicyEnvInfo) -> StandInPolicy:
    return StandInPolicy(StandInArchitecture.model_validate(architecture), env_info)


def real_make_policy():
    try:
        import metta.agent.policies.fast  # noqa: F401  (the real policies may not exist yet)
        from metta.agent.architectures import make_policy
    except ImportError:
        return None
    return make_policy


@pytest.fixture
def make_test_policy(monkeypatch):
    """`make_test_policy(seed, hidden_size)` -> a small policy whose save/load goes through
    the loader in metta.agent.policy_file (patched to the stand-in when needed)."""
    real = real_make_policy()
    if real is None:
        monkeypatch.setattr(
            policy_file,
            "_build_policy",
            lambda arch, env: stand_in_make_policy(arch, PolicyEnvInfo.from_dict(env)),
        )

    def make(seed: int = 0, hidden_size: int = 16) -> nn.Module:
        torch.manual_seed(seed)
        if real is not None:
            policy = real({"name": "fast", "hidden_size": hidden_size, "cnn_channels": 8}, ENV_INFO)
        else:
            policy = stand_in_make_policy({"hidden_size": hidden_size}, ENV_INFO)
        with torch.no_grad():  # non-default buffers, so the test sees that they travel too
            for buffer in policy.buffers():
                if buffer.is_floating_point():
                    buffer.copy_(torch.rand_like(buffer) * 4 + 1)
        return policy.eval()

    return make


def sample_obs(batch: int = 4, seed: int = 123) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    n = ENV_INFO.num_observation_tokens
    rows = torch.randint(0, ENV_INFO.obs_height, (batch, n), generator=gen)
    cols = torch.randint(0, ENV_INFO.obs_width, (batch, n), generator=gen)
    features = torch.randint(0, ENV_INFO.num_features, (batch, n), generator=gen)
    values = torch.randint(0, 6, (batch, n), generator=gen)
    obs = torch.stack([(rows << 4) | cols, features, values], dim=-1).to(torch.uint8)
    obs[:, n - 3 :] = 0xFF  # trailing padding, as the env writes it
    return obs


def policy_outputs(policy: nn.Module, obs: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    obs = sample_obs() if obs is None else obs
    policy.eval()
    with torch.no_grad():
        logits, value, _ = policy(obs, policy.initial_state(obs.shape[0]))
    return logits, value


def assert_same_outputs(a: nn.Module, b: nn.Module) -> None:
    for x, y in zip(policy_outputs(a), policy_outputs(b)):
        assert torch.equal(x, y)


def assert_one_line_naming(error: BaseException, name: str) -> None:
    text = str(error)
    assert "\n" not in text and name in text, text


# ---------------------------------------------------------------------------------------------
# names


def test_checkpoint_names_round_trip():
    assert checkpoint_name("my_run", 12) == "my_run:v12.pt"
    assert parse_checkpoint_name("my_run:v12.pt") == ("my_run", 12)
    assert parse_checkpoint_name("/x/y/team:exp:v3.pt") == ("team:exp", 3)
    for other in ("trainer_state.pt", "run:v3.json", "run:vx.pt", "run:v.pt", ":v3.pt", "run_v3.pt", "run:v3.pt\n",
                  "run:v²3.pt"):
        assert parse_checkpoint_name(other) is None, other
    assert sidecar_path("/a/run:v3.pt").name == "run:v3.json"


# ---------------------------------------------------------------------------------------------
# save / load


def test_save_load_round_trip(tmp_path, make_test_policy):
    policy = make_test_policy(seed=1)
    path = tmp_path / "run:v3.pt"
    save_policy(path, policy, {"agent_steps": 1234, "score": 0.75, "eval_scores": {"nav": 0.5}})

    loaded = load_policy(path)
    assert_same_outputs(policy, loaded)
    assert type(loaded) is type(policy)
    for key, value in policy.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key

    meta = loaded.checkpoint_metadata
    assert meta["format"] == FORMAT
    assert (meta["run"], meta["epoch"], meta["agent_steps"]) == ("run", 3, 1234)
    assert meta["score"] == 0.75 and meta["eval_scores"] == {"nav": 0.5}
    assert meta["env_info"] == ENV_INFO.to_dict()
    assert meta["architecture"]["hidden_size"] == 16
    assert datetime.fromisoformat(meta["created_at"]).tzinfo is not None
    assert json.loads(sidecar_path(path).read_text()) == meta
    assert read_metadata(path) == meta


def test_file_holds_only_weights_and_json(tmp_path, make_test_policy):
    path = tmp_path / "run:v1.pt"
    save_policy(path, make_test_policy(), {})
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"format", "state_dict", "metadata_json"}
    assert payload["format"] == FORMAT
    assert all(t.device.type == "cpu" for t in payload["state_dict"].values())
    meta = json.loads(payload["metadata_json"])
    assert meta["score"] is None and meta["eval_scores"] == {}


def test_metadata_without_sidecar_comes_from_the_file(tmp_path, make_test_policy):
    path = tmp_path / "run:v2.pt"
    save_policy(path, make_test_policy(), {"score": np.float32(2.5)})  # numpy scalars are fine
    sidecar_path(path).unlink()
    assert read_metadata(path)["score"] == 2.5
    sidecar_path(path).write_text("{ not json")  # a broken sidecar is ignored too
    assert read_metadata(path)["epoch"] == 2


def test_failed_write_leaves_previous_checkpoint_intact(tmp_path, make_test_policy):
    first = make_test_policy(seed=1)
    path = tmp_path / "run:v1.pt"
    save_policy(path, first, {"score": 1.0})
    before = path.read_bytes()

    def torch_save_that_dies(obj, file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    second = make_test_policy(seed=2)
    with pytest.MonkeyPatch.context() as patch:  # its own context: undo only this patch
        patch.setattr(torch, "save", torch_save_that_dies)
        with pytest.raises(OSError, match="disk full"):
            save_policy(path, second, {"score": 2.0})
        with pytest.raises(OSError, match="disk full"):
            save_policy(tmp_path / "run:v2.pt", second, {})

    assert path.read_bytes() == before
    assert_same_outputs(first, load_policy(path))
    assert read_metadata(path)["score"] == 1.0
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["run:v1.pt"], leftovers  # no temp file, no v2, no stale sidecar


def test_atomic_write_cleans_up_and_replaces(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    atomic_write(target, lambda f: f.write(b"one"))

    def boom(f):
        f.write(b"tw")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write(target, boom)
    assert target.read_bytes() == b"one"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]
    atomic_write(target, lambda f: f.write(b"two"))
    assert target.read_bytes() == b"two"


@pytest.mark.parametrize(
    "damage", ["truncated", "garbage", "empty", "other_format", "pickled_module", "bad_json"]
)
def test_unreadable_checkpoints_give_one_line_error(tmp_path, make_test_policy, damage):
    path = tmp_path / "run:v1.pt"
    save_policy(path, make_test_policy(), {})
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\x01 this is not a checkpoint" * 50)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "other_format":
        torch.save({"model": {"w": torch.zeros(2)}}, path)
    elif damage == "pickled_module":  # what the original did; weights_only must refuse it
        torch.save(nn.Linear(2, 2), path)
    elif damage == "bad_json":
        torch.save({"format": FORMAT, "state_dict": {}, "metadata_json": "{oops"}, path)
    with pytest.raises(CheckpointError) as info:
        load_policy(path)
    assert_one_line_naming(info.value, str(path))
    assert isinstance(info.value, ValueError)


def test_missing_file_and_mismatched_weights(tmp_path, make_test_policy):
    with pytest.raises(CheckpointError) as info:
        load_policy(tmp_path / "nope:v1.pt")
    assert_one_line_naming(info.value, "nope:v1.pt")

    path = tmp_path / "run:v1.pt"
    save_policy(path, make_test_policy(hidden_size=16), {})
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["metadata_json"])
    meta["architecture"]["hidden_size"] = 8  # metadata no longer matches the weights
    payload["metadata_json"] = json.dumps(meta)
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="do not fit") as info:
        load_policy(path)
    assert_one_line_naming(info.value, str(path))


def test_save_refuses_policy_without_description(tmp_path):
    with pytest.raises(ValueError, match="architecture"):
        save_policy(tmp_path / "run:v1.pt", nn.Linear(2, 2), {})


# ---------------------------------------------------------------------------------------------
# CheckpointManager


def test_manager_saves_and_finds_latest(tmp_path, make_test_policy):
    manager = CheckpointManager("exp", tmp_path / "exp")
    assert manager.latest() is None and manager.checkpoints() == []
    policies = {}
    for epoch in (1, 2, 10):  # 10 > 2 numerically, though "10" < "2" as text
        policies[epoch] = make_test_policy(seed=epoch)
        path = manager.save(
            policies[epoch], epoch, agent_steps=epoch * 100, extra_metadata={"score": epoch / 10}
        )
        assert path == tmp_path / "exp" / "checkpoints" / f"exp:v{epoch}.pt"
    manager.save_trainer_state({"epoch": 10, "agent_steps": 1000})
    (manager.checkpoint_dir / "other:v99.pt").write_bytes(b"another run's file")

    assert [e for e, _ in manager.checkpoints()] == [1, 2, 10]
    assert manager.latest() == manager.path_for(10)
    loaded = load_policy(manager.latest())
    assert_same_outputs(policies[10], loaded)
    assert loaded.checkpoint_metadata["agent_steps"] == 1000 and loaded.checkpoint_metadata["score"] == 1.0
    assert loaded.checkpoint_metadata["run"] == "exp" and loaded.checkpoint_metadata["epoch"] == 10


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def draw_randoms() -> list:
    return [
        random.random(),
        random.gauss(0, 1),
        float(np.random.rand()),
        float(np.random.randn()),
        torch.rand(4).tolist(),
        torch.randn(2).tolist(),
    ]


def test_trainer_state_round_trip_with_rng(tmp_path, make_test_policy):
    manager = CheckpointManager("exp", tmp_path)
    policy = make_test_policy().train()
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-3)
    logits, value = policy(sample_obs(), policy.initial_state(4))[:2]
    (logits.pow(2).mean() + value.pow(2).mean()).backward()
    optimizer.step()

    seed_everything(7)
    random.gauss(0, 1)  # leaves a cached gaussian in python's state
    np.random.randn()  # and in numpy's
    manager.save_trainer_state({"optimizer": optimizer.state_dict(), "epoch": 3, "agent_steps": 4096})
    expected = draw_randoms()

    seed_everything(999)
    # The file must load under weights_only=True, i.e. contain no pickled objects.
    raw = torch.load(manager.trainer_state_path, weights_only=True)
    assert raw["epoch"] == 3 and raw["agent_steps"] == 4096
    state = manager.load_trainer_state()
    restore_rng_state(state["rng"])
    assert draw_randoms() == expected

    fresh = torch.optim.Adam(make_test_policy().train().parameters(), lr=1e-3)
    fresh.load_state_dict(state["optimizer"])
    for key, value in optimizer.state_dict()["state"].items():
        for name, tensor in value.items():
            assert torch.equal(
                torch.as_tensor(tensor), torch.as_tensor(fresh.state_dict()["state"][key][name])
            )
    assert fresh.param_groups[0]["lr"] == 1e-3


def test_trainer_state_absent_corrupt_and_invalid(tmp_path):
    manager = CheckpointManager("exp", tmp_path)
    assert manager.load_trainer_state() is None
    with pytest.raises(ValueError, match="epoch"):
        manager.save_trainer_state({"agent_steps": 1})
    manager.checkpoint_dir.mkdir(parents=True)
    manager.trainer_state_path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError) as info:
        manager.load_trainer_state()
    assert_one_line_naming(info.value, "trainer_state.pt")


def test_crash_between_policy_and_trainer_state_leaves_a_consistent_resume(tmp_path, make_test_policy):
    manager = CheckpointManager("exp", tmp_path)
    manager.save(make_test_policy(seed=1), 1, agent_steps=10)
    manager.save_trainer_state({"epoch": 1, "agent_steps": 10})
    newer = make_test_policy(seed=2)
    manager.save(newer, 2, agent_steps=20)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # killed while writing the trainer state

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch, "save", crash)
        with pytest.raises(KeyboardInterrupt):
            manager.save_trainer_state({"epoch": 2, "agent_steps": 20})

    state = manager.load_trainer_state()
    assert state["epoch"] == 1
    assert load_policy(manager.path_for(state["epoch"])).checkpoint_metadata["agent_steps"] == 10
    assert_same_outputs(newer, load_policy(manager.latest()))
    assert sorted(p.name for p in manager.checkpoint_dir.iterdir()) == [
        "exp:v1.json",
        "exp:v1.pt",
        "exp:v2.json",
        "exp:v2.pt",
        "trainer_state.pt",
    ]


def test_prune_keeps_newest_and_the_resume_point(tmp_path, make_test_policy):
    manager = CheckpointManager("exp", tmp_path)
    policy = make_test_policy()
    for epoch in range(1, 6):
        manager.save(policy, epoch, agent_steps=epoch)
    manager.save_trainer_state({"epoch": 2, "agent_steps": 2})
    removed = manager.prune(keep_last=2)
    assert sorted(p.name for p in removed) == ["exp:v1.pt", "exp:v3.pt"]
    assert [e for e, _ in manager.checkpoints()] == [2, 4, 5]
    assert not sidecar_path(manager.path_for(1)).exists()
    with pytest.raises(ValueError):
        manager.prune(0)


def test_resume_order_tries_the_states_checkpoint_then_newest_first_and_bad_ones_go_aside(tmp_path, make_test_policy):
    manager = CheckpointManager("exp", tmp_path)
    policy = make_test_policy()
    for epoch in (1, 2, 3, 4):
        manager.save(policy, epoch, epoch * 10)
    manager.save_trainer_state({"epoch": 2, "agent_steps": 20})
    state = manager.load_trainer_state()
    assert [epoch for epoch, _ in manager.resume_order(state)] == [2, 4, 3, 1]
    assert [epoch for epoch, _ in manager.resume_order(None)] == [4, 3, 2, 1]
    moved = manager.set_aside(manager.path_for(4))
    assert moved.name == "exp:v4.pt.unusable" and moved.is_file()
    assert not policy_file.sidecar_path(manager.path_for(4)).exists()
    assert manager.latest() == manager.path_for(3)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_weights_that_are_not_finite_are_refused_naming_file_and_tensor(tmp_path, make_test_policy, value):
    policy = make_test_policy()
    name, parameter = next(iter(policy.named_parameters()))
    with torch.no_grad():
        parameter.view(-1)[-1] = value
    path = tmp_path / "exp:v1.pt"
    save_policy(path, policy, {"epoch": 1})
    with pytest.raises(CheckpointError) as caught:
        load_policy(path)
    assert_one_line_naming(caught.value, str(path))
    assert repr(name) in str(caught.value) and ("NaN" if value != value else "Inf") in str(caught.value)


def test_a_trainer_state_without_epoch_or_steps_is_refused(tmp_path):
    manager = CheckpointManager("exp", tmp_path)
    manager.save_trainer_state({"epoch": 3})
    with pytest.raises(CheckpointError, match="without a valid epoch and agent_steps"):
        manager.load_trainer_state()
