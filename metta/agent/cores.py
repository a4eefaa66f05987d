"""The memory cores a policy can use between its encoder and its heads (`core:` in agent configs).

A core maps a `(T, B, H)` sequence of encoded observations to a `(T, B, H)` sequence of head
inputs, carrying a recurrent state from call to call. Every core's state is a tuple of tensors
with the batch on dim 1, so the trainer can store one per BPTT segment (metta/rl/experience.py)
and zero an agent's state when its episode ends by multiplying dim 1 by a 0/1 mask.

- `lstm`: `torch.nn.LSTM`, state `(h, c)`, each `(layers, B, H)` (the default).
- `ssm`: a selective state-space block stack (the Mamba recurrence) in plain PyTorch: an
  input-dependent step size, input and output projections (delta, B, C), a diagonal negative A,
  and a short causal depthwise convolution before it; scanned step by step. State per layer:
  the convolution's last inputs `(1, B, D, K-1)` and the SSM state `(1, B, D, N)`.
- `cortex`: a stack of single-layer cells chosen by a pattern string, `L` for an LSTM layer and
  `S` for an SSM layer (e.g. "LS"), each with a pre-norm residual connection; its state is the
  concatenation of its layers' states.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

State = tuple[torch.Tensor, ...]
CORE_NAMES = ("lstm", "ssm", "cortex")


class LSTMCore(nn.LSTM):
    """`nn.LSTM` with the core interface. Its parameters keep the names `nn.LSTM` gives them,
    so checkpoints written before cores were a choice still load."""

    def __init__(self, hidden: int, layers: int):
        super().__init__(hidden, hidden, num_layers=layers)
        for name, param in self.named_parameters():
            if name.startswith("weight"):
                nn.init.orthogonal_(param, 1.0)
            else:
                nn.init.zeros_(param)

    def initial_state(self, batch: int, device) -> State:
        shape = (self.num_layers, batch, self.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def run(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        out, (h, c) = super().forward(x, (state[0], state[1]))
        return out, (h, c)


class SelectiveSSM(nn.Module):
    """One Mamba-style block: in-projection to (x, gate), causal depthwise conv on x, the
    selective scan, gated output, out-projection. `(T, B, H)` -> `(T, B, H)`."""

    def __init__(self, hidden: int, state_size: int = 16, expand: int = 2, conv_kernel: int = 4):
        super().__init__()
        inner = expand * hidden
        self.inner, self.state_size, self.conv_kernel = inner, state_size, conv_kernel
        self.dt_rank = max(1, math.ceil(hidden / 16))
        self.in_proj = nn.Linear(hidden, 2 * inner)
        self.conv_weight = nn.Parameter(torch.randn(inner, conv_kernel) / math.sqrt(conv_kernel))
        self.conv_bias = nn.Parameter(torch.zeros(inner))
        self.x_proj = nn.Linear(inner, self.dt_rank + 2 * state_size, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, inner)
        # Step sizes start spread over [1e-3, 1e-1] (log-uniform), the usual Mamba start.
        dt = torch.exp(torch.rand(inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
        # A = -exp(A_log) stays negative (a decaying, stable recurrence); S4D-real start -(1..N).
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state_size + 1).float()).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, hidden)

    def initial_state(self, batch: int, device) -> State:
        return (torch.zeros(1, batch, self.inner, self.conv_kernel - 1, device=device),
                torch.zeros(1, batch, self.inner, self.state_size, device=device))

    def run(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        steps = x.shape[0]
        u, gate = self.in_proj(x).chunk(2, dim=-1)  # (T, B, D) each
        conv_state, ssm = state[0][0], state[1][0]  # (B, D, K-1), (B, D, N)
        # Causal depthwise conv over time, continuing from the inputs kept in the state.
        history = torch.cat([conv_state, u.permute(1, 2, 0)], dim=-1)  # (B, D, K-1+T)
        conv = F.conv1d(history, self.conv_weight.unsqueeze(1), self.conv_bias, groups=self.inner)
        u = F.silu(conv.permute(2, 0, 1))  # (T, B, D)
        new_conv_state = history[..., history.shape[-1] - (self.conv_kernel - 1):]
        dt, b, c = self.x_proj(u).split([self.dt_rank, self.state_size, self.state_size], dim=-1)
        dt = F.softplus(self.dt_proj(dt))  # (T, B, D): input-dependent step size
        a = -torch.exp(self.A_log)  # (D, N)
        decay = torch.exp(dt.unsqueeze(-1) * a)  # (T, B, D, N)
        drive = (dt * u).unsqueeze(-1) * b.unsqueeze(-2)  # (T, B, D, N)
        outputs = []
        for t in range(steps):  # sequential scan: T is a BPTT horizon, short
            ssm = decay[t] * ssm + drive[t]
            outputs.append((ssm * c[t].unsqueeze(-2)).sum(-1))
        y = torch.stack(outputs) + self.D * u
        y = y * F.silu(gate)
        return self.out_proj(y), (new_conv_state.unsqueeze(0), ssm.unsqueeze(0))


class SSMCore(nn.Module):
    """`layers` pre-norm residual SelectiveSSM blocks."""

    def __init__(self, hidden: int, layers: int, state_size: int):
        super().__init__()
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.blocks = nn.ModuleList(SelectiveSSM(hidden, state_size) for _ in range(layers))

    def initial_state(self, batch: int, device) -> State:
        return tuple(t for block in self.blocks for t in block.initial_state(batch, device))

    def run(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        new_state: list[torch.Tensor] = []
        for i, (norm, block) in enumerate(zip(self.norms, self.blocks)):
            out, block_state = block.run(norm(x), state[2 * i: 2 * i + 2])
            x = x + out
            new_state.extend(block_state)
        return x, tuple(new_state)


class CortexCore(nn.Module):
    """A stack of memory cells by pattern: `L` an LSTM layer, `S` an SSM block; pre-norm residual."""

    def __init__(self, hidden: int, pattern: str, state_size: int):
        super().__init__()
        self.pattern = pattern
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in pattern)
        self.cells = nn.ModuleList(
            LSTMCore(hidden, 1) if kind == "L" else SelectiveSSM(hidden, state_size) for kind in pattern
        )

    def initial_state(self, batch: int, device) -> State:
        return tuple(t for cell in self.cells for t in cell.initial_state(batch, device))

    def run(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        new_state: list[torch.Tensor] = []
        for i, (norm, cell) in enumerate(zip(self.norms, self.cells)):  # every cell keeps 2 tensors
            out, cell_state = cell.run(norm(x), state[2 * i: 2 * i + 2])
            x = x + out
            new_state.extend(cell_state)
        return x, tuple(new_state)


def make_core(kind: str, hidden: int, layers: int, state_size: int, pattern: str) -> nn.Module:
    if kind == "lstm":
        return LSTMCore(hidden, layers)
    if kind == "ssm":
        return SSMCore(hidden, layers, state_size)
    return CortexCore(hidden, pattern, state_size)


def state_floats_per_agent(core: str, hidden: int, layers: int, state_size: int, pattern: str) -> int:
    """Floats of recurrent state one agent carries (for memory estimates, metta/jobs/autotune.py);
    SelectiveSSM uses width 2 * hidden and a kernel of 4 (3 inputs of history)."""
    ssm_block = 2 * hidden * (3 + state_size)
    if core == "lstm":
        return 2 * layers * hidden
    if core == "ssm":
        return layers * ssm_block
    return sum(2 * hidden if kind == "L" else ssm_block for kind in pattern)
