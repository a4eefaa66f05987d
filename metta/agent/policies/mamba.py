"""`mamba`: the `fast` encoder (token box + CNN) with a selective state-space core instead of the LSTM.

The core (`SSMCore` in metta/agent/cores.py) is the Mamba recurrence in plain PyTorch: input-
dependent step size and B/C projections, a diagonal negative A, a short causal convolution, a
gated output; scanned step by step, so it runs on any device without a CUDA-only package.
`lstm_layers` counts its SSM blocks here. The same core is available to every architecture
with `agent.core=ssm`; this row just makes it the default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from metta.agent.policies.fast import FastArchitecture, FastPolicy


class MambaArchitecture(FastArchitecture):
    """Token box + CNN encoder, selective SSM core."""

    name: Literal["mamba"] = Field("mamba", description="Architecture name")
    core: Literal["lstm", "ssm", "cortex"] = Field("ssm", description="Memory core (metta/agent/cores.py)")


class MambaPolicy(FastPolicy):
    """`fast`'s encoder, SSM core (`mamba`)."""
