"""Generalised advantage estimation over a (T, N) rollout."""

from __future__ import annotations

import torch


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, next_value: torch.Tensor,
                gamma: float, gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns for rewards/values/dones of shape (T, N).

    `dones[t]` says the episode ended after step t, so nothing flows back across it;
    `next_value` bootstraps the step after the rollout unless `dones[T-1]` ended it.
    Truncated episodes are treated as ended (the core resets in the same step, so the
    state after truncation is not observed).
    """
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        following_value = next_value if t == T - 1 else values[t + 1]
        not_done = 1.0 - dones[t]
        delta = rewards[t] + gamma * following_value * not_done - values[t]
        last = delta + gamma * gae_lambda * not_done * last
        advantages[t] = last
    return advantages, advantages + values
