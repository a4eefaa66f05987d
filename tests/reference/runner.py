"""Run a command line from a reference document the way a user types it, in a fresh checkout.

A sandbox is a copy of this checkout (the files git tracks, and the built core; no runs, no
build trees) whose `.venv` links to the interpreter running the tests, so `./tools/x.py` finds it
exactly as on a user's machine. PYTHONPATH points at the copy: the venv's editable install
would otherwise import the original tree.

A line goes to bash as typed, after three mechanical changes that the row states:
placeholders (`<run_id>`) get values, a budget (`trainer.total_timesteps=2048`) is appended
to shrink long work, and comments are dropped (bash would drop them too, but an appended
budget must land before them). `uv run X`, `python` and the project's console scripts
(`cogames`, `metta`) resolve through small shims on PATH, standing in for `uv` and for an
activated venv.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]


def checkout_files() -> list[str]:
    """What a fresh checkout holds: the files git tracks (and new ones it does not ignore)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and os.path.lexists(REPO / name)})


def copy_checkout(root: Path) -> None:
    """The checkout's files, symlinks kept as links, and the C++ extensions built by setup."""
    built = [path for package in ("mettagrid", "metta") for path in (REPO / package).rglob("*.so")]
    for name in checkout_files() + [str(path.relative_to(REPO)) for path in built]:
        source, target = REPO / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)


# Set METTA_REFERENCE_WARM=0 to start every `python` cold (slower; for checking that the
# warm interpreter changes nothing).
WARM = os.environ.get("METTA_REFERENCE_WARM", "1") != "0"


@dataclass
class Sandbox:
    root: Path
    env: dict[str, str]
    zygote: subprocess.Popen | None = None
    services: list[subprocess.Popen] = field(default_factory=list)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def start_zygote(self, socket_path: Path) -> None:
        self.zygote = subprocess.Popen([sys.executable, str(Path(__file__).with_name("zygote.py")), str(socket_path)],
                                       cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, text=True)
        if self.zygote.stdout.readline().strip() != "ready":
            raise RuntimeError("the warm interpreter did not start")
        self.env["METTA_REFERENCE_ZYGOTE"] = str(socket_path)

    def start_service(self, command: str, address: str, timeout: float = 60) -> None:
        """Start a server line in the background and wait until `address` answers."""
        log = self.root.parent / f"{self.root.name}-service{len(self.services)}.log"
        with log.open("w") as sink:  # the child keeps its own descriptor
            process = subprocess.Popen(["bash", "-c", command], cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                                       stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        self.services.append(process)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(address, timeout=5):
                    return
            except urllib.error.HTTPError:  # it answers
                return
            except OSError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"`{command}` did not come up at {address} ({error}); see {log}") from None
                time.sleep(0.3)

    def close(self) -> None:
        for process in self.services:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self.zygote is not None:
            self.zygote.kill()
            self.zygote.wait()


def make_sandbox(root: Path, extra_env: dict[str, str] | None = None) -> Sandbox:
    """A fresh checkout at `root` (which must not exist) with the shims and a clean environment."""
    copy_checkout(root)
    (root / ".venv").symlink_to(Path(sys.prefix))
    shims = root.parent / f"{root.name}-bin"
    zygote_socket = root.parent / f"{root.name}-zygote.sock" if WARM else None
    _write_shims(shims)
    home = root.parent / f"{root.name}-home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("WANDB_", "METTA_", "HYDRA_", "PYTEST_", "DISPLAY", "WAYLAND"))}
    env.update({
        "PATH": f"{shims}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(root),
        "HOME": str(home),  # logins, caches and settings files land here, not in the user's home
        "BROWSER": "true",  # "open in browser" becomes a no-op instead of a text browser that waits
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
        # The tools' launcher runs $VIRTUAL_ENV/bin/python: the shim directory's `python`.
        "VIRTUAL_ENV": str(shims.parent / f"{root.name}-venv"),
        "METTA_REFERENCE_PYTHON": sys.executable,
    })
    env.update(extra_env or {})
    venv_bin = Path(env["VIRTUAL_ENV"]) / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(shims / "python")
    sandbox = Sandbox(root, env)
    if zygote_socket:
        sandbox.start_zygote(zygote_socket)
    return sandbox


def _write_shims(shims: Path) -> None:
    shims.mkdir()
    python = sys.executable

    def shim(name: str, body: str) -> None:
        path = shims / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    shim("uv", 'if [ "$1" = run ]; then shift; fi\nexec "$@"')
    client = Path(__file__).with_name("client.py")
    shim("python", f'exec "{python}" -S -E "{client}" "$@"')
    shim("python3", f'exec "{python}" -S -E "{client}" "$@"')
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"].get("scripts", {})
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        shim(name, f'exec "{shims}/python" -c "import sys; from {module} import {function}; '
                   f'sys.argv[0] = \'{name}\'; sys.exit({function}())" "$@"')


def shell_words(command: str) -> list[str]:
    """The words bash would see, comments dropped (quotes and escapes as bash reads them)."""
    return shlex.split(command, comments=True, posix=True)


def prepare(command: str, placeholders: dict[str, str], budget: str) -> str:
    """The line with placeholders filled and the budget appended, re-quoted for bash."""
    for name, value in placeholders.items():
        command = command.replace(f"<{name}>", value)
    words = _words_with_variables(command) + [(word, False) for word in shell_words(budget)]
    return " ".join(_quote(word, live) for word, live in words)


def _words_with_variables(command: str) -> list[tuple[str, bool]]:
    """shell_words, each with whether bash would expand a `$` in it (one outside single quotes)."""
    words: list[tuple[str, bool]] = []
    word, live, started, quote, i = "", False, False, None, 0
    while i < len(command):
        char = command[i]
        if quote == "'":
            if char == "'":
                quote = None
            else:
                word += char
        elif char == "\\" and i + 1 < len(command) and (quote is None or command[i + 1] in '"\\$`'):
            word, started, i = word + command[i + 1], True, i + 1
        elif quote == '"':
            if char == '"':
                quote = None
            else:
                word, live = word + char, live or char == "$"
        elif char in "'\"":
            quote, started = char, True
        elif char.isspace():
            if started:
                words.append((word, live))
            word, live, started = "", False, False
        elif char == "#" and not started:
            break
        else:
            word, live, started = word + char, live or char == "$", True
        i += 1
    if started:
        words.append((word, live))
    return words


def _quote(word: str, live: bool) -> str:
    # `$VAR` references the line typed outside single quotes stay live (the docs export
    # TEST_ID and use it on the next line as `run=test_$TEST_ID`).
    if live:
        return '"' + re.sub(r'(["\\`])', r"\\\1", word) + '"'
    return shlex.quote(word)


@dataclass
class Outcome:
    command: str
    returncode: int
    output: str  # stdout and stderr together, or stdout alone when `errors` was asked for apart
    errors: str = ""

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.output.strip().splitlines()[-lines:])


def run_line(sandbox: Sandbox, command: str, timeout: float, split: bool = False) -> Outcome:
    """Run one prepared line with bash in the sandbox; stdout and stderr together (or apart,
    with `split`). On timeout the line's whole process group goes, so no server or trainer
    outlives its row."""
    process = subprocess.Popen(["bash", "-c", command], cwd=sandbox.root, env=sandbox.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE if split else subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, errors = process.communicate()
        return Outcome(command, -9, (output or "") + f"\n[timed out after {timeout:.0f}s]", errors or "")
    return Outcome(command, process.returncode, output, errors or "")


def shell_value(sandbox: Sandbox, expression: str) -> str:
    """What bash makes of `expression` (for `export NAME=$(date ...)` lines)."""
    done = subprocess.run(["bash", "-c", f"printf %s {expression}"], cwd=sandbox.root, env=sandbox.env,
                          capture_output=True, text=True, check=True)
    return done.stdout


URL = re.compile(r"https?://(?:127\.0\.0\.1|localhost|0\.0\.0\.0):\d+/?[^\s'\"]*")


def run_server_line(sandbox: Sandbox, command: str, timeout: float) -> Outcome:
    """Run a line that serves until interrupted (play, replay): wait for the address it
    prints, fetch it like a browser would, then stop the line's process group. Exit code 0
    means the page answered 200; anything else is reported as the line's failure."""
    process = subprocess.Popen(["bash", "-c", command], cwd=sandbox.root, env=sandbox.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    returncode, note = None, ""
    try:
        while time.monotonic() < deadline:
            found = URL.search("".join(lines))
            if found:
                returncode, note = _fetch(found[0].replace("0.0.0.0", "127.0.0.1"), deadline)
                break
            if process.poll() is not None:
                reader.join(5)
                returncode, note = (process.returncode or 1), "[exited before serving]"
                break
            time.sleep(0.2)
        else:
            returncode, note = -9, f"[no address printed within {timeout:.0f}s]"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        reader.join(5)
    return Outcome(command, returncode, "".join(lines) + f"\n{note}")


def _fetch(url: str, deadline: float) -> tuple[int, str]:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return (0 if response.status == 200 else response.status), f"[GET {url}: {response.status}]"
        except OSError as error:  # not listening yet, or refused
            if time.monotonic() > deadline:
                return 1, f"[GET {url}: {error}]"
            time.sleep(0.3)
