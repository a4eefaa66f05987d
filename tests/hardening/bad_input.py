"""What every bad-input case asserts: the command fails, says so in one line, shows no
traceback, and leaves nothing behind that it should not have written.

Each area keeps its own table of cases (tests/hardening/test_bad_<area>.py); the cases of
all tables together are the project's bad-input table. A case runs a real command line (a
tool, `cogames`, a server request) and hands the result to `assert_refused`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class BadInput:
    """One row: `argv` run from `cwd` must fail with one line containing `fragment`."""

    name: str
    argv: tuple[str, ...]
    fragment: str
    env: dict[str, str] = field(default_factory=dict)


def run_command(argv: list[str] | tuple[str, ...], cwd: Path = REPO, env: dict[str, str] | None = None,
                timeout: float = 240, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run a tool as a user would: `tools/x.py` and console scripts from the project's venv."""
    argv = list(argv)
    if argv[0].endswith(".py"):
        argv = [sys.executable, str(REPO / argv[0]) if not Path(argv[0]).is_absolute() else argv[0], *argv[1:]]
    elif argv[0] in ("cogames", "metta"):
        argv = [str(Path(sys.executable).parent / argv[0]), *argv[1:]]
    full_env = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(argv, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
                          input=stdin, check=False)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_refused(result: subprocess.CompletedProcess, fragment: str, forbidden: tuple[str, ...] = (),
                   exit_code: int | None = None, prefix: str = "") -> str:
    """Non-zero exit (`exit_code` exactly, when given), exactly one line on stderr starting with
    `prefix` and containing `fragment`, no traceback, and none of `forbidden` (e.g. server-side
    paths) in anything shown. Returns the line."""
    shown = result.stdout + result.stderr
    assert result.returncode != 0, f"exit 0 for a bad input\n{shown}"
    assert exit_code is None or result.returncode == exit_code, f"exit {result.returncode}, not {exit_code}\n{shown}"
    assert "Traceback" not in shown, shown
    lines = error_lines(result.stderr)
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    assert lines[0].startswith(prefix), f"{lines[0]!r} does not start with {prefix!r}"
    assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    for text in forbidden:
        assert text not in shown, f"{text!r} shown to the user: {shown}"
    return lines[0]


def snapshot(root: Path) -> dict[str, int]:
    """Every file under root with its size: compare before and after a refused command."""
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}
