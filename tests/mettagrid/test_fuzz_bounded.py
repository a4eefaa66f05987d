"""CI's fuzz run: `devops/fuzz/run.py --seconds 60`, as a user types it, must end with zero
failures (no crash, no hang, no accepted bad input, no broken invariant; docs/reliability.md).

A failure leaves its reproducer in the run's output folder; the assertion message names it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_fuzz_60_seconds_has_no_failures(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "devops" / "fuzz" / "run.py"), "--seconds", "60", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    line = next((text for text in output.splitlines() if text.startswith("fuzz: seed=")), None)
    assert line is not None, output
    counts = dict(re.findall(r"(\w+)=(\d+)", line))
    assert counts["failures"] == "0", f"{line}\n{output}\nreproducers: {sorted(tmp_path.glob('failure-*.json'))}"
    assert result.returncode == 0, output
    # The run did real work: every kind of case ran, some inputs were refused, envs stepped.
    for kind in ("episode", "params", "buffers", "maps", "actions", "calls", "adapter"):
        assert int(counts.get(kind, 0)) > 0, line
    assert int(counts["refusals"]) > 0 and int(counts["steps"]) > 1000, line
