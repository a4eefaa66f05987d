"""A tournament match runner that fails the way a broken checkpoint does: with an error naming
a file inside the server's storage (`--match-runner tests.hardening.failing_runner:run_match`)."""

from __future__ import annotations

from pathlib import Path


def run_match(settings, bundles: list[Path], seed: int) -> list[float]:
    raise FileNotFoundError(f"[Errno 2] No such file or directory: '{bundles[0] / 'weights' / 'checkpoint.pt'}'")
