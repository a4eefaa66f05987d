"""Every executable Python script runs as the docs type it (`devops/bench/learn.py arena`), with
the project's .venv, from a shell whose `python3` lacks the project's packages.

A script whose shebang was `#!/usr/bin/env python3` trained for half an hour and then died
importing torch at its evaluation; the shell launcher the tools use picks the venv first.
"""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER_EXEC = 'exec "${py:-python3}" "$0" "$@"'


def scripts() -> list[Path]:
    """Every tracked Python file with a shebang: a command the docs may type."""
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    return [ROOT / name for name in tracked if (ROOT / name).read_text().startswith("#!")]


def test_every_script_is_executable_and_starts_with_the_venv_launcher():
    found = scripts()
    assert len(found) > 30  # tools/, devops/, scripts/
    assert [str(path.relative_to(ROOT)) for path in found if not os.access(path, os.X_OK)] == []
    assert [str(path.relative_to(ROOT)) for path in found
            if LAUNCHER_EXEC not in path.read_text().split("'''")[1]] == []


def test_a_bench_script_run_without_an_active_venv_uses_the_project_venv(tmp_path):
    # A bare PATH: its python3 (if any) is the system's, without torch.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(ROOT / "devops" / "bench" / "learn.py"), "--help"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # The usage text is the script's own description, not the launcher's.
    assert "Does it learn? Train from scratch" in result.stdout
    # This one imports numpy before it parses its arguments.
    probe = subprocess.run([str(ROOT / "devops" / "bench" / "env_sps.py"), "--help"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert "usage: env_sps.py" in probe.stdout
