"""tools/renderer.py in a real terminal: a tmux pane (what a user sees) and a pty (the raw bytes).

On a terminal the renderer animates in place (`renderer_job.frames=auto`): every frame starts with
clear-screen + home, so the pane always shows one map and one status line, redrawn each step.
The pipe-based tests in test_renderer_tool.py only ever see the last frame.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import shlex
import shutil
import struct
import subprocess
import tempfile
import termios
import time
from pathlib import Path

import pytest

from tests.tools.test_renderer_tool import ROOT

TOOL = str(ROOT / "tools" / "renderer.py")
CLEAR_SCREEN = "\x1b[H\x1b[2J"
STATUS = re.compile(
    r"^step (\d+) \(total (\d+)\) \| episodes done \d+ \| reward -?\d+\.\d\d \| agents (\d+) \| \d+ steps/s$"
)
NAVIGATION_SIZE = 26  # 24x24 random map plus a 1-cell border (configs/env/mettagrid/navigation.yaml)
ARENA_SIZE = 63


def _terminal_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
    return env


# --------------------------------------------------------------------------------------------
# tmux: the screen a user actually looks at
# --------------------------------------------------------------------------------------------


class Pane:
    """One detached tmux session on a private tmux server, running a single command.

    The server's socket and the command's exit-status file live in a private temporary
    directory (short, under /tmp: socket paths are limited to ~100 bytes), removed on cleanup.
    """

    def __init__(self):
        self.dir = Path(
            tempfile.mkdtemp(prefix="metta-renderer-", dir="/tmp" if os.path.isdir("/tmp") else None)
        )
        self.socket = self.dir / "tmux.sock"
        self.status_file = self.dir / "exit-status"

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-u", "-f", "/dev/null", "-S", str(self.socket), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
            cwd=ROOT,
            env=_terminal_env(),
        )
        assert result.returncode == 0, f"tmux {args[0]}: {result.stderr}"
        return result.stdout

    def start(self, command: list[str], width: int, height: int) -> None:
        # The shell writes the tool's exit status to a file and then keeps the pane open without
        # printing anything, so the final screen stays as the tool left it (tmux's remain-on-exit
        # would add a "Pane is dead" line that scrolls the screen).
        shell = f"{shlex.join(command)}; echo $? > {shlex.quote(str(self.status_file))}; exec sleep 600"
        self.tmux("new-session", "-d", "-s", "r", "-x", str(width), "-y", str(height), "-c", str(ROOT), shell)

    def capture(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", "r").splitlines()

    def finished(self) -> bool:
        return self.status_file.exists() and self.status_file.read_text().endswith("\n")

    def wait_until_finished(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while not self.finished():
            if time.monotonic() > deadline:
                pytest.fail(f"renderer still running after {timeout}s; screen:\n" + "\n".join(self.capture()))
            time.sleep(0.05)
        return int(self.status_file.read_text())

    def cleanup(self) -> None:
        if self.socket.exists():
            subprocess.run(
                ["tmux", "-S", str(self.socket), "kill-server"], check=False, capture_output=True, timeout=10
            )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pane():
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux); the pty tests below still run")
    p = Pane()
    try:
        yield p
    finally:
        p.cleanup()


def status_lines(screen: list[str]) -> list[re.Match]:
    return [m for m in map(STATUS.match, (line.rstrip() for line in screen)) if m]


def poll_status(p: Pane, timeout: float, after_total: int = 0) -> tuple[list[str], re.Match]:
    """Capture the pane until a complete status line with total step > after_total is on screen.

    Every capture, complete or not, must show at most one status line: frames replace each
    other in place instead of scrolling down the terminal.
    """
    deadline = time.monotonic() + timeout
    while True:
        screen = p.capture()
        found = status_lines(screen)
        assert len(found) <= 1, "more than one status line on screen:\n" + "\n".join(screen)
        if found and int(found[0].group(2)) > after_total:
            return screen, found[0]
        if p.finished() and not status_lines(p.capture()):
            pytest.fail("renderer exited without a status line; screen:\n" + "\n".join(p.capture()))
        if time.monotonic() > deadline:
            pytest.fail(
                f"no status line with step > {after_total} within {timeout}s; screen:\n" + "\n".join(screen)
            )
        time.sleep(0.02)


def assert_navigation_frame(screen: list[str], status_row: int) -> None:
    # The frame is drawn from the top-left corner (cursor home) and the status line follows it.
    assert status_row == NAVIGATION_SIZE, "\n".join(screen)
    frame = [row.rstrip() for row in screen[:NAVIGATION_SIZE]]
    assert frame[0] == frame[-1] == "#" * NAVIGATION_SIZE
    assert all(len(row) == NAVIGATION_SIZE and row[0] == row[-1] == "#" for row in frame), "\n".join(frame)
    assert sum(row.count(ch) for row in frame for ch in "^v<>") == 4  # the 4 agents, by orientation
    assert all(not line.strip() for line in screen[NAVIGATION_SIZE + 1 :]), "text below the status line"


def test_ascii_animation_redraws_the_map_and_status_line_in_place(pane):
    num_steps = 60
    pane.start(
        [
            TOOL,
            "env=mettagrid/navigation",
            f"renderer_job.num_steps={num_steps}",
            "renderer_job.sleep_time=0.04",
        ],
        width=120,
        height=60,
    )
    screen, first = poll_status(pane, timeout=20)
    row = [line.rstrip() for line in screen].index(first.group(0))
    assert_navigation_frame(screen, row)
    assert int(first.group(3)) == 4
    first_total = int(first.group(2))
    assert first_total < num_steps, "the run finished before it could be watched; raise num_steps"

    # Still running: a later capture shows a later step, in the same place on the screen.
    screen, later = poll_status(pane, timeout=10, after_total=first_total)
    assert int(later.group(2)) > first_total
    assert_navigation_frame(screen, [line.rstrip() for line in screen].index(later.group(0)))

    assert pane.wait_until_finished(timeout=15) == 0
    screen = pane.capture()
    (final,) = status_lines(screen)
    assert int(final.group(1)) == int(final.group(2)) == num_steps
    assert " reward " in final.group(0) and final.group(0).endswith("steps/s")
    assert_navigation_frame(screen, [line.rstrip() for line in screen].index(final.group(0)))
    # Nothing scrolled off the top while animating: frames replaced each other.
    assert sum(1 for line in screen if "steps/s" in line) == 1


def test_miniscope_draws_unicode_symbols_one_column_each(pane):
    # Arena: it has every building kind. The pane is exactly as wide as the map, so a symbol
    # that a terminal draws two columns wide (e.g. an emoji) pushes the row's border wall onto
    # the next screen line and this test sees it.
    pane.start(
        [TOOL, "renderer_job.renderer_type=miniscope", "renderer_job.num_steps=10"],
        width=ARENA_SIZE,
        height=ARENA_SIZE + 4,
    )
    assert pane.wait_until_finished(timeout=20) == 0
    # Joined, the (wrapped) status line is whole again; it is the only one on screen.
    joined = pane.tmux("capture-pane", "-p", "-J", "-t", "r").splitlines()
    (final,) = status_lines(joined)
    assert int(final.group(2)) == 10 and int(final.group(3)) == 24

    screen = pane.capture()
    frame = screen[:ARENA_SIZE]
    bad = [
        (i, row) for i, row in enumerate(frame) if len(row) != ARENA_SIZE or row[0] != "█" or row[-1] != "█"
    ]
    assert not bad, "rows not exactly one screen line wide:\n" + "\n".join(f"{i:2} {row!r}" for i, row in bad)
    assert frame[0] == frame[-1] == "█" * ARENA_SIZE
    text = "\n".join(frame)
    assert sum(text.count(ch) for ch in "▲▼◀▶❄") == 24
    for symbol in "♥⛏↯▒":  # altars, mines, generators, blocks
        assert symbol in text, symbol
    assert not any(ch in text for ch in "#^v<>.")  # no ASCII map characters in this style


def test_miniscope_navigation_in_a_large_pane(pane):
    pane.start(
        [
            TOOL,
            "env=mettagrid/navigation",
            "renderer_job.renderer_type=miniscope",
            "renderer_job.num_steps=40",
            "renderer_job.sleep_time=0.03",
        ],
        width=120,
        height=60,
    )
    screen, status = poll_status(pane, timeout=20)
    row = [line.rstrip() for line in screen].index(status.group(0))
    assert row == NAVIGATION_SIZE
    frame = [line.rstrip() for line in screen[:NAVIGATION_SIZE]]
    assert frame[0] == frame[-1] == "█" * NAVIGATION_SIZE
    assert sum(line.count(ch) for line in frame for ch in "▲▼◀▶") == 4
    assert pane.wait_until_finished(timeout=15) == 0


# --------------------------------------------------------------------------------------------
# pty: the raw bytes the tool writes to a terminal
# --------------------------------------------------------------------------------------------


def run_in_pty(*args: str, timeout: float = 30) -> tuple[int, str]:
    """Run the tool with a pty (120x60) as its terminal; returns (exit code, everything it wrote)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 120, 0, 0))
    try:
        proc = subprocess.Popen(
            [TOOL, *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=_terminal_env(),
            start_new_session=True,
        )
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                proc.kill()
                pytest.fail(f"renderer did not finish within {timeout}s")
            ready, _, _ = select.select([master], [], [], min(remaining, 0.5))
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError as error:  # Linux: EIO once the child side is closed
                if error.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            chunks.append(data)
        returncode = proc.wait(timeout=10)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    # The pty's line discipline turns "\n" into "\r\n".
    return returncode, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def frames_of(output: str) -> list[str]:
    assert output.startswith(CLEAR_SCREEN), repr(output[:200])
    return output.split(CLEAR_SCREEN)[1:]


def test_pty_ascii_animates_with_one_clear_screen_per_frame():
    num_steps = 12
    code, output = run_in_pty("env=mettagrid/navigation", f"renderer_job.num_steps={num_steps}")
    assert code == 0, output[-2000:]
    assert output.count(CLEAR_SCREEN) > 1
    frames = frames_of(output)
    assert len(frames) == num_steps + 1  # one per step, then the final frame
    totals = []
    for frame in frames:
        lines = frame.rstrip("\n").split("\n")
        assert len(lines) == NAVIGATION_SIZE + 1
        status = STATUS.match(lines[-1])
        assert status, lines[-1]
        totals.append(int(status.group(2)))
        assert lines[0] == "#" * NAVIGATION_SIZE
    assert totals == [*range(1, num_steps + 1), num_steps]
    assert "\x1b[" not in output.replace(CLEAR_SCREEN, "")  # plain ASCII: no colours


def test_pty_miniscope_writes_ansi_colours():
    code, output = run_in_pty(
        "env=mettagrid/navigation", "renderer_job.renderer_type=miniscope", "renderer_job.num_steps=5"
    )
    assert code == 0, output[-2000:]
    assert output.count(CLEAR_SCREEN) == 6
    last = frames_of(output)[-1]
    # Colours are the viewer's own, from the shared glyph table (24-bit ANSI).
    assert "\x1b[38;2;86;96;111m█\x1b[0m" in last  # walls, #56606f
    assert "\x1b[38;2;255;222;235m♥\x1b[0m" in last  # altars, #ffdeeb
    assert len(re.findall(r"\x1b\[38;2;\d+;\d+;\d+m[▲▼◀▶❄]\x1b\[0m", last)) == 4  # agents, coloured by group
    status = STATUS.match(last.rstrip("\n").split("\n")[-1])
    assert status and int(status.group(2)) == 5


def test_pty_frames_last_prints_one_frame_even_on_a_terminal():
    code, output = run_in_pty(
        "env=mettagrid/navigation", "renderer_job.num_steps=5", "renderer_job.frames=last"
    )
    assert code == 0, output[-2000:]
    assert CLEAR_SCREEN not in output
    lines = output.rstrip("\n").split("\n")
    assert len(lines) == NAVIGATION_SIZE + 1 and lines[-1].startswith("step 5 (total 5)")
