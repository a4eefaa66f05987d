"""The PPO loss on one minibatch, with the paper's names, and the numbers it reports."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from metta.rl.trainer_config import PPOLossConfig


@dataclass
class PPOTerms:
    loss: torch.Tensor
    policy_loss: torch.Tensor
    value_loss: torch.Tensor
    entropy: torch.Tensor
    approx_kl: torch.Tensor
    clipfrac: torch.Tensor


def ppo_loss(new_logprobs: torch.Tensor, entropy: torch.Tensor, new_values: torch.Tensor,
             mb: dict[str, torch.Tensor], cfg: PPOLossConfig) -> PPOTerms:
    """Clipped surrogate + (optionally clipped) value loss - entropy bonus, all over flat tensors."""
    logratio = new_logprobs - mb["logprobs"]
    ratio = logratio.exp()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean()  # low-variance KL estimator
        clipfrac = ((ratio - 1.0).abs() > cfg.clip_coef).float().mean()

    advantages = mb["advantages"]
    if cfg.norm_adv:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = torch.max(
        -advantages * ratio, -advantages * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
    ).mean()

    returns = mb["returns"]
    if cfg.vf_clip_coef > 0:
        clipped = mb["values"] + (new_values - mb["values"]).clamp(-cfg.vf_clip_coef, cfg.vf_clip_coef)
        value_loss = 0.5 * torch.max((new_values - returns) ** 2, (clipped - returns) ** 2).mean()
    else:
        value_loss = 0.5 * ((new_values - returns) ** 2).mean()

    entropy_mean = entropy.mean()
    loss = policy_loss + cfg.vf_coef * value_loss - cfg.ent_coef * entropy_mean
    return PPOTerms(loss, policy_loss.detach(), value_loss.detach(), entropy_mean.detach(), approx_kl, clipfrac)


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """1 - Var(returns - values) / Var(returns): how much of the return the critic explains."""
    variance = returns.var()
    if variance.item() == 0:
        return float("nan")
    return float(1 - (returns - values).var() / variance)
