"""`latent_attn_small`: tokens embedded one by one, read by a few learned latent queries.

Each token becomes `feature_embed[feature] + position_embed[location] + value * value_embed[feature]`
(value divided by the running per-feature max, `FeatureScale`). A handful of learned latents
cross-attend to the tokens (padding masked out), each block followed by a small MLP; the
latents are averaged into one vector for the LSTM. Unlike the box CNN, nothing here depends
on the window size or on cells being on a grid, and the cost grows with the tokens actually
present rather than with the window.

An observation with no tokens at all (possible in principle, and in tests) would leave
attention with nothing to attend to and produce NaNs. Such an observation instead attends to
its first slot, embedded as a learned "nothing here" token (the spare feature row, position
0xFF, value 0), so the output is defined and still learnable.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, PositiveInt, model_validator
from torch import nn

from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policy import PAD, ArchitectureBase, FeatureScale, Policy, init_layer, trim_padding


class LatentAttnArchitecture(ArchitectureBase):
    """Tokens embedded one by one; a few learned latents cross-attend to them; then an LSTM."""

    name: Literal["latent_attn_small", "latent_attn_tiny", "latent_attn_med"] = Field(
        "latent_attn_small", description="Architecture name"
    )
    embed_dim: PositiveInt = Field(64, description="Width of token embeddings and latents")
    num_heads: PositiveInt = Field(4, description="Attention heads (must divide embed_dim)")
    num_latents: PositiveInt = Field(8, le=64, description="Learned latent queries")
    num_layers: PositiveInt = Field(2, le=4, description="Cross-attention blocks (latents read the tokens)")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> LatentAttnArchitecture:
        if self.embed_dim % self.num_heads:
            raise ValueError(
                f"embed_dim ({self.embed_dim}) must be a multiple of num_heads ({self.num_heads})"
            )
        return self


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, length, D) -> (B, heads, length, D / heads)."""
    batch, length, dim = x.shape
    return x.view(batch, length, num_heads, dim // num_heads).transpose(1, 2)


class CrossAttentionBlock(nn.Module):
    """Latents read the tokens (pre-norm multi-head attention), then think alone (MLP)."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.query_norm = nn.LayerNorm(dim)
        self.query = nn.Linear(dim, dim)
        self.attn_out = nn.Linear(dim, dim)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(
        self, latents: torch.Tensor, key: torch.Tensor, value: torch.Tensor, visible: torch.Tensor
    ) -> torch.Tensor:
        """latents (B, L, D); key, value (B, heads, N, D / heads); visible (B, 1, 1, N) bool."""
        query = split_heads(self.query(self.query_norm(latents)), self.num_heads)
        read = F.scaled_dot_product_attention(query, key, value, attn_mask=visible)
        latents = latents + self.attn_out(read.transpose(1, 2).flatten(2))
        return latents + self.mlp(self.mlp_norm(latents))


class LatentAttentionEncoder(nn.Module):
    """`(B, N, 3)` uint8 tokens -> `(B, hidden_size)` features."""

    def __init__(self, env_info: PolicyEnvInfo, architecture: LatentAttnArchitecture):
        super().__init__()
        dim = architecture.embed_dim
        self.num_features = env_info.num_features
        add_token_embeddings(self, dim)
        # Keys and values are computed once and shared by all blocks: the per-token work is
        # what costs (B x N tokens against B x L latents), and only the latents change.
        self.num_heads = architecture.num_heads
        self.key_value = nn.Linear(dim, 2 * dim)
        self.latents = nn.Parameter(torch.randn(1, architecture.num_latents, dim) * 0.02)
        self.blocks = nn.ModuleList(
            CrossAttentionBlock(dim, architecture.num_heads) for _ in range(architecture.num_layers)
        )
        self.out = nn.Sequential(
            nn.LayerNorm(dim), init_layer(nn.Linear(dim, architecture.hidden_size)), nn.ReLU()
        )

    def forward(self, obs: torch.Tensor, observe: bool = False) -> torch.Tensor:
        obs = trim_padding(obs)
        tokens, visible = embed_tokens(self, obs, observe)
        batch = obs.shape[0]
        visible = visible.view(batch, 1, 1, -1)
        keys, values = (split_heads(part, self.num_heads) for part in self.key_value(tokens).chunk(2, dim=-1))
        latents = self.latents.expand(batch, -1, -1)
        for block in self.blocks:
            latents = block(latents, keys, values, visible)
        return self.out(latents.mean(dim=1))


def add_token_embeddings(encoder: nn.Module, dim: int) -> None:
    """Give an encoder (with `num_features` set) what `embed_tokens` reads: the feature scale,
    feature/value/position embeddings and the token norm."""
    encoder.scale = FeatureScale(encoder.num_features)
    # Row `num_features` is a dummy that padding and unknown ids gather from (then masked).
    encoder.feature_embed = nn.Embedding(encoder.num_features + 1, dim)
    encoder.value_embed = nn.Embedding(encoder.num_features + 1, dim)
    encoder.position_embed = nn.Embedding(256, dim)  # indexed by the location byte (row << 4 | col)
    encoder.token_norm = nn.LayerNorm(dim)


def embed_tokens(encoder: nn.Module, obs: torch.Tensor, observe: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens `(B, N, 3)` -> normalised embeddings `(B, N, D)` and the visible mask `(B, N)`, for
    an encoder with `scale`, `num_features`, `feature_embed`, `value_embed`, `position_embed` and
    `token_norm` (the latent-attention and ViT encoders). An observation with no tokens gets its
    first slot marked visible: it is the learned "nothing here" token."""
    location, feature, amount = obs[..., 0].long(), obs[..., 1].long(), obs[..., 2]
    if observe:
        encoder.scale.observe(feature, amount)
    visible = (location != PAD) & (feature < encoder.num_features)
    feature = torch.where(visible, feature, encoder.num_features)
    location = torch.where(visible, location, PAD)
    scaled = encoder.scale.scaled(feature, amount.to(encoder.token_norm.weight.dtype))
    scaled = torch.where(visible, scaled, 0.0).unsqueeze(-1)
    tokens = (
        encoder.feature_embed(feature) + encoder.position_embed(location) + scaled * encoder.value_embed(feature)
    )
    visible[:, 0] |= ~visible.any(dim=1)
    return encoder.token_norm(tokens), visible


class LatentAttnPolicy(Policy):
    """Latent cross-attention over tokens (`latent_attn_small`, `_tiny`, `_med`)."""

    def __init__(self, architecture: LatentAttnArchitecture, env_info: PolicyEnvInfo):
        super().__init__(architecture, env_info, LatentAttentionEncoder(env_info, architecture))


class LatentAttnTinyArchitecture(LatentAttnArchitecture):
    """`latent_attn_tiny`: half the width, half the latents, one block."""

    name: Literal["latent_attn_tiny"] = Field("latent_attn_tiny", description="Architecture name")
    embed_dim: PositiveInt = Field(32, description="Width of token embeddings and latents")
    num_heads: PositiveInt = Field(2, description="Attention heads (must divide embed_dim)")
    num_latents: PositiveInt = Field(4, le=64, description="Learned latent queries")
    num_layers: PositiveInt = Field(1, le=4, description="Cross-attention blocks (latents read the tokens)")


class LatentAttnMedArchitecture(LatentAttnArchitecture):
    """`latent_attn_med`: twice the width and latents, three blocks, a wider LSTM."""

    name: Literal["latent_attn_med"] = Field("latent_attn_med", description="Architecture name")
    hidden_size: PositiveInt = Field(256, description="Width of the dense layers, the LSTM and the heads' input")
    embed_dim: PositiveInt = Field(128, description="Width of token embeddings and latents")
    num_heads: PositiveInt = Field(8, description="Attention heads (must divide embed_dim)")
    num_latents: PositiveInt = Field(16, le=64, description="Learned latent queries")
    num_layers: PositiveInt = Field(3, le=4, description="Cross-attention blocks (latents read the tokens)")
