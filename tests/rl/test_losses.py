"""The loss table: its rows are trainer.losses' fields, and the critic's gtd_lambda targets are
lambda-returns over the segment from the current values."""

import torch

from metta.rl.experience import LossBatch
from metta.rl.losses import LOSSES, PPOCriticConfig
from metta.rl.ppo import critic_loss, segment_lambda_returns
from metta.rl.trainer_config import LossesConfig


def test_every_row_is_a_trainer_losses_key():
    assert list(LossesConfig.model_fields) == list(LOSSES)
    for name, row in LOSSES.items():
        assert LossesConfig.model_fields[name].annotation is row.config


def test_lambda_returns_blend_the_current_values():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    dones = torch.tensor([[0.0], [1.0], [0.0]])
    values = torch.tensor([[5.0], [3.0], [7.0]])
    last = torch.tensor([[0.0], [0.0], [10.0]])
    # lambda 0: one-step TD on the current values; the done at step 1 stops the bootstrap.
    assert segment_lambda_returns(rewards, dones, values, last, 0.5, 0.0).flatten().tolist() == [2.5, 0.0, 10.0]
    # lambda 1: discounted rewards to the episode end.
    assert segment_lambda_returns(rewards, dones, values, last, 0.5, 1.0).flatten().tolist() == [1.0, 0.0, 10.0]
    assert segment_lambda_returns(rewards, dones, values, last, 0.5, 0.5).flatten().tolist() == [1.75, 0.0, 10.0]


def test_gtd_lambda_trains_the_critic_toward_other_targets_than_gae():
    mb = {"rewards": torch.tensor([[1.0], [1.0]]), "dones": torch.zeros(2, 1), "values": torch.zeros(2, 1),
          "returns": torch.tensor([[4.0], [2.0]])}
    values = torch.tensor([[0.0], [6.0]], requires_grad=True)
    batch = LossBatch(policy=None, logits=torch.zeros(2, 3), values=values, mb=mb, gamma=1.0, gae_lambda=0.0)
    gae, _ = critic_loss(batch, PPOCriticConfig(vf_clip_coef=0, vf_coef=1))
    gtd, _ = critic_loss(batch, PPOCriticConfig(vf_clip_coef=0, vf_coef=1, critic_update="gtd_lambda"))
    # gae: targets (4, 2); gtd_lambda, lambda 0: (1 + 6, 2), the second step keeping the rollout's return.
    assert gae.item() == 0.5 * ((0 - 4) ** 2 + (6 - 2) ** 2) / 2
    assert gtd.item() == 0.5 * ((0 - 7) ** 2 + (6 - 2) ** 2) / 2
    gtd.backward()
    assert values.grad[0].item() == -3.5  # the target is detached: only the prediction moves
