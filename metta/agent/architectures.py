"""The one table of policy architectures: `agent=<name>` -> (config class, policy class).

Adding an architecture is one module under `policies/` (a config class subclassing
`ArchitectureBase` with `name: Literal["<name>"]`, and a `Policy` subclass), one row here and
one YAML in `configs/agent/<name>.yaml` (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from metta.agent.env_info import PolicyEnvInfo
from metta.agent.policies.cortex import CortexArchitecture, CortexPolicy
from metta.agent.policies.fast import FastArchitecture, FastPolicy
from metta.agent.policies.graph import GraphArchitecture, GraphPolicy
from metta.agent.policies.latent_attn import (
    LatentAttnArchitecture,
    LatentAttnMedArchitecture,
    LatentAttnPolicy,
    LatentAttnTinyArchitecture,
)
from metta.agent.policies.lstm import LSTMArchitecture, LSTMPolicy
from metta.agent.policies.mamba import MambaArchitecture, MambaPolicy
from metta.agent.policies.vit import (
    ViTDefaultArchitecture,
    ViTMediumArchitecture,
    ViTPolicy,
    ViTSmallArchitecture,
    ViTTinyArchitecture,
)
from metta.agent.policy import ArchitectureBase, Policy
from mettagrid.errors import ConfigError, describe_validation_error

ARCHITECTURES: dict[str, tuple[type[ArchitectureBase], type[Policy]]] = {
    "fast": (FastArchitecture, FastPolicy),
    "latent_attn_tiny": (LatentAttnTinyArchitecture, LatentAttnPolicy),
    "latent_attn_small": (LatentAttnArchitecture, LatentAttnPolicy),
    "latent_attn_med": (LatentAttnMedArchitecture, LatentAttnPolicy),
    "vit_tiny": (ViTTinyArchitecture, ViTPolicy),
    "vit_small": (ViTSmallArchitecture, ViTPolicy),
    "vit_medium": (ViTMediumArchitecture, ViTPolicy),
    "vit_default": (ViTDefaultArchitecture, ViTPolicy),
    "lstm": (LSTMArchitecture, LSTMPolicy),
    "mamba": (MambaArchitecture, MambaPolicy),
    "cortex": (CortexArchitecture, CortexPolicy),
    "graph": (GraphArchitecture, GraphPolicy),
}
DEFAULT_ARCHITECTURE = "fast"


def parse_architecture(data: dict[str, Any] | ArchitectureBase, prefix: str = "agent") -> ArchitectureBase:
    """Validate an architecture dict (e.g. the composed `agent` group); one-line ConfigError if bad."""
    if isinstance(data, ArchitectureBase):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix}: must be a mapping (got {data!r})")
    data = dict(data)
    name = data.get("name", DEFAULT_ARCHITECTURE)
    if name not in ARCHITECTURES:
        raise ConfigError(f"{prefix}.name: unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[name][0].model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=prefix, data=data)) from None


def make_policy(architecture: dict[str, Any] | ArchitectureBase, env_info: PolicyEnvInfo) -> Policy:
    """Build the policy named by `architecture` for an env described by `env_info`."""
    config = parse_architecture(architecture)
    return ARCHITECTURES[config.name][1](config, env_info)


def policy_from_metadata(metadata: dict[str, Any]) -> Policy:
    """An untrained policy shaped like the one `metadata` (from `Policy.metadata`) describes;
    load the stored weights into it with `load_state_dict`."""
    return make_policy(metadata["architecture"], PolicyEnvInfo.from_dict(metadata["env_info"]))
