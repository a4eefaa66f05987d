"""The diagnostic scripts, run as a user types them (exit 0 = pass, 1 = failure found)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def run(script, *args):
    return subprocess.run([sys.executable, str(SCRIPTS / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_rollout_sanity_check_passes_for_role():
    done = run("run_cogsguard_rollout.py", "--steps", "200", "--agents", "10",
               "--policy-uri", "metta://policy/role?miner=4&scout=2&aligner=2&scrambler=2", "--trace-roles")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout and "steps_with_all_roles=200" in done.stdout


def test_rollout_sanity_check_fails_without_all_roles():
    from metta.cogames.diagnostics import rollout_check

    report = rollout_check("cogsguard_arena.small", "metta://policy/miner", steps=60)
    assert not report["passed"] and any("four roles" in f for f in report["failures"])


def test_parity_passes_for_role_against_role_py_and_fails_against_random():
    same = run("run_cogsguard_parity.py", "--policy-a", "role", "--policy-b", "role_py", "--steps", "150",
               "--mission", "cogsguard_arena.small")
    assert same.returncode == 0, same.stdout + same.stderr
    # Identical play gives identical outcomes, and they are reported.
    outcomes = next(line for line in same.stdout.splitlines() if line.startswith("outcomes (all agents): "))
    hearts = outcomes.split("heart.gained A ")[1].split(",")[0]
    assert hearts.split(" B ")[0] == hearts.split(" B ")[1] and float(hearts.split(" B ")[0]) > 0
    different = run("run_cogsguard_parity.py", "--policy-a", "role", "--policy-b", "random", "--steps", "150",
                    "--mission", "cogsguard_arena.small")
    assert different.returncode == 1 and "FAIL" in different.stdout


def test_instrumented_audit_traces_roles_and_resources():
    done = run("run_cogsguard_instrumented_audit.py", "--steps", "400", "--agents", "2",
               "--policy-uri", "metta://policy/role_py?miner=1&scout=1", "--trace-every", "200")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "roles miner=1, scout=1" in done.stdout and "role transitions" in done.stdout
