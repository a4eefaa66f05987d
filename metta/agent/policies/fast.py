"""`fast`: the default policy. Tokens -> feature x row x col box -> CNN -> dense -> LSTM -> heads.

The box. For every token that is not padding, `box[feature, row, col] += value / feature_max`
(`FeatureScale` in policy.py; once it is frozen, the value is first clipped to the max); cells
nobody reports stay 0. Two tokens for the same feature and cell (an agent standing on an object)
add up, which keeps the result deterministic on any device.

The speed trick. The box is ~96% zeros and the first convolution (kernel 5, stride 3) is
linear in it, so the box is never built: each token adds value x one kernel tap to each of the
(at most four) output positions whose window covers its cell. That is the same number as
`conv1(box)` (tests check it, value and gradient); `box()` builds the explicit box for tests and
inspection. Everything after the first conv is an ordinary CNN.

Two implementations of that first conv:
- On the CPU in float32, a C++ kernel (`metta.agent._token_conv`, metta/agent/cpp/token_conv.cpp):
  one pass over the tokens each way, the kernel's gradient summed straight from (token, position)
  pairs, on torch's OpenMP threads. It made the whole trainer ~20% faster (docs/performance.md,
  "Trainer throughput").
- Elsewhere (CUDA, other dtypes), torch ops (`_TokenConv1`): each token looks up its row of the
  conv written as a matrix (`(F*H*W, channels*out_h*out_w)`, gathered from the kernel) and
  `embedding_bag` sums the rows weighted by the token values; the kernel's gradient is grouped by
  (feature, tap) with one sort and one `embedding_bag`. Autograd through the matrix would instead
  accumulate the gradient of every matrix row the tokens touched (9x wider) and then fold it
  onto the kernel, which took 2-3x the time of the whole pass.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, PositiveInt
from torch import nn

from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policy import PAD, ArchitectureBase, FeatureScale, Policy, init_layer, trim_padding

try:
    from metta.agent import _token_conv
except ImportError as error:  # a checkout updated without rebuilding its C++ extensions
    raise ImportError(
        "metta.agent._token_conv is not built: run ./devops/setup.sh "
        "(or .venv/bin/python setup.py build_ext --inplace)"
    ) from error

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
        slot_taps, pair_key, pair_position = self._tap_tables(pad_h, pad_w)
        self.register_buffer("slot_taps", slot_taps, persistent=False)
        self.register_buffer("pair_key", pair_key, persistent=False)
        self.register_buffer("pair_position", pair_position, persistent=False)
        self._cell_position, self._cell_tap = self._cell_tables()

    @property
    def box_size(self) -> int:
        return self.num_features * self.height * self.width

    def _token_slot_table(self) -> torch.Tensor:
        return token_slot_table(self.num_features, self.height, self.width)

    def _tap_tables(self, pad_h: int, pad_w: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Where each box slot meets conv1's kernel, indexed by slot (`box_size + 1` rows, the last
        for the thrown-away slot). A kernel *row* is `feature * 25 + tap`, a position `i * out1_w + j`;
        `trash` = F * 25 names no kernel row (the extended kernel's zero row).

        - `slot_taps` (slots, positions): the kernel row joining the slot to each output position, or trash;
        - `pair_key`, `pair_position` (slots, pairs): the same, listed per slot for the (at most
          four) positions it reaches; unused pairs have key trash and position 0."""
        positions = self.out1_h * self.out1_w
        trash = self.num_features * KERNEL1 * KERNEL1
        row = torch.arange(self.height).view(-1, 1, 1, 1)
        col = torch.arange(self.width).view(1, -1, 1, 1)
        i = torch.arange(self.out1_h).view(1, 1, -1, 1)
        j = torch.arange(self.out1_w).view(1, 1, 1, -1)
        tap_r = row + pad_h - STRIDE1 * i
        tap_c = col + pad_w - STRIDE1 * j
        covered = ((tap_r >= 0) & (tap_r < KERNEL1) & (tap_c >= 0) & (tap_c < KERNEL1)).reshape(-1, positions)
        tap = (tap_r * KERNEL1 + tap_c).reshape(-1, positions)  # (cells, positions)
        feature = torch.arange(self.num_features).view(-1, 1, 1)
        slot_taps = torch.where(covered, feature * KERNEL1 * KERNEL1 + tap, trash).reshape(self.box_size, positions)
        slot_taps = torch.cat([slot_taps, torch.full((1, positions), trash)])
        pairs = max(int(covered.sum(1).max()), 1)
        # Covered positions first, in position order (a stable sort of "not covered").
        order = torch.sort((~covered).to(torch.uint8), dim=1, stable=True).indices[:, :pairs]
        cell_covered = covered.gather(1, order)
        pair_position = torch.where(cell_covered, order, 0).repeat(self.num_features, 1)
        pair_key = slot_taps[:-1].gather(1, order.repeat(self.num_features, 1))
        pair_key = torch.cat([pair_key, torch.full((1, pairs), trash)])
        pair_position = torch.cat([pair_position, torch.zeros(1, pairs, dtype=torch.long)])
        # int32, not int16: DistributedDataParallel broadcasts buffers, and gloo has no int16.
        return slot_taps.reshape(-1), pair_key.to(torch.int32), pair_position

    def _cell_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """The native kernel's geometry, per window cell `row * W + col`: the output positions whose
        window covers the cell and the kernel tap joining them, covered positions first; `(cells,
        pairs)` int32 each, unused pairs with tap -1. Feature 0's rows of the per-slot tables are
        exactly that (its kernel rows are the taps)."""
        cells, trash = self.height * self.width, self.num_features * KERNEL1 * KERNEL1
        key = self.pair_key[:cells]
        cell_tap = torch.where(key == trash, -1, key).to(torch.int32)
        cell_position = self.pair_position[:cells].to(torch.int32)
        return cell_position.contiguous().numpy(), cell_tap.contiguous().numpy()

    def _slots_and_values(
        self, obs: torch.Tensor, observe: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        location, feature, value = obs[..., 0], obs[..., 1], obs[..., 2]
        if observe:
            self.scale.observe(feature, value)
        slots = self.token_slot[(location.int() << 8) | feature.int()]
        return slots, self.scale.clipped(feature, value.to(self.conv1.weight.dtype))

    def box(self, obs: torch.Tensor) -> torch.Tensor:
        """The explicit `(B, F, H, W)` box of `(B, N, 3)` tokens (values already divided by the
        feature scale). Not used by `forward`, which gets `conv1(box)` straight from the tokens."""
        slots, values = self._slots_and_values(obs)
        values = values / self.scale.lookup()[obs[..., 1].long()]
        box = values.new_zeros(obs.shape[0], self.box_size + 1)
        box.scatter_add_(1, slots, values)
        return box[:, : self.box_size].view(-1, self.num_features, self.height, self.width)

    def kernel_rows(self) -> torch.Tensor:
        """conv1's kernel with the feature scale folded in, one row per (feature, tap), plus a zero
        row: `(F * 25 + 1, channels)`. Differentiable (the training path's gradient lands here)."""
        weight = self.conv1.weight / self.scale.feature_max.view(1, -1, 1, 1)
        rows = weight.permute(1, 2, 3, 0).reshape(-1, self.conv1.out_channels)
        return torch.cat([rows, rows.new_zeros(1, rows.shape[1])])

    def conv1_as_matrix(self, kernel_rows: torch.Tensor | None = None) -> torch.Tensor:
        """conv1 (with the feature scale folded in) as a `(box_size + 1, out1_h*out1_w*C)` matrix:
        row `slot` is the conv output of a unit value in that box slot, position-major (the gather
        from `kernel_rows` writes that layout without a transpose); the last row is zeros.
        Not differentiable (`first_conv` carries the gradient to the kernel itself); pass the
        `kernel_rows()` already at hand to spare computing them again.

        It is cached until the weights or the feature scale change in place (their version
        counters move: an optimizer step, a load, a raised feature max), so a rollout builds it
        once per update and a training minibatch once."""
        key = (self.conv1.weight._version, self.conv1.weight.data_ptr(),
               self.scale.feature_max._version, self.scale.feature_max.data_ptr())
        if getattr(self, "_conv1_matrix_key", None) != key:
            rows = (kernel_rows if kernel_rows is not None else self.kernel_rows()).detach()
            self._conv1_matrix = rows.index_select(0, self.slot_taps).view(self.box_size + 1, -1)
            self._conv1_matrix_key = key
        return self._conv1_matrix

    def first_conv(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        """`conv1(box(obs))`, computed from the tokens: `(B, C, out1_h, out1_w)`, stored
        channels-last (a permuted view of `(B, out1_h, out1_w, C)`). On the CPU in float32 the
        native kernel does it (`_NativeTokenConv1`); elsewhere torch ops (`_TokenConv1`)."""
        if self.runs_native(obs):
            out = self._first_conv_native(obs.contiguous(), observe)
        else:
            out = self._first_conv_torch(trim_padding(obs), observe)
        out = out.view(obs.shape[0], self.out1_h, self.out1_w, self.conv1.out_channels) + self.conv1.bias
        return out.permute(0, 3, 1, 2)

    def runs_native(self, obs: torch.Tensor) -> bool:
        """Whether `first_conv` takes the C++ kernel: uint8 tokens on the CPU, float32 weights."""
        return obs.device.type == "cpu" and obs.dtype == torch.uint8 and self.conv1.weight.dtype == torch.float32

    def _first_conv_native(self, obs: torch.Tensor, observe: bool) -> torch.Tensor:
        if observe and not self.scale.frozen:  # frozen, the max needs no pass over the tokens
            self.scale.raise_to(torch.from_numpy(_token_conv.feature_max(obs.numpy(), self.num_features)),
                                rows=obs.shape[0])
        return _NativeTokenConv1.apply(obs, self.kernel_rows(), self)

    def _first_conv_torch(self, obs: torch.Tensor, observe: bool) -> torch.Tensor:
        slots, values = self._slots_and_values(obs, observe)
        # Only the tokens that land in the box take part: padding is often half the slots.
        used = (slots != self.box_size).view(-1)
        token = used.nonzero().squeeze(1)
        counts = used.view(slots.shape).sum(1)
        offsets = counts.cumsum(0) - counts
        bags = torch.div(token, slots.shape[1], rounding_mode="floor")
        kernel_rows = self.kernel_rows()
        return _TokenConv1.apply(slots.reshape(-1).index_select(0, token), offsets, bags,
                                 values.reshape(-1).index_select(0, token), self.conv1_as_matrix(kernel_rows),
                                 kernel_rows, self.pair_key, self.pair_position)

    def native_call(self, function, tokens: torch.Tensor, dense: torch.Tensor, result: torch.Tensor,
                    value_caps: np.ndarray | None) -> None:
        """`_token_conv.forward` or `.backward` on this encoder's geometry, over torch's threads;
        `value_caps`: a frozen feature scale's (`FeatureScale.value_caps`)."""
        function(tokens.numpy(), dense.numpy(), self.num_features, self.height, self.width,
                 self.out1_h * self.out1_w, self._cell_position, self._cell_tap, result.numpy(),
                 torch.get_num_threads(), value_caps)

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        x = F.relu(self.first_conv(obs, observe))
        if self.conv2_is_dense:
            # The 3x3 kernel covers the whole 3x3 map (the 11x11 default): the conv is one matmul,
            # and a plain GEMM is several times faster than a convolution call at this size.
            # Both sides flattened position-major, the layout first_conv leaves its output in.
            x = F.linear(x.permute(0, 2, 3, 1).flatten(1), self.conv2.weight.permute(0, 2, 3, 1).flatten(1),
                         self.conv2.bias)
        else:
            x = self.conv2(x)
        return self.dense(F.relu(x).flatten(1))


class _TokenConv1(torch.autograd.Function):
    """conv1 of the token box, `(T tokens) -> (B, positions * C)`, with the kernel's gradient
    computed from (token, position) pairs (see the module docstring)."""

    @staticmethod
    def forward(ctx, slots, offsets, bags, values, matrix, kernel_rows, pair_key, pair_position):
        # `kernel_rows` is an input only so that autograd hands its gradient back; `matrix` is it, spread.
        out = F.embedding_bag(slots, matrix, offsets, mode="sum", per_sample_weights=values.to(matrix.dtype))
        ctx.save_for_backward(slots, bags, values, pair_key, pair_position)
        ctx.kernel_shape = kernel_rows.shape
        return out

    @staticmethod
    def backward(ctx, grad_out):
        slots, bags, values, pair_key, pair_position = ctx.saved_tensors
        rows, channels = ctx.kernel_shape
        positions = grad_out.shape[1] // channels
        pairs = pair_key.shape[1]
        grad_rows = grad_out.reshape(-1, channels)  # one row per (agent, position)
        # Sorted as int16 (F*25 < 32768 for F <= 256): a stable sort of int16 is ~2x faster than int64 on CPU.
        key = pair_key.index_select(0, slots).view(-1).to(torch.int16)
        source = (pair_position.index_select(0, slots) + (bags * positions).unsqueeze(1)).view(-1)
        key, order = torch.sort(key, stable=True)
        counts = torch.bincount(key.long(), minlength=rows)  # the last row (trash) collects unused pairs
        offsets = torch.cat([counts.new_zeros(1), counts.cumsum(0)])[:rows]
        grad_kernel = F.embedding_bag(source.index_select(0, order), grad_rows, offsets, mode="sum",
                                      per_sample_weights=values.to(grad_out.dtype).index_select(0, order // pairs),
                                      include_last_offset=True)
        grad_kernel = torch.cat([grad_kernel, grad_kernel.new_zeros(1, channels)])  # the zero row: no gradient
        return None, None, None, None, None, grad_kernel, None, None


class _NativeTokenConv1(torch.autograd.Function):
    """conv1 of the token box by the C++ kernel (metta/agent/cpp/token_conv.cpp),
    `(B, N, 3) uint8 tokens -> (B, positions * C)`; the gradient goes to `kernel_rows`."""

    @staticmethod
    def forward(ctx, tokens, kernel_rows, encoder):
        out = kernel_rows.new_empty(tokens.shape[0], encoder.out1_h * encoder.out1_w * kernel_rows.shape[1])
        value_caps = encoder.scale.value_caps()
        encoder.native_call(_token_conv.forward, tokens, kernel_rows.detach().contiguous(), out, value_caps)
        ctx.save_for_backward(tokens)
        ctx.encoder, ctx.kernel_shape, ctx.value_caps = encoder, kernel_rows.shape, value_caps
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (tokens,) = ctx.saved_tensors
        grad_kernel = grad_out.new_empty(ctx.kernel_shape)
        ctx.encoder.native_call(_token_conv.backward, tokens, grad_out.contiguous(), grad_kernel, ctx.value_caps)
        return None, grad_kernel, None


class FastPolicy(Policy):
    """The default architecture (`fast`)."""

    def __init__(self, architecture: FastArchitecture, env_info: PolicyEnvInfo):
        encoder = TokenBoxCNN(env_info, architecture.cnn_channels, architecture.hidden_size)
        super().__init__(architecture, env_info, encoder)
