"""`tools/dump_src.py`: print source files as `<file: path>` ... `</file>` blocks (e.g. as LLM context).

Directories are walked recursively in sorted order. Binary files (a NUL byte in the first 8 KB,
or not UTF-8) are skipped, and so are files git ignores: inside a git checkout `git check-ignore`
decides; without git, the usual build and cache folders are left out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from metta.common.cli_parser import CliParser

# Left out when git cannot say what is ignored.
FALLBACK_SKIP_DIRS = frozenset({".git", ".venv", "venv", "__pycache__", "build", "dist", ".pytest_cache",
                                ".mypy_cache", ".ruff_cache", "node_modules", ".eggs"})
SNIFF_BYTES = 8192


class MissingPath(FileNotFoundError):
    pass


def walk(paths: Iterable[str], extensions: Iterable[str] | None = None) -> list[Path]:
    """The files to dump under `paths`: files as given, directories recursively in sorted order,
    without git-ignored ones, filtered by extension. MissingPath for a path that does not exist."""
    wanted = tuple(_normalise(ext) for ext in extensions) if extensions else None
    for name in paths:
        if not Path(name).exists():
            raise MissingPath(f"{name}: no such file or directory")
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        found = list(_walk_dir(path)) if path.is_dir() else _drop_ignored(path.parent, [path])
        files.extend(f for f in found if wanted is None or f.name.endswith(wanted))
    seen: set[Path] = set()
    return [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]


def _normalise(ext: str) -> str:
    return ext if ext.startswith(".") else f".{ext}"


def _walk_dir(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirs = _drop_ignored(here, [here / d for d in sorted(dirnames) if d != ".git"], directories=True)
        # Sorted and pruned in place, so os.walk descends in order and never into ignored folders.
        dirnames[:] = [d.name for d in dirs]
        yield from _drop_ignored(here, [here / f for f in sorted(filenames)])


def _drop_ignored(directory: Path, paths: list[Path], directories: bool = False) -> list[Path]:
    """`paths` (all inside `directory`) without those git ignores; without git, the fallback rule."""
    if not paths:
        return paths
    ignored = _git_ignored(directory, paths, directories)
    if ignored is None:
        return [p for p in paths if not any(part in FALLBACK_SKIP_DIRS for part in
                                             (p.parts if directories else p.parts[:-1]))]
    return [p for p in paths if p.resolve() not in ignored]


def _git_ignored(directory: Path, paths: list[Path], directories: bool) -> set[Path] | None:
    """The paths git ignores, or None when git is missing or `directory` is not in a work tree."""
    if shutil.which("git") is None:
        return None
    # A trailing slash lets patterns written for folders (`build/`) match them.
    names = [str(p.resolve()) + ("/" if directories else "") for p in paths]
    try:
        result = subprocess.run(["git", "check-ignore", "--stdin"], cwd=directory.resolve(),
                                input="\n".join(names) + "\n", capture_output=True, text=True, check=False)
    except OSError:
        return None
    if result.returncode not in (0, 1):  # 128: not a git work tree (or another git error)
        return None
    return {Path(line.rstrip("/")) for line in result.stdout.splitlines() if line}


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file (NUL in the first 8 KB, or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data[:SNIFF_BYTES]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def dump(paths: Iterable[str], extensions: Iterable[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Write the blocks; returns the number of files written."""
    count = 0
    for file in walk(paths, extensions):
        text = read_text(file)
        if text is None:
            continue
        out.write(f"<file: {file.as_posix()}>\n{text}")
        if text and not text.endswith("\n"):
            out.write("\n")
        out.write("</file>\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(
        prog="dump_src.py", description="Print files as <file: path> ... </file> blocks (binary and git-ignored files skipped)."
    )
    parser.add_argument("paths", nargs="+", help="files or directories (walked recursively, sorted)")
    parser.add_argument("--extensions", nargs="+", metavar="EXT", help="only files ending so, e.g. .py .yaml")
    args = parser.parse_args(argv)
    try:
        dump(args.paths, args.extensions)
    except MissingPath as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0
    return 0
