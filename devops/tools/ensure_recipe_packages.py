#!/bin/sh
''':'
# Runs with the project's .venv (devops/setup.sh) unless a virtualenv is active (as tools/ do).
root=$(cd "$(dirname "$0")" && while [ ! -f pyproject.toml ] && [ "$PWD" != / ]; do cd ..; done; pwd)
py=${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/python}; [ -z "$py" ] && [ -x "$root/.venv/bin/python" ] && py=$root/.venv/bin/python
exec "${py:-python3}" "$0" "$@"
'''
from __future__ import annotations

__doc__ = """Give every folder of recipes an __init__.py, so `./tools/run.py --list` finds the recipes in it.

  python devops/tools/ensure_recipe_packages.py           # create what is missing, say what was made
  python devops/tools/ensure_recipe_packages.py --check   # only report; exit 1 if any is missing

Recipe discovery walks packages: a folder under metta/recipes/ without __init__.py (say, a new
`experiment/losses/`) hides every recipe inside it. Folders that hold no Python file at any depth,
`__pycache__` and hidden folders are left alone. Needs only the standard library.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def holds_python(folder: Path) -> bool:
    return any(not skipped(path.relative_to(folder)) for path in folder.rglob("*.py"))


def skipped(relative: Path) -> bool:
    return any(part == "__pycache__" or part.startswith(".") for part in relative.parts)


def missing_packages(recipes: Path) -> list[Path]:
    """Folders at or below `recipes` that hold Python files somewhere but have no __init__.py."""
    folders = [recipes, *sorted(p for p in recipes.rglob("*") if p.is_dir() and not skipped(p.relative_to(recipes)))]
    return [folder for folder in folders if holds_python(folder) and not (folder / "__init__.py").exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 when a folder lacks __init__.py")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout (default: this one)")
    args = parser.parse_args(argv)
    recipes = args.root / "metta" / "recipes"
    if not recipes.is_dir():
        print(f"error: {recipes}: no recipes folder", file=sys.stderr)
        return 2
    missing = missing_packages(recipes)
    for folder in missing:
        init = folder / "__init__.py"
        shown = init.relative_to(args.root)
        if args.check:
            print(f"missing: {shown}")
            continue
        with open(init, "x", encoding="utf-8") as file:  # never overwrites one made meanwhile
            file.write(f'"""Recipes in {folder.relative_to(recipes).as_posix() or "."}/."""\n')
        print(f"created: {shown}")
    if not missing:
        print(f"ok: every recipe folder under {recipes.relative_to(args.root)} has __init__.py")
    return 1 if (missing and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
