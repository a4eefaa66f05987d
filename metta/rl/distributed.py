"""torch.distributed set-up for `torchrun`: who am I, which device, and averaging numbers.

Run as `torchrun --nproc_per_node=N tools/train.py ...`: torchrun sets RANK, WORLD_SIZE and
LOCAL_RANK (and the rendezvous for several nodes); without them training is single-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistributedInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(device: str) -> tuple[DistributedInfo, torch.device]:
    """Join the process group torchrun prepared (gloo on CPU, nccl on GPUs); pick this rank's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedInfo(), torch.device(device)
    info = DistributedInfo(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if device.startswith("cuda"):
        torch.cuda.set_device(info.local_rank)
        torch_device = torch.device("cuda", info.local_rank)
        backend = "nccl"
    else:
        torch_device = torch.device(device)
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return info, torch_device


def teardown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(values: dict[str, float], info: DistributedInfo, device: torch.device) -> dict[str, float]:
    """Average scalar metrics over the ranks that have them (a no-op on one process).

    Ranks may report different keys (one finished an episode this epoch, another did not), so
    the key set is agreed first and each metric is averaged over the ranks that reported it.
    """
    if not info.enabled:
        return values
    gathered: list[list[str]] = [[] for _ in range(info.world_size)]
    dist.all_gather_object(gathered, sorted(values))
    keys = sorted(set().union(*gathered))
    if not keys:
        return values
    sums = torch.tensor([float(values.get(k, 0.0)) for k in keys], dtype=torch.float64, device=device)
    counts = torch.tensor([1.0 if k in values else 0.0 for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(sums)
    dist.all_reduce(counts)
    return {k: s / c for k, s, c in zip(keys, sums.tolist(), counts.tolist()) if c > 0}


def barrier(info: DistributedInfo) -> None:
    if info.enabled:
        dist.barrier()
