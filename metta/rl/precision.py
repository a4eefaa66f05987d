"""Mixed precision for the update (`trainer.amp`): autocast around the forward pass and the
losses, and for fp16 a GradScaler so small gradients do not flush to zero. bf16 has fp32's
range and needs no scaler; it is the choice on recent GPUs (and works on CPU)."""

from __future__ import annotations

import contextlib

import torch

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, mode: str, device: torch.device):
        self.mode, self.device_type = mode, device.type
        if mode == "fp16" and device.type != "cuda":
            raise ValueError(f"trainer.amp=fp16 needs a CUDA device (this run's is {device}); use bf16 or off")
        self.scaler = torch.amp.GradScaler("cuda") if mode == "fp16" else None

    def autocast(self):
        if self.mode == "off":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=DTYPES[self.mode])

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Before clipping: the norm must be of the true gradients."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)  # skips the step when the scaled gradients overflowed
        self.scaler.update()
