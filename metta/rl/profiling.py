"""Where an epoch's time goes: a phase stopwatch and a periodic torch profiler trace.

`Stopwatch` adds up wall time per named phase (`with watch("env_step"): ...`); the trainer
logs the totals of each epoch as `timing/<phase>_s` in metrics.jsonl. The phases are
collect: env_step, policy_act, copies; update: forward, backward, optimizer. On a GPU the
device is synchronised at each phase's end (only when `trainer.profiler.sync_cuda`), or the
kernels queued by one phase would be billed to the next.

`EpochProfiler` records one epoch every `interval_epochs` with torch.profiler and writes a
Chrome trace (chrome://tracing, https://ui.perfetto.dev) to `<trace_dir>/epoch_<N>.json`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from pydantic import BaseModel, ConfigDict, Field


class ProfilerConfig(BaseModel):
    """torch profiler traces of whole epochs (`trainer.profiler`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Write a torch profiler trace every interval_epochs epochs")
    interval_epochs: int = Field(100, ge=1, description="Epochs between traced epochs (the first traced is this one)")
    trace_dir: str | None = Field(None, description="Where traces go; None = <run dir>/traces")
    record_shapes: bool = Field(False, description="Record operator input shapes (bigger traces)")
    with_stack: bool = Field(False, description="Record Python stacks (much bigger, slower traces)")
    sync_cuda: bool = Field(False, description="Synchronise CUDA at each timing phase's end (exact, slower)")


class Stopwatch:
    """Wall seconds per phase since the last `take()`."""

    def __init__(self, sync: Callable[[], None] | None = None):
        self.totals: dict[str, float] = {}
        self._sync = sync

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            if self._sync is not None:
                self._sync()
            self.totals[phase] = self.totals.get(phase, 0.0) + time.perf_counter() - start

    def take(self, prefix: str = "timing/") -> dict[str, float]:
        """The totals as `timing/<phase>_s` metrics; the watch starts again from zero."""
        metrics = {f"{prefix}{phase}_s": seconds for phase, seconds in self.totals.items()}
        self.totals = {}
        return metrics


def make_stopwatch(config: ProfilerConfig, device: torch.device) -> Stopwatch:
    sync = torch.cuda.synchronize if config.sync_cuda and device.type == "cuda" else None
    return Stopwatch(sync)


class EpochProfiler:
    def __init__(self, config: ProfilerConfig, run_dir: Path, device: torch.device, enabled_here: bool = True):
        self.config = config
        self.enabled = config.enabled and enabled_here  # only rank 0 traces under torchrun
        self.trace_dir = Path(config.trace_dir) if config.trace_dir else run_dir / "traces"
        self.activities = [torch.profiler.ProfilerActivity.CPU]
        if device.type == "cuda":
            self.activities.append(torch.profiler.ProfilerActivity.CUDA)
        self.last_trace: Path | None = None

    def due(self, epoch: int) -> bool:
        return self.enabled and epoch % self.config.interval_epochs == 0

    @contextlib.contextmanager
    def epoch(self, epoch: int) -> Iterator[None]:
        """Trace the block when `epoch` (the one being run, counted from 1) is due."""
        if not self.due(epoch):
            yield
            return
        from metta.common.uri import atomic_path

        profiler = torch.profiler.profile(activities=self.activities, record_shapes=self.config.record_shapes,
                                          with_stack=self.config.with_stack)
        with profiler:
            yield
        path = self.trace_dir / f"epoch_{epoch}.json"
        with atomic_path(path) as tmp:  # a reader never sees half a trace
            profiler.export_chrome_trace(str(tmp))
        self.last_trace = path
