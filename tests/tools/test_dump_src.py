"""tools/dump_src.py as a user types it: the `<file: path>` ... `</file>` blocks, sorted recursive
walks, the extension filter, and binary, git-ignored and missing paths."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = str(ROOT / "tools" / "dump_src.py")


def dump(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False, env=env)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "b.py").write_text("print('b')\n")
    (tmp_path / "pkg" / "a.py").write_text("print('a')")  # no final newline
    (tmp_path / "pkg" / "sub" / "c.yaml").write_text("key: 1\n")
    (tmp_path / "pkg" / "notes.txt").write_text("hello\n")
    (tmp_path / "pkg" / "blob.bin").write_bytes(b"abc\0def")
    (tmp_path / "pkg" / "latin1.py").write_bytes("caf\xe9\n".encode("latin-1"))
    return tmp_path


def blocks(stdout: str) -> list[str]:
    return [line[len("<file: "):-1] for line in stdout.splitlines() if line.startswith("<file: ")]


def test_format_and_sorted_recursive_walk(tree):
    result = dump("pkg", cwd=tree)
    assert result.returncode == 0, result.stderr
    assert blocks(result.stdout) == ["pkg/a.py", "pkg/b.py", "pkg/notes.txt", "pkg/sub/c.yaml"]
    assert result.stdout.startswith("<file: pkg/a.py>\nprint('a')\n</file>\n<file: pkg/b.py>\nprint('b')\n</file>\n")
    assert "<file: pkg/sub/c.yaml>\nkey: 1\n</file>\n" in result.stdout


def test_extension_filter(tree):
    result = dump("pkg", "--extensions", ".py", "yaml", cwd=tree)
    assert result.returncode == 0, result.stderr
    assert blocks(result.stdout) == ["pkg/a.py", "pkg/b.py", "pkg/sub/c.yaml"]


def test_binary_files_are_skipped(tree):
    result = dump("pkg", "pkg/blob.bin", cwd=tree)
    assert result.returncode == 0
    assert "blob.bin" not in result.stdout and "latin1.py" not in result.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_ignored_files_are_skipped(tree):
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    (tree / ".gitignore").write_text("*.txt\ngenerated/\n")
    (tree / "pkg" / "generated").mkdir()
    (tree / "pkg" / "generated" / "out.py").write_text("x = 1\n")
    result = dump(".", "--extensions", ".py", ".txt", cwd=tree)
    assert result.returncode == 0, result.stderr
    assert blocks(result.stdout) == ["pkg/a.py", "pkg/b.py"]


def test_without_git_build_folders_are_skipped(tree):
    (tree / "pkg" / "__pycache__").mkdir()
    (tree / "pkg" / "__pycache__" / "a.py").write_text("cached\n")
    (tree / ".venv" / "lib").mkdir(parents=True)
    (tree / ".venv" / "lib" / "site.py").write_text("venv\n")
    env = {**os.environ, "PATH": "/nonexistent"}  # no git on PATH
    python = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "python")
    result = subprocess.run([python, TOOL, ".", "--extensions", ".py"], capture_output=True, text=True,
                            timeout=60, cwd=tree, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert blocks(result.stdout) == ["pkg/a.py", "pkg/b.py"]


def test_missing_path_is_one_line_and_exit_2(tree):
    result = dump("pkg", "nowhere", cwd=tree)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: nowhere: no such file or directory"]
