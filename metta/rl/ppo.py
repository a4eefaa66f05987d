"""The PPO rows of the loss table (metta/rl/losses.py): the actor's and the critic's losses on
one minibatch, with the paper's names, and the numbers they report."""

from __future__ import annotations

import torch

from metta.rl.experience import LossBatch
from metta.rl.losses import PPOActorConfig, PPOCriticConfig


def actor_loss(batch: LossBatch, cfg: PPOActorConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Clipped surrogate - ent_coef x entropy over the minibatch's PPO steps."""
    keep = batch.ppo_steps
    if keep is not None and int(keep.sum()) < 2:  # nothing (or one step: no advantage spread) to optimise
        zero = batch.zero()
        return zero, {"policy_loss": zero.detach(), "entropy": zero.detach(), "approx_kl": zero.detach(),
                      "clipfrac": zero.detach()}
    logits = batch.logits if keep is None else batch.logits[keep]
    new_logprobs, entropy = batch.policy.evaluate_actions(logits, batch.flat("actions"))
    logratio = new_logprobs - batch.flat("logprobs")
    ratio = logratio.exp()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean()  # low-variance KL estimator
        clipfrac = ((ratio - 1.0).abs() > cfg.clip_coef).float().mean()
    advantages = batch.flat("advantages")
    if cfg.norm_adv:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = torch.max(
        -advantages * ratio, -advantages * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
    ).mean()
    entropy_mean = entropy.mean()
    metrics = {"policy_loss": policy_loss.detach(), "entropy": entropy_mean.detach(), "approx_kl": approx_kl,
               "clipfrac": clipfrac}
    return policy_loss - cfg.ent_coef * entropy_mean, metrics


def critic_loss(batch: LossBatch, cfg: PPOCriticConfig) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """vf_coef x 0.5 x squared error to the target (clipped around the rollout value), over the PPO steps."""
    if cfg.critic_update == "gtd_lambda":
        targets = segment_lambda_returns(batch.mb["rewards"], batch.mb["dones"], batch.values.detach(),
                                         batch.mb["returns"], batch.gamma, batch.gae_lambda).reshape(-1)
    else:
        targets = batch.mb["returns"].reshape(-1)
    keep = batch.ppo_steps
    if keep is not None and int(keep.sum()) < 2:
        zero = batch.zero()
        return zero, {"value_loss": zero.detach()}
    new_values, old_values = batch.values.reshape(-1), batch.mb["values"].reshape(-1)
    if keep is not None:
        new_values, old_values, targets = new_values[keep], old_values[keep], targets[keep]
    if cfg.vf_clip_coef > 0:
        clipped = old_values + (new_values - old_values).clamp(-cfg.vf_clip_coef, cfg.vf_clip_coef)
        value_loss = 0.5 * torch.max((new_values - targets) ** 2, (clipped - targets) ** 2).mean()
    else:
        value_loss = 0.5 * ((new_values - targets) ** 2).mean()
    return cfg.vf_coef * value_loss, {"value_loss": value_loss.detach()}


def segment_lambda_returns(rewards: torch.Tensor, dones: torch.Tensor, values: torch.Tensor,
                           rollout_returns: torch.Tensor, gamma: float, lam: float) -> torch.Tensor:
    """Lambda-returns over (bptt, S) segments from the critic's current `values`:
    G[t] = r[t] + gamma (1 - done[t]) ((1 - lam) V[t+1] + lam G[t+1]); the segment's last step
    takes the rollout's return (the lambda-return beyond the segment, computed at collection)."""
    targets = torch.empty_like(values)
    targets[-1] = rollout_returns[-1]
    for t in reversed(range(values.shape[0] - 1)):
        not_done = 1.0 - dones[t]
        targets[t] = rewards[t] + gamma * not_done * ((1 - lam) * values[t + 1] + lam * targets[t + 1])
    return targets


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> float:
    """1 - Var(returns - values) / Var(returns): how much of the return the critic explains."""
    variance = returns.var()
    if variance.item() == 0:
        return float("nan")
    return float(1 - (returns - values).var() / variance)
