"""tools/renderer.py run as a user types it."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "tools" / "renderer.py"), *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


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
