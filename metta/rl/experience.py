"""Preallocated rollout storage shaped (T, N, ...): T steps of N agents.

One rollout is written step by step during collection and read back as minibatches of
BPTT segments: a segment is `bptt_horizon` consecutive steps of one agent, plus the recurrent
state that agent had at the segment's first step, so training replays the recurrence exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch


class Experience:
    def __init__(self, horizon: int, num_agents: int, obs_shape: tuple[int, ...], bptt_horizon: int,
                 state_shapes: tuple[tuple[int, ...], ...], device: torch.device):
        """`state_shapes`: the shape of each tensor of the policy's state for ONE agent (batch
        dim 1 of size 1), e.g. `tuple(s.shape for s in policy.initial_state(1))`."""
        if horizon % bptt_horizon:
            raise ValueError(f"rollout horizon {horizon} is not a multiple of bptt_horizon {bptt_horizon}")
        self.horizon, self.num_agents, self.bptt_horizon = horizon, num_agents, bptt_horizon
        self.device = device
        T, N = horizon, num_agents
        self.obs = torch.zeros((T, N, *obs_shape), dtype=torch.uint8, device=device)
        self.actions = torch.zeros((T, N), dtype=torch.long, device=device)  # flat (action, arg) pair index
        self.logprobs = torch.zeros((T, N), device=device)
        self.values = torch.zeros((T, N), device=device)
        self.rewards = torch.zeros((T, N), device=device)
        self.dones = torch.zeros((T, N), device=device)  # episode ended after this step
        self.resets = torch.zeros((T, N), dtype=torch.bool, device=device)  # state zeroed before this step
        segments = T // bptt_horizon
        # One tensor per state tensor: (segments, d0, N, rest...) keeps the state's own layout.
        self.segment_state = [
            torch.zeros((segments, shape[0], N, *shape[2:]), device=device) for shape in state_shapes
        ]
        self.advantages = torch.zeros((T, N), device=device)
        self.returns = torch.zeros((T, N), device=device)
        # Per-step tensors (T, N) a loss adds after each rollout (e.g. GRPO's advantages), sliced
        # into minibatches like the rest.
        self.extra: dict[str, torch.Tensor] = {}

    @property
    def num_segments(self) -> int:
        """Training segments in the rollout: (T / bptt) per agent."""
        return (self.horizon // self.bptt_horizon) * self.num_agents

    def store_state_if_segment_start(self, t: int, state: tuple[torch.Tensor, ...]) -> None:
        if t % self.bptt_horizon == 0:
            segment = t // self.bptt_horizon
            for stored, current in zip(self.segment_state, state):
                stored[segment].copy_(current)

    def minibatch(self, segment_ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """Segments by flat id (segment_index * N + agent) as (bptt, S, ...) tensors."""
        seg, agent = segment_ids // self.num_agents, segment_ids % self.num_agents
        steps, agents = segment_cells(segment_ids, self.num_agents, self.bptt_horizon)

        def take(x: torch.Tensor) -> torch.Tensor:
            return x[steps, agents]

        resets = take(self.resets).clone()
        # The stored state is the one *before* any reset at the segment's first step, so the
        # policy applies that first reset itself, just as it did during collection.
        return {
            "obs": take(self.obs),
            "actions": take(self.actions),
            "logprobs": take(self.logprobs),
            "values": take(self.values),
            "advantages": take(self.advantages),
            "returns": take(self.returns),
            "rewards": take(self.rewards),
            "dones": take(self.dones),
            "resets": resets,
            # The state at each segment's start, in the policy's layout with S on dim 1.
            "state": tuple(s[seg, :, agent].transpose(0, 1).contiguous() for s in self.segment_state),
            **{key: take(value) for key, value in self.extra.items()},
        }


def segment_cells(segment_ids: torch.Tensor, num_rows: int, bptt_horizon: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(step, row) indices, each (bptt, S), of the segments with flat ids `segment_ids`
    (segment_index * num_rows + row), for indexing any (steps, rows, ...) rollout tensor."""
    segment, row = segment_ids // num_rows, segment_ids % num_rows
    steps = segment[None, :] * bptt_horizon + torch.arange(bptt_horizon, device=segment_ids.device)[:, None]
    return steps, row[None, :].expand_as(steps)


@dataclass
class LossBatch:
    """What every loss of the table (metta/rl/losses.py) sees of one minibatch."""

    policy: Any  # the policy being trained (evaluate_actions)
    logits: torch.Tensor  # (B, P) flat, B = bptt x S, in the minibatch's (step, segment) order
    values: torch.Tensor  # (bptt, S) the critic's current values
    mb: dict[str, torch.Tensor]  # Experience.minibatch: rollout tensors, (bptt, S) each
    gamma: float
    gae_lambda: float
    ppo_steps: torch.Tensor | None = None  # (B,) bool: steps in the PPO losses (None: all)
    guide: Any = None  # teacher.GuideBatch with a teacher
    hidden: torch.Tensor | None = None  # (bptt, S, H) core output, when an enabled loss needs_hidden
    aux: Any = None  # nn.ModuleDict of the enabled losses' heads, by row name
    state: dict[str, Any] = dataclasses.field(default_factory=dict)  # each row's `setup` object, by name
    agent_steps: int = 0  # agent steps trained before this update (for schedules)

    def flat(self, key: str) -> torch.Tensor:
        """A rollout tensor of the minibatch, flat, restricted to the PPO steps."""
        flat = self.mb[key].reshape(-1)
        return flat if self.ppo_steps is None else flat[self.ppo_steps]

    def zero(self) -> torch.Tensor:
        """A 0 that touches every head (DistributedDataParallel wants each parameter used)."""
        return (self.logits.sum() + self.values.sum()) * 0.0
