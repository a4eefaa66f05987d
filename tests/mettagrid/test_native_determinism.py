"""The core builds and runs without Python: devops/bench/native_determinism.sh compiles
mettagrid/cpp/tests/determinism.cpp with the core sources, and the program checks that seeded
rollouts repeat exactly (also on 2 threads) and that another seed diverges."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which(os.environ.get("CXX", "c++")) is None, reason="no C++ compiler")
def test_native_rollouts_repeat_for_a_seed_and_diverge_for_another(tmp_path):
    result = subprocess.run(
        ["bash", str(ROOT / "devops/bench/native_determinism.sh"), "200"],
        env={**os.environ, "OUT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAILED" not in result.stdout
    assert result.stdout.count(" ok") == 4, result.stdout
