"""The server checks uploaded bundles without loading torch: that keeps uploads fast and
keeps foreign weights out of the web process."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import sys
from pathlib import Path
from metta.tournament.bundle import read_manifest
print(read_manifest(Path(sys.argv[1])).kind, 'torch' in sys.modules)
"""


@pytest.mark.parametrize("uri, ok", [("metta://policy/role?miner=4&scout=2", True),
                                     ("metta://policy/random", True),
                                     ("metta://policy/role?speed=3", False)])
def test_built_in_bundles_are_checked_without_torch(tmp_path, uri, ok):
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "policy.json").write_text(json.dumps({"uri": uri}))
    result = subprocess.run([sys.executable, "-c", CHECK, str(bundle)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    if ok:
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["builtin", "False"]
    else:
        assert "unknown parameter 'speed' for policy role" in result.stderr
