"""The packages import one way: each layer only from the layers below it (docs/architecture.md).

Every import counts, including the lazy ones inside functions, because a lazy import is
still a dependency: it only moves the failure to run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. Packages in one layer may not import each other either.
LAYERS: list[tuple[str, ...]] = [
    ("mettagrid",),  # the env: C++ core, configs, maps, replay format, the games' scripted players
    ("metta.common",),  # URIs (local/file/S3), config composition with one-line errors, the job table
    ("metta.agent",),  # policies, the policy file, one resolver for every policy URI
    ("metta.sim",),  # playing policies on env suites, stats DBs, replays
    ("metta.rl", "metta.viewer"),  # the trainer; the replay viewer's server and live sessions
    ("metta.eval", "metta.sweep", "metta.tournament", "metta.map"),  # built on simulations
    ("metta.cogames", "metta.recipes"),  # the cogames command; named experiments
    ("metta.jobs",),  # what each tool does, given its composed config
    ("metta.observatory",),  # the local web app: reads runs and evaluations, checks launches like validate_config
    ("tools", "metta.cli"),  # the executable scripts; the `metta` developer command
]
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def package_of_module(module: str) -> str | None:
    """`metta.rl.trainer` -> "metta.rl"; `mettagrid.vec_env` -> "mettagrid"; others -> None."""
    parts = module.split(".")
    if parts[0] == "mettagrid":
        return "mettagrid"
    if parts[0] == "metta" and len(parts) > 1:
        return "metta." + parts[1]
    return None


def package_of_file(path: Path, root: Path = ROOT) -> str:
    relative = path.relative_to(root)
    if relative.parts[0] == "tools":
        return "tools"
    return package_of_module(".".join(relative.with_suffix("").parts)) or ""


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = list(path.relative_to(root).parts[:-1])  # the package a relative import starts from
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
    return found


def source_files() -> list[Path]:
    files = [*ROOT.glob("mettagrid/**/*.py"), *ROOT.glob("metta/**/*.py"), *ROOT.glob("tools/**/*.py")]
    return sorted(path for path in files if "__pycache__" not in path.parts)


def layer_violations(files: list[Path], root: Path = ROOT) -> list[str]:
    problems = []
    for path in files:
        source = package_of_file(path, root)
        if source not in RANK:
            continue
        for line, module in imported_modules(path, root):
            target = package_of_module(module)
            if target is None or target == source:
                continue
            where = f"{path.relative_to(root)}:{line} imports {module}"
            if target not in RANK:
                problems.append(f"{where}: package {target} has no layer (add it to LAYERS)")
            elif RANK[target] >= RANK[source]:
                relation = "the same layer" if RANK[target] == RANK[source] else "a higher layer"
                problems.append(f"{where}: {target} is in {relation} than {source}")
    return problems


def test_every_package_has_a_layer():
    packages = {package_of_file(path) for path in source_files()} - {"", "metta.__init__"}
    assert sorted(packages - set(RANK)) == []


def test_imports_go_only_downwards():
    assert layer_violations(source_files()) == []


@pytest.mark.parametrize(
    ("source", "statement", "expected"),
    [
        ("mettagrid/probe_layers.py", "from metta.common.uri import write_output", "higher layer"),
        ("metta/sim/probe_layers.py", "def f():\n    from metta.rl.trainer import Trainer", "higher layer"),
        ("metta/eval/probe_layers.py", "import metta.sweep.store", "same layer"),
        ("metta/agent/probe_layers.py", "from ..sim import suite_runner", "higher layer"),
    ],
)
def test_an_upward_import_is_caught(source, statement, expected, tmp_path):
    """The checker itself: an upward or sideways import, lazy or relative, is reported."""
    path = tmp_path / source
    path.parent.mkdir(parents=True)
    path.write_text(statement + "\n")
    problems = layer_violations([path], root=tmp_path)
    assert len(problems) == 1 and expected in problems[0]


def test_a_downward_import_passes(tmp_path):
    path = tmp_path / "metta/rl/probe_layers.py"
    path.parent.mkdir(parents=True)
    path.write_text("from metta.sim.replay import record_episode\nfrom . import trainer\n")
    assert layer_violations([path], root=tmp_path) == []
