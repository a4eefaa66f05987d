"""The training console tells the truth and fits 80 columns (issue #20): the bar never passes
its total, its times are labelled, and the reward is "-" while no episode has finished."""

from __future__ import annotations

import re

from metta.rl.console_format import (
    NO_EPISODE,
    RewardWindow,
    display_total,
    pack_lines,
    summary_fields,
    total_note,
)
from metta.rl.metrics_log import ConsoleSink

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOSSES = {"losses/policy_loss": -0.01234, "losses/value_loss": 0.1234, "losses/entropy": 1.2345,
          "losses/approx_kl": 0.00123, "overview/sps": 12345.6, "metric/epoch": 30.0}


def screen_lines(text: str) -> list[str]:
    return [line for chunk in ANSI.sub("", text).split("\n") for line in chunk.split("\r") if line.strip()]


def test_total_rounds_up_to_whole_epochs_and_says_so():
    assert display_total(60000, 2048) == 61440
    assert "60,000" in total_note(60000, 2048) and "61,440" in total_note(60000, 2048)
    assert total_note(61440, 2048) is None and display_total(100, None) == 100


def test_reward_is_a_dash_until_an_episode_finishes():
    window = RewardWindow()
    # The trainer carries overview/reward over from earlier epochs; without episodes it must not count.
    window.add({"overview/reward": 5.0})
    assert window.take() is None
    assert f"reward {NO_EPISODE}" in summary_fields(LOSSES, 2048, 61440, None)
    window.add({"overview/reward": 1.0, "overview/episodes": 1.0})
    window.add({"overview/reward": 4.0, "overview/episodes": 3.0})
    assert window.take() == 3.25 and window.take() is None


def test_summary_lines_fit_80_columns():
    fields = summary_fields(LOSSES, 61440, 61440, 12.345)
    lines = pack_lines(fields, 80)
    assert len(lines) == 2 and all(len(line) <= 80 for line in lines)
    assert " | ".join(line.strip() for line in lines) == " | ".join(fields)  # nothing lost


def test_console_sink_at_80_columns_never_overshoots(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws the bar as on a terminal
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    sink = ConsoleSink(60000, 0, 0.0, "a_rather_long_run_name_for_the_bar", steps_per_epoch=2048)
    assert sink.console.is_terminal and sink.total == 61440
    for epoch in range(1, 31):
        metrics = {**LOSSES, "metric/epoch": float(epoch)}
        if epoch == 30:
            metrics.update({"overview/reward": 2.5, "overview/episodes": 4.0})
        sink.log(metrics, epoch * 2048 + (4096 if epoch == 30 else 0), force=True)  # a resumed run may pass the total
    sink.progress.refresh()
    task = sink.progress.tasks[0]
    assert task.completed == task.total == 61440
    sink.close()
    lines = screen_lines(capsys.readouterr().out)
    assert lines and all(len(line) <= 80 for line in lines), max(lines, key=len)
    bars = [line for line in lines if "ETA" in line]
    assert bars and "elapsed" in bars[-1] and "61440/61440" in bars[-1]
    assert not any(re.search(r"(\d+)/61440", line) and int(re.search(r"(\d+)/61440", line).group(1)) > 61440
                   for line in lines)
    summaries = [line for line in lines if line.startswith("epoch")]
    assert f"reward {NO_EPISODE}" in summaries[0] and "reward 2.500" in summaries[-1]
    assert any("rounds up to 61,440" in line for line in lines)
