"""`./tools/train.py trainer.curriculum=env/mettagrid/curriculum/navigation` end to end: curriculum
metrics per epoch, the curriculum's state in trainer_state.pt, and the same state on resume."""

import json

import torch

from tests.tools.test_train_tool import TINY, run_train

CURRICULUM = "trainer.curriculum=env/mettagrid/curriculum/navigation"


def test_train_with_the_navigation_curriculum_as_typed_and_resume(tmp_path):
    tiny = [arg for arg in TINY if not arg.startswith("env=")]
    result = run_train("run=cur", f"train_dir={tmp_path}", "trainer.total_timesteps=1024", CURRICULUM, *tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tasks 108" in result.stdout  # the summary line: task count and entropy
    last = json.loads((tmp_path / "cur" / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["curriculum/num_tasks"] == 108
    assert 0 < last["curriculum/entropy"] <= 4.69
    assert any(key.startswith("curriculum/task_probs/") for key in last)
    state_path = tmp_path / "cur" / "checkpoints" / "trainer_state.pt"
    saved = json.loads(torch.load(state_path, weights_only=True)["curriculum"])
    assert saved["name"] == "mettagrid/curriculum/navigation" and saved["num_tasks"] == 108

    # Resume: the saved RNG and counts are picked up, then carried on.
    result = run_train("run=cur", f"train_dir={tmp_path}", "trainer.total_timesteps=2048", CURRICULUM, *tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resumed from" in result.stdout
    resumed = json.loads(torch.load(state_path, weights_only=True)["curriculum"])
    # Counts carried over from the saved state (a fresh curriculum would start them at 0).
    assert all(resumed["completions"].get(task, 0) >= count for task, count in saved["completions"].items())
    assert sum(resumed["completions"].values()) > sum(saved["completions"].values())
    assert resumed["rng"] != saved["rng"]


def test_a_run_killed_mid_training_resumes_the_curriculum_from_its_last_checkpoint(tmp_path):
    from tests.tools.test_train_tool import train_then_sigkill

    tiny = [arg for arg in TINY if not arg.startswith("env=")]
    run_dir = tmp_path / "killed"
    state = train_then_sigkill(tmp_path, CURRICULUM, *tiny)
    saved, epoch = json.loads(state["curriculum"]), int(state["epoch"])
    assert sum(saved["completions"].values()) > 0, "killed before any episode finished"

    result = run_train("run=killed", f"train_dir={tmp_path}", f"trainer.total_timesteps={(epoch + 1) * 512}",
                       CURRICULUM, *tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"resumed from killed:v{epoch}.pt at epoch {epoch}" in result.stdout
    resumed = json.loads(torch.load(run_dir / "checkpoints" / "trainer_state.pt", weights_only=True)["curriculum"])
    # One epoch on from the checkpoint's counts, not from zero and not from the killed process's.
    assert all(resumed["completions"].get(task, 0) >= count for task, count in saved["completions"].items())
    row = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["metric/epoch"] == epoch + 1
    logged = sum(v for k, v in row.items() if k.startswith("curriculum/completions/"))
    assert logged >= sum(saved["completions"].values())
