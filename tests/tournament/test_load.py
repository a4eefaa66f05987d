"""A short run of the tournament load test (devops/bench/tournament_load.py) as a user runs it:
20 users uploading, submitting and reading leaderboards at once against a real server on
127.0.0.1. Nothing acknowledged may be lost or numbered twice, and nothing may be a 5xx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_twenty_users_at_once_lose_nothing():
    run = subprocess.run([sys.executable, str(ROOT / "devops" / "bench" / "tournament_load.py"), "--users", "20",
                          "--duration", "12", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["errors_5xx"] == 0 and result["errors"] == 0, result["first_errors"]
    assert result["lost_uploads"] == [] and result["duplicate_versions"] == [] and result["missing_submissions"] == []
    # every user got work done: the server did not starve anyone for the whole run
    assert result["uploads"] >= 20 and result["submissions"] == result["uploads"], result
    assert result["kinds"]["leaderboard"]["requests"] >= 20
