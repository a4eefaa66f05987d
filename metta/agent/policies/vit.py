"""`vit_*`: observation tokens as the patches of a small vision transformer.

Each token is embedded as in `latent_attn` (feature + position + scaled value, `embed_tokens`);
a learned summary token is prepended, and `num_layers` pre-norm self-attention blocks let every
token read every other (padding masked out). The summary token's output, projected to
`hidden_size`, goes to the memory core. Unlike latent attention, the work grows with the square
of the tokens present, so these rows are slower per step; they read relations between tokens
(this wall next to that agent) directly. Four sizes: tiny, small, medium and default.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, PositiveInt, model_validator
from torch import nn

from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policies.latent_attn import add_token_embeddings, embed_tokens, split_heads
from metta.agent.policy import ArchitectureBase, Policy, init_layer, trim_padding

ViTName = Literal["vit_tiny", "vit_small", "vit_medium", "vit_default"]


class ViTArchitecture(ArchitectureBase):
    """Self-attention over the observation tokens, then the memory core."""

    name: ViTName = Field("vit_default", description="Architecture name")
    embed_dim: PositiveInt = Field(64, description="Width of token embeddings")
    num_heads: PositiveInt = Field(4, description="Attention heads (must divide embed_dim)")
    num_layers: PositiveInt = Field(2, le=8, description="Self-attention blocks")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> ViTArchitecture:
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim ({self.embed_dim}) must be a multiple of num_heads ({self.num_heads})")
        return self


class ViTTinyArchitecture(ViTArchitecture):
    name: Literal["vit_tiny"] = Field("vit_tiny", description="Architecture name")
    hidden_size: PositiveInt = Field(64, description="Width of the core and the heads' input")
    embed_dim: PositiveInt = Field(32, description="Width of token embeddings")
    num_heads: PositiveInt = Field(2, description="Attention heads (must divide embed_dim)")
    num_layers: PositiveInt = Field(1, le=8, description="Self-attention blocks")


class ViTSmallArchitecture(ViTArchitecture):
    name: Literal["vit_small"] = Field("vit_small", description="Architecture name")
    embed_dim: PositiveInt = Field(48, description="Width of token embeddings")
    num_heads: PositiveInt = Field(4, description="Attention heads (must divide embed_dim)")
    num_layers: PositiveInt = Field(2, le=8, description="Self-attention blocks")


class ViTMediumArchitecture(ViTArchitecture):
    name: Literal["vit_medium"] = Field("vit_medium", description="Architecture name")
    hidden_size: PositiveInt = Field(256, description="Width of the core and the heads' input")
    embed_dim: PositiveInt = Field(128, description="Width of token embeddings")
    num_heads: PositiveInt = Field(8, description="Attention heads (must divide embed_dim)")
    num_layers: PositiveInt = Field(4, le=8, description="Self-attention blocks")


class ViTDefaultArchitecture(ViTArchitecture):
    name: Literal["vit_default"] = Field("vit_default", description="Architecture name")


class SelfAttentionBlock(nn.Module):
    """Pre-norm multi-head self-attention, then an MLP, both residual."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.attn_norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attn_out = nn.Linear(dim, dim)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """x (B, N, D); visible (B, 1, 1, N) bool."""
        q, k, v = (split_heads(part, self.num_heads) for part in self.qkv(self.attn_norm(x)).chunk(3, dim=-1))
        read = F.scaled_dot_product_attention(q, k, v, attn_mask=visible)
        x = x + self.attn_out(read.transpose(1, 2).flatten(2))
        return x + self.mlp(self.mlp_norm(x))


class ViTEncoder(nn.Module):
    """`(B, N, 3)` uint8 tokens -> `(B, hidden_size)` features."""

    def __init__(self, env_info: PolicyEnvInfo, architecture: ViTArchitecture):
        super().__init__()
        dim = architecture.embed_dim
        self.num_features = env_info.num_features
        add_token_embeddings(self, dim)
        self.summary = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(dim, architecture.num_heads) for _ in range(architecture.num_layers)
        )
        self.out = nn.Sequential(nn.LayerNorm(dim), init_layer(nn.Linear(dim, architecture.hidden_size)), nn.ReLU())

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        obs = trim_padding(obs)
        tokens, visible = embed_tokens(self, obs, observe)
        batch = obs.shape[0]
        x = torch.cat([self.summary.expand(batch, -1, -1), tokens], dim=1)
        visible = torch.cat([visible.new_ones(batch, 1), visible], dim=1).view(batch, 1, 1, -1)
        for block in self.blocks:
            x = block(x, visible)
        return self.out(x[:, 0])


class ViTPolicy(Policy):
    """Self-attention over tokens (`vit_tiny`, `vit_small`, `vit_medium`, `vit_default`)."""

    def __init__(self, architecture: ViTArchitecture, env_info: PolicyEnvInfo):
        super().__init__(architecture, env_info, ViTEncoder(env_info, architecture))
