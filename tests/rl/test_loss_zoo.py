"""The loss zoo (metta/rl/loss_zoo.py): each loss moves the gradient as specified on a tiny
hand-made batch, the rows' settings validate, and each row trains end to end through
tools/train.py with its metrics logged and its head saved and resumed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from metta.agent.architectures import make_policy
from metta.agent.env_info import PolicyEnvInfo
from metta.rl.experience import LossBatch
from metta.rl.loss_zoo import (
    Kickstarter,
    action_supervised_loss,
    contrastive_head,
    dynamics_head,
    dynamics_loss,
    feature_histogram,
    group_advantages,
    grpo_loss,
    info_nce,
    kickstart_weight,
    kickstarter_loss,
)
from metta.rl.losses import ActionSupervisedConfig, DynamicsConfig, GRPOConfig, KickstarterConfig
from metta.rl.teacher import GuideBatch
from metta.rl.trainer_config import TrainerConfig
from metta.rl.training_env import TrainingEnv
from mettagrid.env_configs import compose_env_config
from tests.tools.test_train_tool import TINY, run_train

T, S = 6, 8  # steps per segment, segments (2 envs x 4 agents)


@pytest.fixture(scope="module")
def nav():
    """The navigation env's PolicyEnvInfo and (T, S, N, 3) real observations."""
    env = TrainingEnv(compose_env_config("mettagrid/navigation"), num_envs=2, num_workers=1, seed=5)
    info = PolicyEnvInfo.from_vec_env(env.vec)
    rng = np.random.default_rng(0)
    frames = [env.reset()]
    for _ in range(T - 1):
        actions = np.stack([rng.integers(0, 2, env.num_agents), np.zeros(env.num_agents, dtype=np.int64)], axis=1)
        frames.append(env.step(actions.astype(np.int32))[0])
    env.close()
    return info, torch.as_tensor(np.stack(frames))


def tiny_policy(info: PolicyEnvInfo, seed: int = 0):
    torch.manual_seed(seed)
    return make_policy({"name": "fast", "cnn_channels": 8, "hidden_size": 32}, info)


def make_batch(policy, obs: torch.Tensor, **mb_extra) -> LossBatch:
    """A LossBatch of the policy's current outputs on `obs`, as Trainer.update builds it."""
    state = policy.initial_state(obs.shape[1])
    resets = torch.zeros(obs.shape[:2], dtype=torch.bool)
    logits, values, _, hidden = policy.forward_sequence(obs, state, resets, return_hidden=True)
    mb = {"obs": obs, "resets": resets, "dones": torch.zeros(obs.shape[:2]), "rewards": torch.zeros(obs.shape[:2]),
          "actions": torch.zeros(obs.shape[:2], dtype=torch.long), "logprobs": torch.zeros(obs.shape[:2]),
          **mb_extra}
    return LossBatch(policy, logits.reshape(-1, logits.shape[-1]), values, mb, 0.99, 0.95, hidden=hidden,
                     aux=torch.nn.ModuleDict())


def test_forward_sequence_returns_the_heads_input(nav):
    info, obs = nav
    policy = tiny_policy(info)
    state = policy.initial_state(S)
    logits, values, _ = policy.forward_sequence(obs, state)
    logits2, values2, _, hidden = policy.forward_sequence(obs, state, return_hidden=True)
    assert hidden.shape == (T, S, 32)
    assert torch.allclose(logits, logits2) and torch.allclose(policy.action_head(hidden), logits)


# -- kickstarter --------------------------------------------------------------------------------


def test_kickstart_weight_is_flat_then_anneals_to_zero_then_off():
    cfg = KickstarterConfig(enabled=True, teacher_uri="x", kickstart_steps=1000, anneal_ratio=0.4)
    assert [kickstart_weight(cfg, step) for step in (0, 599, 600, 800, 1000, 5000)] == [1, 1, 1, 0.5, 0, 0]
    assert kickstart_weight(cfg, 900) == pytest.approx(0.25)
    no_anneal = cfg.model_copy(update={"anneal_ratio": 0.0})
    assert [kickstart_weight(no_anneal, step) for step in (0, 999, 1000)] == [1, 1, 0]
    all_anneal = cfg.model_copy(update={"anneal_ratio": 1.0})
    assert kickstart_weight(all_anneal, 0) == 1 and kickstart_weight(all_anneal, 250) == pytest.approx(0.75)


def test_kickstarter_pulls_logits_and_value_toward_the_teacher(nav):
    info, obs = nav
    student, teacher = tiny_policy(info, 0), tiny_policy(info, 1)
    with torch.no_grad():  # a confident teacher with a distinct value
        teacher.action_head.bias[3] = 8.0
        teacher.value_head.bias.fill_(2.0)
    kick = Kickstarter.__new__(Kickstarter)
    kick.teachers = [(teacher.eval().requires_grad_(False), 1.0, 1.0)]
    cfg = KickstarterConfig(enabled=True, teacher_uri="x", kickstart_steps=10_000)
    optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
    history = []
    for _ in range(30):
        batch = make_batch(student, obs)
        batch.state = {"kickstarter": kick}
        loss, metrics = kickstarter_loss(batch, cfg)
        history.append((float(metrics["kickstarter_action_loss"]), float(metrics["kickstarter_value_loss"])))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert history[-1][0] < history[0][0] - 1.0, history
    assert history[-1][1] < history[0][1] / 4, history
    # Off after kickstart_steps: a zero loss with no pull.
    batch = make_batch(student, obs)
    batch.state, batch.agent_steps = {"kickstarter": kick}, 10_000
    loss, metrics = kickstarter_loss(batch, cfg)
    assert float(loss.detach()) == 0 and float(metrics["kickstarter_weight"]) == 0


# -- action_supervised --------------------------------------------------------------------------


def test_action_supervised_raises_the_log_prob_of_the_labelled_action(nav):
    info, obs = nav
    policy = tiny_policy(info)
    batch = make_batch(policy, obs)
    batch.logits.retain_grad()
    target = torch.arange(T * S) % policy.num_pairs
    target[:5] = -1  # actions the student cannot express are left out
    batch.guide = GuideBatch(target=target, ppo=torch.ones(T * S, dtype=torch.bool), bc=target >= 0)
    loss, metrics = action_supervised_loss(batch, ActionSupervisedConfig(enabled=True, action_loss_coef=2.0))
    loss.backward()
    grad = batch.logits.grad
    picked = grad.gather(1, target.clamp(min=0)[:, None]).squeeze(1)
    assert (picked[5:] < 0).all()  # descending the loss raises the labelled logit
    assert (grad[:5] == 0).all()  # unlabelled steps give no gradient
    assert float(metrics["action_supervised_loss"]) == pytest.approx(np.log(policy.num_pairs), rel=0.05)


# -- grpo ---------------------------------------------------------------------------------------


def test_group_advantages_sum_to_zero_per_group_and_rank_the_members():
    rewards = torch.zeros(4, 6)  # 4 steps, 2 envs of 3 agents; bptt 2
    rewards[1, 0], rewards[1, 1], rewards[3, 4] = 1.0, 0.5, 2.0
    advantages = group_advantages(rewards, torch.zeros(4, 6), gamma=0.9, bptt_horizon=2, group_size=3)
    per_group = advantages.view(4, 2, 3)
    assert torch.allclose(per_group.sum(-1), torch.zeros(4, 2), atol=1e-5)
    assert advantages[0, 0] > advantages[0, 1] > advantages[0, 2]  # reward-to-go 0.9 > 0.45 > 0
    assert (per_group[0, 1] == 0).all()  # env 1 earns nothing in the first segment: all equal, 0
    assert advantages[2, 4] > 0 and advantages[2, 3] < 0  # the second segment sees only its own rewards
    # A done cuts the reward-to-go: step 0's return no longer sees step 1's reward.
    dones = torch.zeros(4, 6)
    dones[0, 0] = 1.0
    cut = group_advantages(rewards, dones, gamma=0.9, bptt_horizon=2, group_size=3)
    assert cut[0, 0] < cut[0, 1]


def test_grpo_moves_the_policy_with_group_advantages_and_never_the_critic(nav):
    info, obs = nav
    policy = tiny_policy(info)
    rewards = torch.zeros(T, S)
    rewards[:, 0] = 1.0  # agent 0 of env 0 does best in its group
    advantages = group_advantages(rewards, torch.zeros(T, S), 0.99, T, 4)
    with torch.no_grad():
        batch = make_batch(policy, obs)
        old = policy.evaluate_actions(batch.logits, torch.zeros(T * S, dtype=torch.long))[0].view(T, S)
    batch = make_batch(policy, obs, grpo_advantages=advantages, logprobs=old)
    loss, _ = grpo_loss(batch, GRPOConfig(enabled=True, ent_coef=0.0))
    loss.backward()
    assert policy.value_head.weight.grad is None or not policy.value_head.weight.grad.any()
    optimizer = torch.optim.SGD(policy.parameters(), lr=0.5)
    optimizer.step()
    with torch.no_grad():
        new = policy.evaluate_actions(make_batch(policy, obs).logits, torch.zeros(T * S, dtype=torch.long))[0]
    change = (new.view(T, S) - old)
    assert change[:, 0].mean() > change[:, 1:4].mean()  # the best of the group gained most


# -- contrastive --------------------------------------------------------------------------------


def test_info_nce_is_lower_for_temporal_neighbours_than_for_shuffled_steps():
    torch.manual_seed(0)
    base = torch.randn(1, S, 16)
    smooth = base + 0.05 * torch.randn(T, S, 16)  # each segment drifts slowly: neighbours match
    shuffled = smooth[:, torch.randperm(S)][torch.arange(T)[:, None], torch.stack([torch.randperm(S) for _ in range(T)])]
    dones = torch.zeros(T, S)
    matched, accuracy = info_nce(smooth, dones, 1, 0.1)
    mixed, _ = info_nce(shuffled, dones, 1, 0.1)
    assert float(matched) < float(mixed) - 1.0 and float(accuracy) == 1.0
    # A pair across an episode end is left out: with every pair cut, nothing is scored.
    loss, _ = info_nce(shuffled, torch.ones(T, S), 1, 0.1)
    assert float(loss) == 0.0


def test_contrastive_gradient_reaches_its_head_and_the_core(nav):
    from metta.rl.loss_zoo import contrastive_loss
    from metta.rl.losses import ContrastiveConfig

    info, obs = nav
    policy = tiny_policy(info)
    cfg = ContrastiveConfig(enabled=True)
    batch = make_batch(policy, obs)
    batch.aux = torch.nn.ModuleDict({"contrastive": contrastive_head(cfg, policy)})
    loss, metrics = contrastive_loss(batch, cfg)
    loss.backward()
    assert batch.aux["contrastive"][0].weight.grad.abs().sum() > 0
    assert policy.lstm.weight_ih_l0.grad.abs().sum() > 0
    assert 0 <= float(metrics["contrastive_accuracy"]) <= 1


# -- dynamics -----------------------------------------------------------------------------------


def test_feature_histogram_counts_real_tokens_per_feature():
    obs = torch.full((1, 5, 3), 0xFF, dtype=torch.uint8)
    obs[0, :3] = torch.tensor([[0x11, 2, 1], [0x12, 2, 7], [0x13, 0, 1]], dtype=torch.uint8)
    assert torch.allclose(feature_histogram(obs, 4), torch.log1p(torch.tensor([[1.0, 0, 2, 0]])))


def test_dynamics_gradient_reaches_its_head_and_the_core_and_fits(nav):
    info, obs = nav
    policy = tiny_policy(info)
    cfg = DynamicsConfig(enabled=True)
    head = dynamics_head(cfg, policy)
    rewards = torch.zeros(T, S)
    rewards[2] = 1.0
    batch = make_batch(policy, obs, rewards=rewards)
    batch.aux = torch.nn.ModuleDict({"dynamics": head})
    loss, first = dynamics_loss(batch, cfg)
    loss.backward()
    assert head.net[0].weight.grad.abs().sum() > 0
    assert policy.lstm.weight_ih_l0.grad.abs().sum() > 0 and policy.encoder is not None
    optimizer = torch.optim.Adam([*policy.parameters(), *head.parameters()], lr=3e-3)
    for _ in range(40):
        batch = make_batch(policy, obs, rewards=rewards)
        batch.aux = torch.nn.ModuleDict({"dynamics": head})
        loss, last = dynamics_loss(batch, cfg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(last["dynamics_obs_loss"]) < float(first["dynamics_obs_loss"]) / 3


# -- configuration ------------------------------------------------------------------------------

BASE = {"total_timesteps": 10, "batch_size": 64, "minibatch_size": 64, "bptt_horizon": 8}


def test_ppo_umbrella_switches_both_rows_off():
    cfg = TrainerConfig(**BASE, losses={"ppo": {"enabled": False}, "grpo": {"enabled": True}})
    assert not cfg.losses.ppo_actor.enabled and not cfg.losses.ppo_critic.enabled and cfg.losses.grpo.enabled
    with pytest.raises(ValidationError, match="no loss is enabled"):
        TrainerConfig(**BASE, losses={"ppo": {"enabled": False}})


def test_the_originals_kickstart_spelling_is_the_kickstarter_row():
    cfg = TrainerConfig(**BASE, kickstart={"teacher_uri": "t.pt", "anneal_ratio": 0.2, "kickstart_steps": 50,
                                           "additional_teachers": [{"teacher_uri": "u.pt", "value_loss_coef": 0}]})
    row = cfg.losses.kickstarter
    assert row.enabled and row.anneal_ratio == 0.2 and row.kickstart_steps == 50
    assert [(t.teacher_uri, t.value_loss_coef) for t in row.teachers()] == [("t.pt", 1.0), ("u.pt", 0.0)]
    assert not TrainerConfig(**BASE, kickstart={"anneal_ratio": 0.5}).losses.kickstarter.enabled
    with pytest.raises(ValidationError, match="use one"):
        TrainerConfig(**BASE, kickstart={"teacher_uri": "t.pt"},
                      losses={"kickstarter": {"enabled": True, "teacher_uri": "u.pt"}})


# -- end to end through tools/train.py ----------------------------------------------------------


def metric_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def teacher_checkpoint(tmp_path_factory) -> str:
    """A short PPO run's checkpoints, as a policy URI (its newest checkpoint)."""
    where = tmp_path_factory.mktemp("teacher")
    result = run_train("run=teacher", f"train_dir={where}", "trainer.total_timesteps=512", *TINY)
    assert result.returncode == 0, result.stderr
    return f"file://{where}/teacher/checkpoints"


@pytest.mark.parametrize("overrides, metrics", [
    (["trainer.losses.ppo.enabled=false", "trainer.losses.grpo.enabled=true"], ["grpo_policy_loss"]),
    (["trainer.losses.action_supervised.enabled=true",
      "trainer.losses.action_supervised.supervisor_uri=metta://policy/scripted"], ["action_supervised_loss"]),
    (["trainer.losses.contrastive.enabled=true", "trainer.losses.dynamics.enabled=true"],
     ["contrastive_loss", "dynamics_obs_loss", "dynamics_reward_loss", "policy_loss", "value_loss"]),
])
def test_each_row_trains_and_logs(tmp_path, overrides, metrics):
    result = run_train("run=zoo", f"train_dir={tmp_path}", "trainer.total_timesteps=1024", *TINY, *overrides)
    assert result.returncode == 0, result.stderr
    rows = metric_rows(tmp_path / "zoo")
    for name in metrics:
        assert all(f"losses/{name}" in row for row in rows), (name, rows[-1].keys())
    if "trainer.losses.ppo.enabled=false" in overrides:
        assert all("losses/policy_loss" not in row and "losses/value_loss" not in row for row in rows)


def test_kickstarter_trains_with_the_originals_keys_and_switches_off(tmp_path, teacher_checkpoint):
    kickstart = f'+trainer.kickstart={{teacher_uri: "{teacher_checkpoint}", kickstart_steps: 1024, anneal_ratio: 0.5}}'
    result = run_train("run=ks", f"train_dir={tmp_path}", "trainer.total_timesteps=1536", *TINY, kickstart)
    assert result.returncode == 0, result.stderr
    rows = metric_rows(tmp_path / "ks")
    assert [row["losses/kickstarter_weight"] for row in rows] == [1.0, 1.0, 0.0]
    assert rows[0]["losses/kickstarter_action_loss"] > 0 and rows[-1]["losses/kickstarter_action_loss"] == 0


def test_a_run_with_aux_heads_saves_and_resumes_them(tmp_path):
    args = ["run=aux", f"train_dir={tmp_path}", *TINY, "trainer.losses.contrastive.enabled=true"]
    assert run_train(*args, "trainer.total_timesteps=512").returncode == 0
    state_path = tmp_path / "aux" / "checkpoints" / "trainer_state.pt"
    saved = torch.load(state_path, weights_only=True)["aux_heads"]["contrastive"]
    result = run_train(*args, "trainer.total_timesteps=1024")
    assert result.returncode == 0, result.stderr
    assert "starts fresh" not in result.stderr and "fresh optimizer" not in result.stderr, result.stderr
    resumed = torch.load(state_path, weights_only=True)["aux_heads"]["contrastive"]
    assert set(resumed) == set(saved) and not torch.equal(resumed["0.weight"], saved["0.weight"])
    # Adding a loss with a head on resume: its head starts fresh, said in one line; the policy
    # file itself holds no head (sim/replay load it as any other).
    result = run_train(*args, "trainer.losses.dynamics.enabled=true", "trainer.total_timesteps=1536")
    assert result.returncode == 0, result.stderr
    assert "loss dynamics: no fitting saved head" in result.stderr
    from metta.agent.policy_file import load_policy

    newest = sorted((tmp_path / "aux" / "checkpoints").glob("*.pt"))
    policy = load_policy([p for p in newest if p.name != "trainer_state.pt"][-1])
    assert not any("contrastive" in key or "dynamics" in key for key in policy.state_dict())


@pytest.mark.parametrize("overrides, key", [
    (["+trainer.losses.bogus.enabled=true"], "trainer.losses.bogus"),
    (["trainer.losses.contrastive.coef=-1"], "trainer.losses.contrastive.coef"),
    (["trainer.losses.kickstarter.enabled=true"], "trainer.losses.kickstarter"),
    (["trainer.losses.action_supervised.enabled=true"], "trainer.losses.action_supervised.supervisor_uri"),
    (["trainer.losses.kickstarter.enabled=true", "trainer.losses.kickstarter.teacher_uri=metta://policy/scripted"],
     "scripted policy"),
    (["env=mettagrid/memory", "trainer.losses.grpo.enabled=true"], "GRPO needs a group of 2"),
])
def test_bad_loss_settings_are_refused_in_one_line(tmp_path, overrides, key):
    result = run_train("run=bad", f"train_dir={tmp_path}", *TINY, *overrides)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert key in result.stderr
