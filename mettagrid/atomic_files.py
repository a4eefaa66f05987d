"""Atomic local writes and the cleanup of what an interrupted one leaves behind.

A write goes to a temporary file beside its target (same filesystem, so the rename is atomic),
is fsynced, then renamed over the target: a reader or a crash sees the old file or the new
one, never half of one. Temp names say which process on which host wrote them, so the next
start of a tool can remove what a killed writer left without touching a live writer's files.

It lives in mettagrid, the lowest layer, so the env package's own writers (stored maps) use
the same names and cleanup as the library's (`metta.common.uri` re-exports it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside `path` for the block to create; when the block
    succeeds the file is fsynced and renamed over `path`, when it fails it is removed and
    `path` is left untouched.

    The temp file lives in the same directory because a rename is only atomic within one
    filesystem; its name (`temp_path_for`) starts with a dot, so listings of checkpoints,
    maps or replays never pick it up, and says which process wrote it, so that the next
    start of a tool can remove what a killed writer left (`remove_stale_temp_files`). The
    block may hand the path to a library that creates the file itself (DuckDB, boto3's
    download, shutil).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        _fsync(tmp)  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync(path.parent)  # and the rename itself is durable


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None], mode: int = 0o666) -> None:
    """Run `write(file)` into a temporary file beside `path`, then rename it into place.
    The file is made with `mode` (the umask applies), so a secret can stay private."""
    with atomic_path(path) as tmp:
        # os.open rather than open(): the mode is set at creation, before any byte is written.
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as file:
            write(file)


def atomic_write_bytes(path: str | Path, data: bytes, mode: int = 0o666) -> None:
    atomic_write(path, lambda file: file.write(data), mode)


# Temporary files of atomic writes: `.metta-tmp.<pid>.<host>.<random>.<target name>.tmp` (the
# suffix keeps them out of `*.pt` / `*.json` listings, which match dot-files in pathlib). The
# fixed prefix makes them safe to recognise (nothing else is named so); pid and host say
# whether the writer can still be alive, so cleanup never pulls a file from under a
# concurrent writer (another process here, or another machine on a shared filesystem).
TEMP_PREFIX = ".metta-tmp."
# Matched by the prefix alone: a library writing to the temp path may add its own files
# beside it (DuckDB's `<tmp>.wal`), and those are leftovers too.
_TEMP_RE = re.compile(r"^\.metta-tmp\.(?P<pid>\d+)\.(?P<host>[0-9a-f]{8})\.[0-9a-f]{8}\.")
# Before the prefix existed: `.<name>.<8 hex>.tmp` (removed by age only: no writer is named).
_LEGACY_TEMP_RE = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")
# A temp file untouched for this long is abandoned whoever wrote it: writers keep the mtime
# fresh while they write, and no single write here takes an hour.
STALE_TEMP_AGE_S = 3600.0


def _host_key() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def temp_path_for(path: str | Path) -> Path:
    """A fresh temporary name beside `path` for an atomic write by this process."""
    path = Path(path)
    return path.with_name(f"{TEMP_PREFIX}{os.getpid()}.{_host_key()}.{secrets.token_hex(4)}.{path.name}.tmp")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temp_files(directory: str | Path, recursive: bool = False,
                            max_age_s: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove the temporary files that interrupted atomic writes left in `directory`, and the
    temporary work directories named like them (`temp_path_for` used for a directory).

    A temp file is stale when its writer (pid, on this host) no longer exists, or when it has
    not been touched for `max_age_s` (a writer on another machine, or a reused pid). Files of
    a live writer stay, so a concurrent run or tool is never broken. Tools call this on the
    directories they write when they start. Returns what was removed."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed: list[Path] = []
    host, now = _host_key(), time.time()
    entries = directory.rglob(".*") if recursive else directory.glob(".*")
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match is None and not _LEGACY_TEMP_RE.match(entry.name):
            continue
        try:
            old = now - entry.lstat().st_mtime > max_age_s
        except FileNotFoundError:  # its writer renamed or removed it meanwhile
            continue
        writer_gone = match is not None and match["host"] == host and not pid_alive(int(match["pid"]))
        if not (old or writer_gone):
            continue
        if entry.is_dir() and not entry.is_symlink():  # a work directory named by temp_path_for
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif entry.is_file():
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


def _fsync(path: Path) -> None:
    # Some platforms cannot open directories (or fsync read-only descriptors): best effort there.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
