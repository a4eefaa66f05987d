"""tools/renderer.py run as a user types it."""

import subprocess
from pathlib import Path

from tests.hardening.bad_input import run_command

ROOT = Path(__file__).resolve().parents[2]


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return run_command(["tools/renderer.py", *args], timeout=120)


def test_default_run_draws_the_arena_and_a_status_line():
    result = run_tool("renderer_job.num_steps=30")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("step 30 (total 30)")
    frame = lines[:-1]
    assert len(frame) == 63 and all(len(row) == 63 for row in frame)  # the 4-room arena
    assert set(frame[0]) == {"#"}
    assert sum(row.count(ch) for row in frame for ch in "^v<>*") == 24


def test_navigation_with_fewer_agents_random_policy_miniscope():
    result = run_tool(
        "env=mettagrid/navigation",
        "renderer_job.num_agents=2",
        "renderer_job.policy_type=random",
        "renderer_job.renderer_type=miniscope",
        "renderer_job.num_steps=10",
    )
    assert result.returncode == 0, result.stderr
    assert "agents 2" in result.stdout
    assert "█" in result.stdout


def test_bad_override_is_one_line_naming_the_key():
    result = run_tool("renderer_job.policy_type=clever")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "renderer_job.policy_type" in result.stderr and "clever" in result.stderr


def test_agent_count_change_on_a_fixed_map_is_refused():
    result = run_tool("env=mettagrid/navigation/evals/corridors", "renderer_job.num_agents=3")
    assert result.returncode == 2
    assert "renderer_job.num_agents" in result.stderr


def test_trained_policy_from_a_checkpoint_directory(tmp_path):
    train = subprocess.run(
        [str(ROOT / "tools" / "train.py"), "run=r", f"train_dir={tmp_path}", "env=mettagrid/navigation",
         "trainer.total_timesteps=512", "trainer.batch_size=512", "trainer.minibatch_size=256",
         "trainer.bptt_horizon=8", "trainer.num_envs=8", "agent.cnn_channels=8", "agent.hidden_size=32",
         "wandb=off"],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )
    assert train.returncode == 0, train.stderr
    # The policy was trained on navigation (4 actions); the arena has more, which it cannot play.
    result = run_tool("env=mettagrid/navigation", "renderer_job.policy_type=trained",
                      f"policy_uri=file://{tmp_path}/r/checkpoints", "renderer_job.num_steps=20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("step 20")
    refused = run_tool("renderer_job.policy_type=trained", f"policy_uri=file://{tmp_path}/r/checkpoints",
                       "renderer_job.num_steps=5")
    assert refused.returncode == 2 and "policy_uri" in refused.stderr


def test_trained_without_a_uri_is_refused():
    result = run_tool("renderer_job.policy_type=trained")
    assert result.returncode == 2 and "policy_uri" in result.stderr
