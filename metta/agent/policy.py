"""The policy interface, shared by every architecture, and the helpers their encoders use.

A policy reads one observation per agent (`(tokens, 3)` uint8, docs/mettagrid.md section 6),
keeps a recurrent state per agent, and outputs logits over the flat (action, arg) pairs
(`action_pairs.py`) and a value. Architectures differ in the *encoder* that turns the tokens of
one observation into a vector and in the memory *core* they choose (`core:`, metta/agent/cores.py:
lstm, ssm or a cortex stack); the core plumbing and the two heads are shared here.

Shapes: B agents, N token slots, T time steps, P = `action_pairs.num_pairs`, H = hidden size,
L = LSTM layers. The state is a tuple of tensors, each with the batch on dim 1 (for the LSTM
core the pair `(h, c)`, each `(L, B, H)`).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator
from torch import nn

from metta.agent.action_pairs import ActionPairs
from metta.agent.cores import make_core
from metta.agent.env_info import PolicyEnvInfo

# The recurrent state: a tuple of tensors, batch on dim 1 (the LSTM core's is `(h, c)`).
LSTMState = tuple[torch.Tensor, ...]

# ---------------------------------------------------------------------------------------------
# The base of the architecture configs (Hydra group `agent/`); each architecture's own config
# class lives in its module under policies/, and metta/agent/architectures.py lists them.
# ---------------------------------------------------------------------------------------------


class ArchitectureBase(BaseModel):
    """What every architecture config has; each architecture module subclasses it with a
    `name: Literal["<its name>"]` field and its own settings (metta/agent/architectures.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_size: PositiveInt = Field(
        128, description="Width of the dense layers, the LSTM and the heads' input"
    )
    lstm_layers: PositiveInt = Field(1, le=4, description="Stacked LSTM layers (SSM blocks with core: ssm)")
    core: Literal["lstm", "ssm", "cortex"] = Field(
        "lstm", description="Memory core between encoder and heads (metta/agent/cores.py)"
    )
    ssm_state_size: PositiveInt = Field(16, le=64, description="SSM state per channel (core: ssm or cortex)")
    cortex_pattern: str = Field(
        "LS", description="Cortex stack, bottom first: L an LSTM layer, S an SSM block (core: cortex)"
    )
    feature_scale_rows: PositiveInt | None = Field(
        4_000_000,
        description="Observation rows (one agent's tokens at one step, counted in rollouts and training "
                    "passes) after which the per-feature value scale stops rising and clips larger values "
                    "(FeatureScale); null: it rises for ever",
    )

    @field_validator("cortex_pattern")
    @classmethod
    def _pattern_letters(cls, pattern: str) -> str:
        if not pattern or set(pattern) - {"L", "S"} or len(pattern) > 8:
            raise ValueError(f"cortex_pattern {pattern!r} must be 1-8 letters, each L or S")
        return pattern


# ---------------------------------------------------------------------------------------------
# Token helpers shared by the encoders.
# ---------------------------------------------------------------------------------------------

PAD = 0xFF


def trim_padding(obs: torch.Tensor) -> torch.Tensor:
    """Drop trailing token slots that are padding for every agent of the batch.

    The env writes its tokens first and pads the rest, so a batch typically uses well under
    half of its slots; both encoders ignore padding exactly, so trimming changes no output,
    only the work. (It reads one number back from the device.)
    """
    used = obs[..., 0].amin(dim=0) != PAD  # a slot is used if any agent's location byte is real
    slot_numbers = torch.arange(1, used.shape[0] + 1, device=obs.device)
    count = max(int((used * slot_numbers).max()), 1)
    return obs if count == obs.shape[-2] else obs[..., :count, :]


class FeatureScale(nn.Module):
    """Per-feature divisor for token values: the largest value seen so far (at least 1), frozen
    after `freeze_after_rows` observed rows; once frozen, larger values count as the max.

    Choice: a running max rather than a fixed 255, because most features are small counts
    (inventory 1-5, orientation 0-3) that 1/255 would make nearly invisible. It is not learned.
    It rises with the observations the policy sees while it trains: those it acts on (`act`,
    the rollout, which trainers often run in eval mode) and any training-mode pass. A plain
    eval-mode `forward` never changes it.

    Choice: freeze it. A running max never stops rising, and one outlier sets it for everyone:
    in the easy arena a single agent hoarding 36 batteries made every other agent's one battery
    read 0.03 instead of 0.3, while the policy was still relying on it. A run that collapsed
    while such maxima rose held with the scale frozen (docs/performance.md, "The feature scale,
    frozen; one update epoch"). Frozen, the inputs keep their meaning: values above the max are
    clipped to it, so every scaled value stays in [0, 1].

    `feature_max` and `rows_observed` are persistent buffers, so a checkpoint carries the scale it
    was trained with and whether it is frozen (checkpoints from before the freeze load with 0 rows).
    """

    def __init__(self, num_features: int, freeze_after_rows: int | None = None):
        super().__init__()
        self.num_features = num_features
        self.freeze_after_rows = freeze_after_rows
        self.register_buffer("feature_max", torch.ones(num_features))
        self.register_buffer("rows_observed", torch.zeros((), dtype=torch.int64))
        # A host-side copy of "frozen", so that checking it never waits on a GPU.
        self._rows_observed = 0

    @property
    def frozen(self) -> bool:
        return self.freeze_after_rows is not None and self._rows_observed >= self.freeze_after_rows

    @torch.no_grad()
    def observe(self, features: torch.Tensor, values: torch.Tensor) -> None:
        """Raise the max from a batch of tokens (feature ids, values; `(rows, tokens)` or one
        row); padding and unknown ids land in spare slots that are thrown away."""
        if self.frozen:
            return
        seen = torch.zeros(256, device=values.device, dtype=self.feature_max.dtype)
        seen.scatter_reduce_(0, features.reshape(-1).long(), values.reshape(-1).to(seen.dtype), reduce="amax")
        self.raise_to(seen[: self.num_features], rows=features.shape[0] if features.dim() > 1 else 1)

    @torch.no_grad()
    def raise_to(self, seen: torch.Tensor, rows: int = 0) -> None:
        """Raise the max to `seen` (num_features,) where that is larger, and count `rows`
        observed rows towards the freeze. Frozen, it changes nothing."""
        if self.frozen:
            return
        raised = torch.maximum(self.feature_max, seen.to(self.feature_max))
        # Write only on a change: the buffer's version counter then tells caches built from
        # it (the fast encoder's conv1 matrix) whether they are still valid.
        if not torch.equal(raised, self.feature_max):
            self.feature_max.copy_(raised)
        if rows:
            self._rows_observed += rows
            self.rows_observed.fill_(self._rows_observed)

    def lookup(self) -> torch.Tensor:
        """(256,) divisor per feature id; ids beyond the table (padding) get 1."""
        table = torch.ones(256, device=self.feature_max.device, dtype=self.feature_max.dtype)
        table[: self.num_features] = self.feature_max
        return table

    def scaled(self, features: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """`values` (float) divided by their features' max; clipped to 1 once frozen."""
        scaled = values / self.lookup()[features.long()]
        return scaled.clamp(max=1.0) if self.frozen else scaled

    def clipped(self, features: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """`values` (float) not yet divided, limited to their features' max once frozen (for
        encoders that fold the division into their weights)."""
        return torch.minimum(values, self.lookup()[features.long()].to(values.dtype)) if self.frozen else values

    def value_caps(self) -> np.ndarray | None:
        """Once frozen, the max per feature id as (256,) uint8 (the native kernel's `value_cap`);
        None before."""
        if not self.frozen:
            return None
        return self.lookup().clamp(max=255).to(torch.uint8).cpu().numpy()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # Checkpoints written before the freeze existed have no row count: they start at 0.
        state_dict.setdefault(prefix + "rows_observed", torch.zeros((), dtype=torch.int64))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        self._rows_observed = int(self.rows_observed)


def init_layer(layer: nn.Module, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights, constant bias (the usual PPO initialisation)."""
    nn.init.orthogonal_(layer.weight, gain)
    if layer.bias is not None:
        nn.init.constant_(layer.bias, bias)
    return layer


# ---------------------------------------------------------------------------------------------
# The categorical over action pairs.
# ---------------------------------------------------------------------------------------------


def masked_log_probs(logits: torch.Tensor, action_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Log-softmax over pairs, with the pairs outside `action_mask` (bool, broadcastable) at -inf."""
    if action_mask is not None:
        logits = logits.masked_fill(~action_mask, float("-inf"))
    return F.log_softmax(logits.float(), dim=-1)


def entropy_of(log_probs: torch.Tensor) -> torch.Tensor:
    # Masked pairs have p = 0 and log p = -inf; clamping keeps 0 * log 0 at 0 (and its gradient finite).
    finite = log_probs.clamp(min=torch.finfo(log_probs.dtype).min)
    return -(log_probs.exp() * finite).sum(dim=-1)


# ---------------------------------------------------------------------------------------------
# The policy.
# ---------------------------------------------------------------------------------------------


class Policy(nn.Module):
    """Encoder -> LayerNorm -> memory core -> (action logits, value). Subclasses supply `encoder`: a
    module mapping `(B, N, 3)` uint8 tokens to `(B, hidden_size)` features, whose
    `forward(obs, observe)` raises its `FeatureScale` from `obs` when `observe` is true."""

    def __init__(self, architecture: ArchitectureBase, env_info: PolicyEnvInfo, encoder: nn.Module):
        super().__init__()
        self.architecture = architecture
        self.env_info = env_info
        self.action_pairs = ActionPairs.from_env_info(env_info)
        hidden = architecture.hidden_size
        self.encoder = encoder
        for scale in encoder.modules():
            if isinstance(scale, FeatureScale):
                scale.freeze_after_rows = architecture.feature_scale_rows
        # Choice: normalise the LSTM input. Without it, Adam moves every layer at the same pace,
        # the encoder output grows along a shared direction within tens of steps and the LSTM
        # gates saturate, which stops learning (the supervised test in tests/agent shows it).
        self.lstm_input_norm = nn.LayerNorm(hidden)
        core = make_core(architecture.core, hidden, architecture.lstm_layers,
                         architecture.ssm_state_size, architecture.cortex_pattern)
        # The LSTM core keeps the attribute name `lstm` so its parameter names (and so older
        # checkpoints) are unchanged; other cores live under `memory`.
        if architecture.core == "lstm":
            self.lstm = core
        else:
            self.memory = core
        self.value_head = init_layer(nn.Linear(hidden, 1), gain=1.0)
        # A small gain keeps initial logits near zero: a near-uniform first policy.
        self.action_head = init_layer(nn.Linear(hidden, self.action_pairs.num_pairs), gain=0.01)

    @property
    def num_pairs(self) -> int:
        return self.action_pairs.num_pairs

    def metadata(self) -> dict[str, Any]:
        """JSON-safe description to store next to the weights (see `metta.agent.architectures.policy_from_metadata`)."""
        return {
            "architecture": self.architecture.model_dump(mode="json"),
            "env_info": self.env_info.to_dict(),
        }

    @property
    def core(self) -> nn.Module:
        return self.lstm if self.architecture.core == "lstm" else self.memory

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> LSTMState:
        """Zero recurrent state: a tuple of tensors with the batch on dim 1 (LSTM: `(h, c)`,
        each `(lstm_layers, batch_size, hidden_size)`)."""
        device = device if device is not None else self.lstm_input_norm.weight.device
        return self.core.initial_state(batch_size, device)

    @staticmethod
    def _reset(state: LSTMState, done: torch.Tensor) -> LSTMState:
        """Zero the state of the agents marked in `done` (B,)."""
        keep = ~done.bool()
        return tuple(s * keep.to(s.dtype).view(1, -1, *([1] * (s.dim() - 2))) for s in state)

    def _heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.action_head(hidden), self.value_head(hidden).squeeze(-1)

    def forward(
        self, obs: torch.Tensor, state: LSTMState, done: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, LSTMState]:
        """One step for B agents. `obs` (B, N, 3) uint8; `done` (B,) bool marks agents whose
        episode ended at the previous step: their state is zeroed before use.
        Returns logits (B, P), value (B,), new state."""
        return self._step(obs, state, done, observe=self.training)

    def _step(
        self, obs: torch.Tensor, state: LSTMState, done: torch.Tensor | None, observe: bool
    ) -> tuple[torch.Tensor, torch.Tensor, LSTMState]:
        features = self.lstm_input_norm(self.encoder(obs, observe=observe))
        if done is not None:
            state = self._reset(state, done)
        out, state = self.core.run(features.unsqueeze(0), tuple(state))
        logits, value = self._heads(out[0])
        return logits, value, state

    def forward_sequence(
        self, obs: torch.Tensor, state: LSTMState, dones: torch.Tensor | None = None, return_hidden: bool = False
    ) -> tuple[torch.Tensor, ...]:
        """T steps for B agents, equal to T calls of `forward`. `obs` (T, B, N, 3), `dones` (T, B)
        with `dones[t]` applied before step t. The encoder runs once over all T*B observations;
        the core runs over the stretches between steps where some agent resets.
        Returns logits (T, B, P), values (T, B), final state, and with `return_hidden` also the
        core's output (the heads' input), (T, B, H)."""
        steps, batch = obs.shape[:2]
        flat_obs = obs.reshape(steps * batch, *obs.shape[2:])
        features = self.lstm_input_norm(self.encoder(flat_obs, observe=self.training))
        features = features.view(steps, batch, -1)
        state = tuple(state)
        if dones is None:
            starts = [0]
        else:
            dones = dones.bool()
            reset_steps = dones.any(dim=1).nonzero().flatten().tolist()
            starts = sorted({0, *reset_steps})
        outputs = []
        for start, end in zip(starts, starts[1:] + [steps]):
            if dones is not None:
                state = self._reset(state, dones[start])
            out, state = self.core.run(features[start:end], state)
            outputs.append(out)
        hidden = torch.cat(outputs, dim=0)
        logits, values = self._heads(hidden)
        if return_hidden:
            return logits, values, state, hidden
        return logits, values, state

    def act(
        self,
        obs: torch.Tensor,
        state: LSTMState,
        done: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        action_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, LSTMState]:
        """Sample one pair per agent (call under `torch.no_grad()` in rollouts); like `forward`,
        but the feature scale also learns from `obs` in eval mode (see `FeatureScale`).
        `action_mask` (P,) bool limits sampling to the env's pairs (`EnvAdapter.action_mask`).
        Returns pair_index (B,) int64, log_prob (B,), entropy (B,), value (B,), new state."""
        logits, value, new_state = self._step(obs, state, done, observe=True)
        log_probs = masked_log_probs(logits, action_mask)
        pair_index = torch.multinomial(log_probs.exp(), 1, generator=generator).squeeze(-1)
        log_prob = log_probs.gather(-1, pair_index.unsqueeze(-1)).squeeze(-1)
        return pair_index, log_prob, entropy_of(log_probs), value, new_state

    def evaluate_actions(
        self, logits: torch.Tensor, pair_index: torch.Tensor, action_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-prob of the taken pairs and the entropy, for logits of any leading shape."""
        log_probs = masked_log_probs(logits, action_mask)
        log_prob = log_probs.gather(-1, pair_index.long().unsqueeze(-1)).squeeze(-1)
        return log_prob, entropy_of(log_probs)
