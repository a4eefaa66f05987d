"""trainer.profiler and the phase stopwatch: a tiny tools/train.py run writes a Chrome trace of
the due epoch and per-phase timing/* metrics; mixed precision trains on CPU with bf16 and fp16
off CUDA is refused in one line."""

import json
import subprocess
import time
from pathlib import Path

import pytest
import torch

from metta.rl.precision import Precision
from metta.rl.profiling import EpochProfiler, ProfilerConfig, Stopwatch

ROOT = Path(__file__).resolve().parents[2]
TINY = ["env=mettagrid/navigation", "trainer.total_timesteps=1536", "trainer.batch_size=512",
        "trainer.minibatch_size=256", "trainer.bptt_horizon=8", "trainer.num_envs=8", "trainer.num_workers=1",
        "trainer.checkpoint_interval=10", "agent.cnn_channels=8", "agent.hidden_size=32", "wandb=off",
        "system.torch_threads=1"]
PHASES = ["env_step", "policy_act", "copies", "forward", "backward", "optimizer"]


def test_stopwatch_adds_up_phases_and_starts_again_after_take():
    watch = Stopwatch()
    for _ in range(2):
        with watch("sleep"):
            time.sleep(0.01)
    with watch("other"):
        pass
    taken = watch.take()
    assert set(taken) == {"timing/sleep_s", "timing/other_s"}
    assert 0.02 <= taken["timing/sleep_s"] < 1.0
    assert watch.take() == {}


def test_profiler_traces_only_due_epochs(tmp_path):
    profiler = EpochProfiler(ProfilerConfig(enabled=True, interval_epochs=2, trace_dir=str(tmp_path)),
                             tmp_path / "run", torch.device("cpu"))
    for epoch in (1, 2, 3):
        with profiler.epoch(epoch):
            torch.ones(8, 8) @ torch.ones(8, 8)
    assert [p.name for p in tmp_path.iterdir()] == ["epoch_2.json"]
    assert json.loads((tmp_path / "epoch_2.json").read_text())["traceEvents"]


def test_tiny_run_writes_a_trace_and_timing_metrics_with_bf16(tmp_path):
    result = subprocess.run([str(ROOT / "tools" / "train.py"), "run=prof", f"train_dir={tmp_path}", *TINY,
                             "trainer.profiler.enabled=true", "trainer.profiler.interval_epochs=2", "trainer.amp=bf16"],
                            capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "prof"
    assert sorted(p.name for p in (run_dir / "traces").iterdir()) == ["epoch_2.json"]
    trace = json.loads((run_dir / "traces" / "epoch_2.json").read_text())
    assert any(event.get("name", "").startswith("aten::") for event in trace["traceEvents"])
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    for row in rows:
        for phase in PHASES:
            assert row[f"timing/{phase}_s"] > 0, phase
        # The phases are parts of the epoch: together they cannot exceed it.
        assert sum(row[f"timing/{p}_s"] for p in PHASES) <= row["timing/collect_s"] + row["timing/update_s"] + 1e-3
        assert row["losses/grad_norm"] > 0 and torch.isfinite(torch.tensor(row["losses/policy_loss"]))
    assert [row.get("timing/trace_epoch") for row in rows] == [None, 2.0, None]


def test_fp16_off_cuda_is_refused_in_one_line():
    with pytest.raises(ValueError, match="trainer.amp=fp16 needs a CUDA device"):
        Precision("fp16", torch.device("cpu"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_train_sps_on_cuda_without_a_gpu_fails_in_one_line():
    result = subprocess.run([str(ROOT / "devops" / "bench" / "train_sps.py"), "--device", "cuda"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "train_sps.py: --device cuda: no CUDA device here (torch.cuda.is_available() is False); "
        "use --device cpu or run on a GPU machine"]
