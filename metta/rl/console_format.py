"""What the training console shows, as pure functions (so tests can check them at any width).

Three rules from issue #20: the bar never shows more steps than its total (training runs whole
epochs, so the total shown is the target rounded up to whole epochs, and the start line says
so); every time on the bar is labelled (elapsed, ETA); lines fit the terminal (80 columns by
default); and the reward is "-" when no episode finished since the last line, instead of the
last value repeated.
"""

from __future__ import annotations

import math
import os
from typing import Any

NO_EPISODE = "-"
SEPARATOR = " | "
CONTINUATION = "  "  # indent of a summary's second line
RUN_NAME_WIDTH = 16

# (metric key, label, format) of the summary line, in order.
SUMMARY_KEYS = (
    ("overview/sps", "sps", "{:,.0f}"),
    ("losses/policy_loss", "pi_loss", "{:.4f}"),
    ("losses/value_loss", "v_loss", "{:.4f}"),
    ("losses/entropy", "entropy", "{:.3f}"),
    ("losses/approx_kl", "kl", "{:.4f}"),
    ("curriculum/num_tasks", "tasks", "{:.0f}"),
    ("curriculum/entropy", "task_H", "{:.2f}"),
)


def display_total(target_steps: int, steps_per_epoch: int | None) -> int:
    """The step count training really stops at: the target rounded up to whole epochs."""
    if not steps_per_epoch or steps_per_epoch <= 0:
        return target_steps
    return math.ceil(target_steps / steps_per_epoch) * steps_per_epoch


def total_note(target_steps: int, steps_per_epoch: int | None) -> str | None:
    """A line explaining a bar total that differs from the requested one, else None."""
    total = display_total(target_steps, steps_per_epoch)
    if total == target_steps:
        return None
    return (f"total_timesteps {target_steps:,} rounds up to {total:,} agent steps "
            f"(whole epochs of {steps_per_epoch:,})")


def terminal_width() -> int:
    """$COLUMNS when set (what `COLUMNS=80 tools/train.py` asks for), else 80."""
    try:
        return max(40, int(os.environ.get("COLUMNS", "80")))
    except ValueError:
        return 80


class RewardWindow:
    """Mean episode reward over the episodes that finished since the last summary line."""

    def __init__(self) -> None:
        self._sum = 0.0
        self._count = 0.0

    def add(self, metrics: dict[str, Any]) -> None:
        # The trainer sets overview/episodes only for epochs where episodes finished; its
        # overview/reward is carried over otherwise and must not count again.
        episodes = float(metrics.get("overview/episodes", 0.0))
        if episodes > 0 and "overview/reward" in metrics:
            self._sum += float(metrics["overview/reward"]) * episodes
            self._count += episodes

    def take(self) -> float | None:
        mean = self._sum / self._count if self._count else None
        self._sum = self._count = 0.0
        return mean


def summary_fields(metrics: dict[str, Any], agent_steps: int, total: int, reward: float | None) -> list[str]:
    fields = [f"epoch {int(metrics.get('metric/epoch', 0))}", f"steps {min(agent_steps, total):,}/{total:,}",
              f"reward {NO_EPISODE if reward is None else f'{reward:.3f}'}"]
    for key, label, fmt in SUMMARY_KEYS:
        if key in metrics:
            fields.append(f"{label} {fmt.format(metrics[key])}")
    return fields


def pack_lines(fields: list[str], width: int) -> list[str]:
    """Fields joined by " | " into as few lines as fit `width`; later lines are indented."""
    lines: list[str] = []
    current = ""
    for field in fields:
        candidate = f"{current}{SEPARATOR}{field}" if current else (CONTINUATION if lines else "") + field
        if current and len(candidate) > width:
            lines.append(current)
            current = CONTINUATION + field
        else:
            current = candidate
    if current:
        lines.append(current)
    return [line[:width] for line in lines]


def short_run_name(run: str) -> str:
    return run if len(run) <= RUN_NAME_WIDTH else run[: RUN_NAME_WIDTH - 1] + "…"
