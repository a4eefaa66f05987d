"""`fast`: the default policy. Tokens -> feature x row x col box -> CNN -> dense -> LSTM -> heads.

The box. For every token that is not padding, `box[feature, row, col] += value / feature_max`
(`FeatureScale` in policy.py); cells nobody reports stay 0. Two tokens for the same feature and
cell (an agent standing on an object) add up, which keeps the result deterministic on any device.

The speed trick. The box is ~96% zeros and the first convolution (kernel 5, stride 3) is
linear in it, so instead of materialising a `(B, F, H, W)` box and convolving it, each token
looks up its row of the conv written as a matrix (`(F*H*W, channels*out_h*out_w)`) and
`embedding_bag` sums the rows weighted by the token values. That is the same number as
`conv1(box)` (tests check it) at a fraction of the memory traffic; `box()` builds the explicit
box for tests and inspection. Everything after the first conv is an ordinary CNN.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, PositiveInt
from torch import nn

from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policy import PAD, ArchitectureBase, FeatureScale, Policy, init_layer, trim_padding

KERNEL1, STRIDE1 = 5, 3
KERNEL2 = 3



class FastArchitecture(ArchitectureBase):
    """Tokens scattered into a feature x row x col box, a two-layer CNN, two dense layers, an LSTM."""

    name: Literal["fast"] = Field("fast", description="Architecture name")
    cnn_channels: PositiveInt = Field(64, description="Channels of both conv layers (k5 s3, then k3 s1)")


def _conv1_padding(size: int) -> int:
    # Windows narrower than the kernel (5) are zero-padded so that at least one output fits.
    return max(0, -(-(KERNEL1 - size) // 2))


def _conv2_padding(size: int) -> int:
    # If the first conv leaves fewer than 3 positions, pad so the 3x3 kernel still fits.
    return 1 if size < KERNEL2 else 0


def token_slot_table(num_features: int, height: int, width: int) -> torch.Tensor:
    """(65536,) int64: `(location << 8) | feature` -> flat box slot `feature*H*W + row*W + col`,
    or `box_size` (a slot that is thrown away) for padding, unknown features and cells
    outside the window."""
    location = torch.arange(256).view(256, 1)
    feature = torch.arange(256).view(1, 256)
    row, col = location >> 4, location & 15
    slot = feature * (height * width) + row * width + col
    inside = (location != PAD) & (feature < num_features) & (row < height) & (col < width)
    return torch.where(inside, slot, num_features * height * width).reshape(-1)


class TokenBoxCNN(nn.Module):
    """`(B, N, 3)` uint8 tokens -> `(B, hidden_size)` features."""

    def __init__(self, env_info: PolicyEnvInfo, cnn_channels: int, hidden_size: int):
        super().__init__()
        self.num_features = env_info.num_features
        self.height, self.width = env_info.obs_height, env_info.obs_width
        self.scale = FeatureScale(self.num_features)

        pad_h, pad_w = _conv1_padding(self.height), _conv1_padding(self.width)
        self.conv1 = init_layer(
            nn.Conv2d(self.num_features, cnn_channels, KERNEL1, STRIDE1, padding=(pad_h, pad_w))
        )
        self.out1_h = (self.height + 2 * pad_h - KERNEL1) // STRIDE1 + 1
        self.out1_w = (self.width + 2 * pad_w - KERNEL1) // STRIDE1 + 1
        pad2_h, pad2_w = _conv2_padding(self.out1_h), _conv2_padding(self.out1_w)
        self.conv2 = init_layer(nn.Conv2d(cnn_channels, cnn_channels, KERNEL2, 1, padding=(pad2_h, pad2_w)))
        self.conv2_is_dense = (self.out1_h, self.out1_w, pad2_h, pad2_w) == (KERNEL2, KERNEL2, 0, 0)
        out2 = (self.out1_h + 2 * pad2_h - KERNEL2 + 1) * (self.out1_w + 2 * pad2_w - KERNEL2 + 1)
        self.dense = nn.Sequential(
            init_layer(nn.Linear(cnn_channels * out2, hidden_size)),
            nn.ReLU(),
            init_layer(nn.Linear(hidden_size, hidden_size)),
            nn.ReLU(),
        )
        # Lookup tables, rebuilt from the shapes (so not stored in checkpoints).
        self.register_buffer("token_slot", self._token_slot_table(), persistent=False)
        self.register_buffer("tap_selector", self._tap_selector(pad_h, pad_w), persistent=False)

    @property
    def box_size(self) -> int:
        return self.num_features * self.height * self.width

    def _token_slot_table(self) -> torch.Tensor:
        return token_slot_table(self.num_features, self.height, self.width)

    def _tap_selector(self, pad_h: int, pad_w: int) -> torch.Tensor:
        """(25, H*W*out1_h*out1_w) bool matrix: entry (tap, (cell, position)) is set when conv1's
        kernel tap `tap` joins box cell (row, col) to output position (i, j). Multiplying the
        kernel by it spreads the taps over the cells (a matmul: its backward is a matmul too,
        far faster on CPU than the scatter-add behind an indexing backward)."""
        row = torch.arange(self.height).view(-1, 1, 1, 1)
        col = torch.arange(self.width).view(1, -1, 1, 1)
        i = torch.arange(self.out1_h).view(1, 1, -1, 1)
        j = torch.arange(self.out1_w).view(1, 1, 1, -1)
        tap_r = row + pad_h - STRIDE1 * i
        tap_c = col + pad_w - STRIDE1 * j
        covered = (tap_r >= 0) & (tap_r < KERNEL1) & (tap_c >= 0) & (tap_c < KERNEL1)
        tap = torch.where(covered, tap_r * KERNEL1 + tap_c, KERNEL1 * KERNEL1).reshape(-1)
        selector = torch.zeros(KERNEL1 * KERNEL1 + 1, tap.numel(), dtype=torch.bool)
        selector[tap, torch.arange(tap.numel())] = True
        # The extra row collected the uncovered pairs. Stored as bool: it is derived from the
        # shapes, not state, so it must not look like a float buffer worth saving or tuning.
        return selector[: KERNEL1 * KERNEL1].contiguous()

    def _slots_and_values(
        self, obs: torch.Tensor, observe: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        location, feature, value = obs[..., 0], obs[..., 1], obs[..., 2]
        if observe:
            self.scale.observe(feature, value)
        slots = self.token_slot[(location.int() << 8) | feature.int()]
        return slots, value.to(self.conv1.weight.dtype)

    def box(self, obs: torch.Tensor) -> torch.Tensor:
        """The explicit `(B, F, H, W)` box of `(B, N, 3)` tokens (values already divided by the
        feature scale). Not used by `forward`, which gets `conv1(box)` straight from the tokens."""
        slots, values = self._slots_and_values(obs)
        values = values / self.scale.lookup()[obs[..., 1].long()]
        box = values.new_zeros(obs.shape[0], self.box_size + 1)
        box.scatter_add_(1, slots, values)
        return box[:, : self.box_size].view(-1, self.num_features, self.height, self.width)

    def conv1_as_matrix(self) -> torch.Tensor:
        """conv1 (with the feature scale folded in) as a `(box_size + 1, C*out1_h*out1_w)` matrix:
        row `slot` is the conv output of a unit value in that box slot; the last row is zeros.

        Building it costs as much as a small forward pass, so without gradients (rollouts,
        evaluation) it is cached until the weights or the feature scale change in place (their
        version counters move: an optimizer step, a load, a raised feature max)."""
        if torch.is_grad_enabled():
            return self._build_conv1_matrix()
        key = (self.conv1.weight._version, self.conv1.weight.data_ptr(),
               self.scale.feature_max._version, self.scale.feature_max.data_ptr())
        if getattr(self, "_conv1_matrix_key", None) != key:
            self._conv1_matrix = self._build_conv1_matrix()
            self._conv1_matrix_key = key
        return self._conv1_matrix

    def _build_conv1_matrix(self) -> torch.Tensor:
        channels = self.conv1.out_channels
        weight = self.conv1.weight / self.scale.feature_max.view(1, -1, 1, 1)
        spread = weight.flatten(2) @ self.tap_selector.to(weight.dtype)  # (C, F, H*W * out positions)
        spread = spread.view(channels, self.num_features, self.height * self.width, -1)
        matrix = spread.permute(1, 2, 0, 3).reshape(self.box_size, -1)
        return torch.cat([matrix, matrix.new_zeros(1, matrix.shape[1])], dim=0)

    def first_conv(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        """`conv1(box(obs))`, computed from the tokens: `(B, C, out1_h, out1_w)`."""
        slots, values = self._slots_and_values(obs, observe)
        matrix = self.conv1_as_matrix()
        # Under autocast the matrix comes out of a matmul in bf16/fp16; the weights must match it.
        out = F.embedding_bag(slots, matrix, per_sample_weights=values.to(matrix.dtype), mode="sum")
        out = out.view(obs.shape[0], self.conv1.out_channels, self.out1_h, self.out1_w)
        return out + self.conv1.bias.view(1, -1, 1, 1)

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        x = F.relu(self.first_conv(trim_padding(obs), observe))
        if self.conv2_is_dense:
            # The 3x3 kernel covers the whole 3x3 map (the 11x11 default): the conv is one matmul,
            # and a plain GEMM is several times faster than a convolution call at this size.
            x = F.linear(x.flatten(1), self.conv2.weight.flatten(1), self.conv2.bias)
        else:
            x = self.conv2(x)
        return self.dense(F.relu(x).flatten(1))


class FastPolicy(Policy):
    """The default architecture (`fast`)."""

    def __init__(self, architecture: FastArchitecture, env_info: PolicyEnvInfo):
        encoder = TokenBoxCNN(env_info, architecture.cnn_channels, architecture.hidden_size)
        super().__init__(architecture, env_info, encoder)
