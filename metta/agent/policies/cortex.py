"""`cortex`: the `fast` encoder with a stack of mixed memory cells as its core.

`cortex_pattern` lists the cells bottom first, `L` an LSTM layer and `S` a selective SSM block
(metta/agent/cores.py, `CortexCore`); each cell reads a LayerNorm of the stream and adds its
output back (pre-norm residual), and the state is the concatenation of the cells' states. The
default "LS" puts an LSTM under an SSM block: the LSTM's gated memory for short events, the
SSM's slow decays for long ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from metta.agent.policies.fast import FastArchitecture, FastPolicy


class CortexArchitecture(FastArchitecture):
    """Token box + CNN encoder, a cortex stack of LSTM and SSM cells."""

    name: Literal["cortex"] = Field("cortex", description="Architecture name")
    core: Literal["lstm", "ssm", "cortex"] = Field("cortex", description="Memory core (metta/agent/cores.py)")


class CortexPolicy(FastPolicy):
    """`fast`'s encoder, cortex stack core (`cortex`)."""
