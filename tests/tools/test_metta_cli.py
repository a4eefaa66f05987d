"""The `metta` command as a user types it (`python -m metta.cli`, the same function the console
script calls): clean on a scratch tree, lint on scratch files and a scratch git repo, status,
configure, pytest pass-through, and the helper that gives recipe folders an __init__.py."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def metta(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "metta.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_console_script_entry_point_resolves_to_the_cli():
    pyproject = (ROOT / "pyproject.toml").read_text()  # tomllib is 3.11+; the project supports 3.10
    scripts = pyproject.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    [target] = re.findall(r'^metta = "([^"]+)"$', scripts, re.MULTILINE)
    module, _, function = target.partition(":")
    main = getattr(importlib.import_module(module), function)
    from metta.cli.main import main as cli_main

    assert main is cli_main
    assert main(["clean", "--root", str(ROOT / "tests" / "tools" / "__nothing__"), "--dry-run"]) == 0


def make_tree(root: Path) -> None:
    for path in ["build/lib/x.o", "mettagrid/_core.cpython-311-x86_64-linux-gnu.so", "mettagrid/cpp/build/a.o",
                 "metta/__pycache__/a.cpython-311.pyc", "tests/deep/__pycache__/b.pyc", ".pytest_cache/v/x",
                 "train_dir/run/metrics.jsonl", ".venv/lib/site/c.so", "metta/keep.py", ".git/objects/d.so"]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x")


def test_clean_removes_build_outputs_and_keeps_runs_sources_and_venv(tmp_path):
    make_tree(tmp_path)
    dry = metta("clean", "--root", str(tmp_path), "--dry-run")
    assert dry.returncode == 0 and "would remove build" in dry.stdout
    assert (tmp_path / "build").exists()

    result = metta("clean", "--root", str(tmp_path))
    assert result.returncode == 0, result.stderr
    gone = ["build", "mettagrid/_core.cpython-311-x86_64-linux-gnu.so", "mettagrid/cpp/build", "metta/__pycache__",
            "tests/deep/__pycache__", ".pytest_cache"]
    assert [p for p in gone if (tmp_path / p).exists()] == []
    kept = ["train_dir/run/metrics.jsonl", ".venv/lib/site/c.so", "metta/keep.py", ".git/objects/d.so"]
    assert all((tmp_path / p).exists() for p in kept)
    assert "rebuild with `metta install`" in result.stdout

    assert metta("clean", "--root", str(tmp_path), "--train-dir").returncode == 0
    assert not (tmp_path / "train_dir").exists() and (tmp_path / "metta/keep.py").exists()
    assert "nothing to remove" in metta("clean", "--root", str(tmp_path)).stdout


def test_lint_reports_and_fixes_a_file(tmp_path):
    source = tmp_path / "bad.py"
    source.write_text("import os\nprint('hi')\n")
    found = metta("lint", str(source))
    assert found.returncode == 1 and "F401" in found.stdout, found.stdout + found.stderr
    fixed = metta("lint", "--fix", str(source))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert source.read_text() == "print('hi')\n"
    missing = metta("lint", str(tmp_path / "nope.py"))
    assert missing.returncode == 2 and missing.stderr.strip().endswith("nope.py: no such file or folder")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def test_lint_staged_looks_only_at_staged_files_and_restages_fixes(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "staged.py").write_text("import os\nprint(1)\n")
    (tmp_path / "unstaged.py").write_text("import sys\n\nprint(2)\n")
    git(tmp_path, "add", "staged.py")
    checked = metta("lint", "--staged", "--root", str(tmp_path))
    assert checked.returncode == 1 and "staged.py" in checked.stdout and "unstaged.py" not in checked.stdout

    fixed = metta("lint", "--staged", "--fix", "--root", str(tmp_path))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert git(tmp_path, "show", ":staged.py") == "print(1)\n"  # the fix is in the index
    assert (tmp_path / "unstaged.py").read_text().startswith("import sys")
    assert metta("lint", "--staged", "src", "--root", str(tmp_path)).returncode == 2


def test_status_lists_what_is_installed_and_built():
    result = metta("status")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert {"venv", "core", "torch", "pytest", "ruff", "chromium", "uv", "settings"} <= set(lines)
    import torch

    assert torch.__version__ in lines["torch"]
    assert "built (_core" in lines["core"] or "stale" in lines["core"]
    assert "_token_conv" in lines["core"]  # every extension setup.py builds is listed


def test_status_knows_every_extension_setup_builds():
    # metta/cli/main.py keeps its own table of extensions; a module added to setup.py alone
    # would go unreported by `metta status` (and by its stale-build check).
    from metta.cli.main import EXTENSIONS

    built = set(re.findall(r'Pybind11Extension\(\s*"([\w.]+)"', (ROOT / "setup.py").read_text()))
    listed = {f"{folder.replace('/', '.')}.{name}" for folder, name, _ in EXTENSIONS}
    assert built and built == listed


def test_configure_writes_settings_that_status_reads(tmp_path):
    result = metta("configure", "--root", str(tmp_path), "--wandb", "off")
    assert result.returncode == 0, result.stderr
    settings = yaml.safe_load((tmp_path / ".metta" / "settings.yaml").read_text())
    assert settings["wandb"] == "off" and settings["hardware"] in ("cpu", "gpu", "macbook")
    assert settings["detected"]["cpus"] == os.cpu_count()
    assert f"hardware={settings['hardware']} wandb=off" in result.stdout
    assert f"hardware={settings['hardware']} wandb=off" in metta("status", "--root", str(tmp_path)).stdout
    bad = metta("configure", "--root", str(tmp_path), "--hardware", "tpu")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --hardware 'tpu': no configs/hardware/tpu.yaml")


def test_pytest_passes_its_arguments_through():
    result = metta("pytest", "tests/test_layers.py", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/test_layers.py: " in result.stdout
    # pytest's own exit code comes back: 5 = nothing collected
    assert metta("pytest", "tests/test_layers.py", "-k", "no_such_test", "-p", "no:cacheprovider").returncode == 5


def test_ci_refuses_an_unknown_stage():
    result = metta("ci", "--stage", "deploy")
    assert result.returncode == 2 and "invalid choice: 'deploy'" in result.stderr


def test_ensure_recipe_packages_adds_missing_init_files(tmp_path):
    script = ROOT / "devops" / "tools" / "ensure_recipe_packages.py"
    recipes = tmp_path / "metta" / "recipes"
    (recipes / "experiment" / "losses").mkdir(parents=True)
    (recipes / "__init__.py").write_text("")
    (recipes / "experiment" / "losses" / "ppo_variant.py").write_text("")
    (recipes / "notes").mkdir()  # no Python inside: left alone
    check = subprocess.run([sys.executable, str(script), "--root", str(tmp_path), "--check"], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 1 and "missing: metta/recipes/experiment/__init__.py" in check.stdout
    made = subprocess.run([sys.executable, str(script), "--root", str(tmp_path)], capture_output=True, text=True,
                          check=False)
    assert made.returncode == 0
    assert made.stdout.splitlines() == ["created: metta/recipes/experiment/__init__.py",
                                        "created: metta/recipes/experiment/losses/__init__.py"]
    assert not (recipes / "notes" / "__init__.py").exists()
    again = subprocess.run([sys.executable, str(script), "--root", str(tmp_path), "--check"], capture_output=True,
                           text=True, check=False)
    assert again.returncode == 0 and again.stdout.startswith("ok:")
