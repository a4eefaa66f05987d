"""`lstm`: the simplest policy. The token box, flattened, through a two-layer MLP, then the LSTM.

The first dense layer over the flat `(F*H*W)` box is computed from the tokens directly: each
token looks up its box slot's row of the weight matrix and `embedding_bag` sums the rows
weighted by the scaled values (the same number as `Linear(box)`, as in `fast`). No convolution,
so it has no notion of neighbouring cells beyond what the dense layers learn.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policies.fast import token_slot_table
from metta.agent.policy import ArchitectureBase, FeatureScale, Policy, init_layer, trim_padding


class LSTMArchitecture(ArchitectureBase):
    """Flat token box -> MLP -> LSTM."""

    name: Literal["lstm"] = Field("lstm", description="Architecture name")


class BoxMLPEncoder(nn.Module):
    """`(B, N, 3)` uint8 tokens -> `(B, hidden_size)`: Linear(flat box) -> ReLU -> Linear -> ReLU."""

    def __init__(self, env_info: PolicyEnvInfo, hidden_size: int):
        super().__init__()
        self.num_features = env_info.num_features
        self.scale = FeatureScale(self.num_features)
        box_size = self.num_features * env_info.obs_height * env_info.obs_width
        # Row `box_size` is the thrown-away slot (padding, unknown ids): kept at zero.
        self.box_weight = nn.Parameter(torch.randn(box_size + 1, hidden_size) / box_size**0.5)
        self.box_bias = nn.Parameter(torch.zeros(hidden_size))
        self.dense = nn.Sequential(init_layer(nn.Linear(hidden_size, hidden_size)), nn.ReLU())
        self.register_buffer(
            "token_slot", token_slot_table(self.num_features, env_info.obs_height, env_info.obs_width),
            persistent=False,
        )

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        obs = trim_padding(obs)
        location, feature, value = obs[..., 0], obs[..., 1], obs[..., 2]
        if observe:
            self.scale.observe(feature, value)
        slots = self.token_slot[(location.int() << 8) | feature.int()]
        weights = self.scale.scaled(feature, value.to(self.box_bias.dtype))
        weight = torch.cat([self.box_weight[:-1], self.box_weight.new_zeros(1, self.box_weight.shape[1])])
        x = F.embedding_bag(slots, weight, per_sample_weights=weights, mode="sum") + self.box_bias
        return self.dense(F.relu(x))


class LSTMPolicy(Policy):
    """Flat box + MLP + LSTM (`lstm`)."""

    def __init__(self, architecture: LSTMArchitecture, env_info: PolicyEnvInfo):
        super().__init__(architecture, env_info, BoxMLPEncoder(env_info, architecture.hidden_size))
