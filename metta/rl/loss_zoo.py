"""The loss zoo: the rows of the loss table (metta/rl/losses.py) beyond PPO and the sliced cloner.

Each loss is a function `(batch: LossBatch, cfg) -> (loss, metrics)`; what it needs from the
run lives in its row's `setup` object (`batch.state[<row>]`) and its own parameters in its
row's `head` (`batch.aux[<row>]`). Metric names start with the row's name, so they are logged
as `losses/<row>_...`.

Shapes: T = bptt_horizon, S = segments in the minibatch, B = T x S (flat, step-major),
P = action pairs, H = the core output's width.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from metta.rl.experience import LossBatch
from metta.rl.losses import (
    ActionSupervisedConfig,
    ContrastiveConfig,
    DynamicsConfig,
    GRPOConfig,
    KickstarterConfig,
)
from metta.rl.teacher import bc_loss
from mettagrid.errors import ConfigError

PAD = 0xFF
Metrics = dict[str, torch.Tensor]


# -- kickstarter --------------------------------------------------------------------------------


def kickstart_weight(cfg: KickstarterConfig, agent_steps: int) -> float:
    """1 until `kickstart_steps x (1 - anneal_ratio)` agent steps, then linearly down to 0 at
    `kickstart_steps`; 0 from there on (the loss is off)."""
    if agent_steps >= cfg.kickstart_steps:
        return 0.0
    anneal_start = cfg.kickstart_steps * (1.0 - cfg.anneal_ratio)
    if agent_steps < anneal_start:
        return 1.0
    return 1.0 - (agent_steps - anneal_start) / (cfg.kickstart_steps - anneal_start)


class Kickstarter:
    """The kickstarter's teachers, loaded once; each replays the minibatch's segments.

    Choice: a teacher runs on the training minibatch itself (from a zero memory at each
    segment's start, with the segment's resets), not alongside the rollout: it costs one
    forward per minibatch and no storage, at the price of a teacher memory that starts cold
    every bptt_horizon steps."""

    def __init__(self, cfg: KickstarterConfig, trainer: Any):
        from metta.agent.policy_uri import resolve_policies

        self.teachers: list[tuple[nn.Module, float, float]] = []
        student = trainer.policy
        for index, teacher in enumerate(cfg.teachers()):
            key = "teacher_uri" if index == 0 and cfg.teacher_uri else f"additional_teachers[{index - bool(cfg.teacher_uri)}]"
            where = f"trainer.losses.kickstarter.{key}: {teacher.teacher_uri}"
            try:
                policy = resolve_policies(teacher.teacher_uri)[0].load(trainer.device)
            except ValueError as error:
                raise ConfigError(f"trainer.losses.kickstarter.{key}: {error}") from None
            if policy is None or not hasattr(policy, "forward_sequence"):
                raise ConfigError(f"{where} is a scripted policy: the kickstarter needs a trained one "
                                  "(its logits and value); imitate scripts with action_supervised")
            if policy.action_pairs.table.tolist() != student.action_pairs.table.tolist() or \
                    policy.env_info.action_names != student.env_info.action_names:
                raise ConfigError(f"{where} has other actions than the student ({policy.env_info.action_names}); "
                                  "distillation compares logits pair by pair")
            policy.eval().requires_grad_(False)
            self.teachers.append((policy, teacher.action_loss_coef, teacher.value_loss_coef))

    @torch.no_grad()
    def outputs(self, mb: dict[str, torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor, float, float]]:
        """(logits (B, P), values (T, S), action coef, value coef) of each teacher on the minibatch."""
        out = []
        for policy, action_coef, value_coef in self.teachers:
            state = policy.initial_state(mb["obs"].shape[1], mb["obs"].device)
            logits, values, _ = policy.forward_sequence(mb["obs"], state, mb["resets"])
            out.append((logits.reshape(-1, logits.shape[-1]), values, action_coef, value_coef))
        return out


def kickstarter_loss(batch: LossBatch, cfg: KickstarterConfig) -> tuple[torch.Tensor, Metrics]:
    """weight x sum over teachers of action_coef x CE(teacher probs -> student log-probs) +
    value_coef x squared error to the teacher's value, over the whole minibatch."""
    weight = kickstart_weight(cfg, batch.agent_steps)
    zero = batch.zero()
    if weight == 0.0:
        return zero, {"kickstarter_weight": zero.detach(), "kickstarter_action_loss": zero.detach(),
                      "kickstarter_value_loss": zero.detach()}
    log_probs = F.log_softmax(batch.logits.float(), dim=-1)
    action_total, value_total, loss = zero.detach(), zero.detach(), zero
    for teacher_logits, teacher_values, action_coef, value_coef in batch.state["kickstarter"].outputs(batch.mb):
        action = -(F.softmax(teacher_logits.float(), dim=-1) * log_probs).sum(-1).mean()
        value = ((batch.values - teacher_values) ** 2).mean()
        loss = loss + action_coef * action + value_coef * value
        action_total, value_total = action_total + action.detach(), value_total + value.detach()
    return weight * loss, {"kickstarter_weight": torch.tensor(weight), "kickstarter_action_loss": action_total,
                           "kickstarter_value_loss": value_total}


# -- action_supervised --------------------------------------------------------------------------


def recorded_demonstrations(cfg: ActionSupervisedConfig, trainer: Any):
    """The demonstration file to imitate (metta/rl/demonstrations.py), or None: a supervisor."""
    if not cfg.demonstrations_uri:
        return None
    from metta.rl.demonstrations import Demonstrations

    return Demonstrations(cfg.demonstrations_uri, trainer.policy, trainer.device, seed=trainer.job.seed)


def action_supervised_loss(batch: LossBatch, cfg: ActionSupervisedConfig) -> tuple[torch.Tensor, Metrics]:
    """action_loss_coef x cross-entropy toward the supervisor's action, over every step whose
    supervisor action the student can express (the supervisor runs as the run's teacher with
    every row student-led: metta/rl/train_job.py `resolve_supervisor`). With a demonstration
    file, the policy instead replays as many recorded stretches as the minibatch has segments
    and the cross-entropy is toward the recorded actions."""
    demonstrations = (batch.state or {}).get("action_supervised")
    if demonstrations is not None:
        bptt, segments = batch.mb["obs"].shape[:2]
        obs, target, resets = demonstrations.sample(segments, bptt)
        state = batch.policy.initial_state(obs.shape[1], obs.device)
        # Eval mode (gradients still flow): a training-mode pass would raise the feature scale
        # in place, under the graph of this minibatch's own pass (policy.py, FeatureScale).
        was_training = batch.policy.training
        batch.policy.train(False)
        try:
            logits, _, _ = batch.policy.forward_sequence(obs, state, resets)
        finally:
            batch.policy.train(was_training)
        target = target.reshape(-1)
        loss = bc_loss(logits.reshape(-1, logits.shape[-1]), target, target >= 0)
        return cfg.action_loss_coef * loss, {"action_supervised_loss": loss.detach()}
    if batch.guide is None:
        raise RuntimeError("action_supervised is enabled but the trainer has no supervisor")
    known = batch.guide.target >= 0
    loss = bc_loss(batch.logits, batch.guide.target, known)
    return cfg.action_loss_coef * loss, {"action_supervised_loss": loss.detach()}


# -- grpo ---------------------------------------------------------------------------------------


def group_advantages(rewards: torch.Tensor, dones: torch.Tensor, gamma: float, bptt_horizon: int,
                     group_size: int) -> torch.Tensor:
    """GRPO's advantages (T, N) for a rollout whose N rows are envs of `group_size` agents.

    A step's return is the discounted reward-to-go to the end of its bptt segment (cut where
    the episode ends). The group is the agents of one env at the same step: their returns are
    normalised by the group's mean and std, so each group's advantages sum to 0; a group whose
    returns are all equal gets 0."""
    steps, rows = rewards.shape
    returns = torch.zeros_like(rewards)
    for t in reversed(range(steps)):
        if (t + 1) % bptt_horizon == 0:
            returns[t] = rewards[t]
        else:
            returns[t] = rewards[t] + gamma * (1.0 - dones[t]) * returns[t + 1]
    grouped = returns.view(steps, rows // group_size, group_size)
    centred = grouped - grouped.mean(dim=-1, keepdim=True)
    std = grouped.std(dim=-1, unbiased=False, keepdim=True)
    return torch.where(std > 1e-8, centred / (std + 1e-8), torch.zeros_like(centred)).view(steps, rows)


class GroupAdvantages:
    """Writes `grpo_advantages` into the experience after each rollout."""

    def __init__(self, cfg: GRPOConfig, trainer: Any):
        self.group_size = trainer.shape.agents_per_env
        if self.group_size < 2:
            raise ConfigError(f"trainer.losses.grpo: the group is the agents of one env and this env has "
                              f"{self.group_size}; GRPO needs a group of 2 or more")
        self.gamma, self.bptt = trainer.cfg.gamma, trainer.cfg.bptt_horizon

    def after_rollout(self, trainer: Any) -> None:
        exp = trainer.experience
        exp.extra["grpo_advantages"] = group_advantages(exp.rewards, exp.dones, self.gamma, self.bptt,
                                                        self.group_size)


def grpo_loss(batch: LossBatch, cfg: GRPOConfig) -> tuple[torch.Tensor, Metrics]:
    """policy_coef x clipped surrogate with the group-relative advantages - ent_coef x entropy.
    It reads no value: the critic gets no gradient from it."""
    keep = batch.ppo_steps
    if keep is not None and int(keep.sum()) < 1:
        zero = batch.zero()
        return zero, {"grpo_policy_loss": zero.detach(), "grpo_entropy": zero.detach()}
    logits = batch.logits if keep is None else batch.logits[keep]
    new_logprobs, entropy = batch.policy.evaluate_actions(logits, batch.flat("actions"))
    ratio = (new_logprobs - batch.flat("logprobs")).exp()
    advantages = batch.flat("grpo_advantages")
    surrogate = torch.max(-advantages * ratio,
                          -advantages * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
    entropy_mean = entropy.mean()
    return cfg.policy_coef * surrogate - cfg.ent_coef * entropy_mean, {
        "grpo_policy_loss": surrogate.detach(), "grpo_entropy": entropy_mean.detach()}


# -- contrastive --------------------------------------------------------------------------------


def contrastive_head(cfg: ContrastiveConfig, policy: nn.Module) -> nn.Module:
    hidden = policy.architecture.hidden_size
    return nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, cfg.projection_dim))


def info_nce(projected: torch.Tensor, dones: torch.Tensor, offset: int, temperature: float) -> tuple[
        torch.Tensor, torch.Tensor]:
    """InfoNCE over (T, S, D) projections: the anchor z[t, s] against the positive z[t+offset, s]
    and the negatives z[t+offset, s'] of the other segments. Pairs whose episode ends between
    t and t+offset are left out. Returns (mean loss, share of anchors whose positive is the best)."""
    steps, segments = projected.shape[:2]
    if steps <= offset or segments < 2:
        zero = projected.sum() * 0.0
        return zero, zero.detach()
    z = F.normalize(projected, dim=-1)
    anchors, positives = z[:-offset], z[offset:]
    similarity = torch.einsum("tsd,tud->tsu", anchors, positives) / temperature  # (T-k, S, S)
    labels = torch.arange(segments, device=z.device).expand(steps - offset, segments)
    ended = torch.stack([dones[t:t + offset].sum(0) for t in range(steps - offset)]) > 0  # (T-k, S)
    valid = (~ended).float()
    per_anchor = F.cross_entropy(similarity.reshape(-1, segments), labels.reshape(-1), reduction="none")
    loss = (per_anchor * valid.reshape(-1)).sum() / valid.sum().clamp(min=1)
    with torch.no_grad():
        hits = (similarity.argmax(-1) == labels).float()
        accuracy = (hits * valid).sum() / valid.sum().clamp(min=1)
    return loss, accuracy


def contrastive_loss(batch: LossBatch, cfg: ContrastiveConfig) -> tuple[torch.Tensor, Metrics]:
    projected = batch.aux["contrastive"](batch.hidden)
    loss, accuracy = info_nce(projected, batch.mb["dones"], cfg.offset, cfg.temperature)
    return cfg.coef * loss, {"contrastive_loss": loss.detach(), "contrastive_accuracy": accuracy}


# -- dynamics -----------------------------------------------------------------------------------


class DynamicsHead(nn.Module):
    """(core output, one-hot action) -> (next observation's feature histogram, reward)."""

    def __init__(self, hidden: int, num_pairs: int, num_features: int, width: int):
        super().__init__()
        self.num_pairs, self.num_features = num_pairs, num_features
        self.net = nn.Sequential(nn.Linear(hidden + num_pairs, width), nn.ReLU(), nn.Linear(width, num_features + 1))

    def forward(self, hidden: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.net(torch.cat([hidden, F.one_hot(actions.long(), self.num_pairs).to(hidden.dtype)], dim=-1))
        return out[..., :-1], out[..., -1]


def dynamics_head(cfg: DynamicsConfig, policy: nn.Module) -> nn.Module:
    return DynamicsHead(policy.architecture.hidden_size, policy.action_pairs.num_pairs,
                        len(policy.env_info.feature_names), cfg.head_hidden)


def feature_histogram(obs: torch.Tensor, num_features: int) -> torch.Tensor:
    """log(1 + tokens per feature id) of (..., N, 3) uint8 observations; padding is not counted.
    The compact stand-in for "the next observation's tokens": what is in view, not where."""
    features = obs[..., 1].long()
    real = (obs[..., 0] != PAD) & (features < num_features)
    counts = torch.zeros(*obs.shape[:-2], num_features + 1, device=obs.device)
    counts.scatter_add_(-1, torch.where(real, features, num_features), torch.ones_like(features, dtype=counts.dtype))
    return torch.log1p(counts[..., :num_features])


def dynamics_loss(batch: LossBatch, cfg: DynamicsConfig) -> tuple[torch.Tensor, Metrics]:
    """coef x MSE of the predicted next-step feature histogram (steps t < T-1 whose episode goes
    on) + reward_coef x MSE of the predicted reward of step t (every step)."""
    head = batch.aux["dynamics"]
    predicted_obs, predicted_reward = head(batch.hidden, batch.mb["actions"])
    reward_loss = ((predicted_reward - batch.mb["rewards"]) ** 2).mean()
    target = feature_histogram(batch.mb["obs"][1:], head.num_features)
    going_on = (1.0 - batch.mb["dones"][:-1]).unsqueeze(-1)
    error = ((predicted_obs[:-1] - target) ** 2 * going_on).sum() / (going_on.sum() * head.num_features).clamp(min=1)
    return cfg.coef * error + cfg.reward_coef * reward_loss, {
        "dynamics_obs_loss": error.detach(), "dynamics_reward_loss": reward_loss.detach()}
