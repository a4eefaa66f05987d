"""`metta`: the developer command over what the checkout already has.

  metta install [core]            devops/setup.sh (core: without the test, lint and sweep extras)
  metta configure [--hardware X] [--wandb Y]   detect this machine, write .metta/settings.yaml
  metta status                    what is installed and built here
  metta clean [--train-dir] [--dry-run]        remove build outputs (train_dir only when asked)
  metta pytest [ARGS...]          the README's test command, ARGS passed through
  metta lint [--fix] [--staged] [PATHS...]     ruff check
  metta ci [--stage lint|pytest|recipe-tests]  the CI stages in order (all by default)
  metta suite ci|stable [--job NAME] [--override K=V] [--out DIR]   a validation suite

Installed into .venv/bin by `pip install -e .` (devops/setup.sh); `python -m metta.cli` is the same.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from metta.common.cli_parser import CliParser

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Path(".metta") / "settings.yaml"
# What `metta install` installs: the extras of pyproject.toml passed to devops/setup.sh.
INSTALL_EXTRAS = {"all": "dev,train,sweep", "core": "train"}
# Build outputs `metta clean` removes: folder names anywhere, root-level folders, file patterns.
CLEAN_DIR_NAMES = ("__pycache__", ".pytest_cache", ".ruff_cache")
CLEAN_ROOT_DIRS = ("build", "dist", "mettagrid/cpp/build")
CLEAN_FILE_PATTERNS = ("*.so", "*.o", "*.pyd")
SKIP_DIRS = (".venv", ".git", "node_modules")
CI_STAGES = ("lint", "pytest", "recipe-tests")


class UsageError(Exception):
    """Bad input: one line on stderr, exit code 2."""


def python() -> str:
    """The interpreter of the set-up venv, else this one."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() and not os.environ.get("VIRTUAL_ENV") else sys.executable


def call(argv: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> int:
    print("$ " + " ".join(argv), flush=True)
    return subprocess.run(argv, cwd=cwd, env=env, check=False).returncode


# -- install / configure / status ---------------------------------------------------------------


def cmd_install(args: argparse.Namespace) -> int:
    env = {**os.environ, "METTA_EXTRAS": INSTALL_EXTRAS[args.component]}
    return call(["bash", str(ROOT / "devops" / "setup.sh")], env=env)


def detect() -> dict[str, object]:
    """What this machine offers the tools: torch's device, CPU count, wandb credentials."""
    found: dict[str, object] = {"cpus": os.cpu_count() or 1, "platform": platform.platform()}
    try:
        import torch

        found["torch"] = str(torch.__version__)
        if torch.cuda.is_available():
            found["device"], found["gpus"] = "cuda", torch.cuda.device_count()
        elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            found["device"] = "mps"
        else:
            found["device"] = "cpu"
    except ImportError:
        found["torch"], found["device"] = None, "cpu"
    netrc = Path.home() / ".netrc"
    found["wandb_credentials"] = bool(os.environ.get("WANDB_API_KEY")) or (
        netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="replace"))
    return found


def cmd_configure(args: argparse.Namespace) -> int:
    from metta.common.uri import atomic_write_bytes

    found = detect()
    hardware = args.hardware or {"cuda": "gpu", "mps": "macbook"}.get(str(found["device"]), "cpu")
    wandb = args.wandb or ("online" if found["wandb_credentials"] else "offline")
    for key, value in (("hardware", hardware), ("wandb", wandb)):
        if not (ROOT / "configs" / key / f"{value}.yaml").is_file():
            choices = sorted(p.stem for p in (ROOT / "configs" / key).glob("*.yaml"))
            raise UsageError(f"--{key} {value!r}: no configs/{key}/{value}.yaml (choices: {', '.join(choices)})")
    settings = {"hardware": hardware, "wandb": wandb, "detected": found,
                "configured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    import yaml

    path = args.root / SETTINGS
    atomic_write_bytes(path, ("# Written by `metta configure`; the tools do not read it: pass its overrides.\n"
                              + yaml.safe_dump(settings, sort_keys=False)).encode())
    print(f"configure: wrote {path}")
    print(f"configure: device {found['device']}, {found['cpus']} CPUs, torch {found['torch'] or 'not installed'}, "
          f"wandb credentials {'found' if found['wandb_credentials'] else 'none'}")
    print(f"configure: train here with: ./tools/train.py hardware={hardware} wandb={wandb}")
    return 0


# The C++ extensions setup.py builds: the folder the built module lands in, its name, its sources.
EXTENSIONS = (("mettagrid", "_core", "mettagrid/cpp"), ("metta/agent", "_token_conv", "metta/agent/cpp"))


def extension_state(folder: str, name: str, sources: str) -> str:
    """`built (<file>)`, `stale (...)` when one of its C++ sources is newer, or `not built (...)`."""
    built = sorted((ROOT / folder).glob(f"{name}*.so")) + sorted((ROOT / folder).glob(f"{name}*.pyd"))
    if not built:
        return f"{name} not built (metta install, or: python setup.py build_ext --inplace)"
    newest_source = max(p.stat().st_mtime for p in (ROOT / sources).rglob("*.[ch]pp"))
    if newest_source > built[-1].stat().st_mtime:
        return f"stale ({built[-1].name} is older than {sources}/: rebuild with metta install)"
    return f"built ({built[-1].name})"


def core_state() -> str:
    """Every C++ extension's `extension_state`, joined by "; "."""
    return "; ".join(extension_state(*extension) for extension in EXTENSIONS)


def module_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def cmd_status(args: argparse.Namespace) -> int:
    venv = ROOT / ".venv"
    in_venv = Path(sys.prefix).resolve() == venv.resolve() if venv.exists() else False
    rows = [("checkout", str(ROOT)),
            ("venv", (f"{venv} (in use)" if in_venv else f"{venv} (not the running interpreter: {sys.prefix})")
             if venv.exists() else "missing (metta install)"),
            ("python", platform.python_version()),
            ("core", core_state())]
    found = detect()
    torch_line = "not installed (metta install core)" if found["torch"] is None else (
        f"{found['torch']}, device {found['device']}" + (f" x{found['gpus']}" if "gpus" in found else ""))
    rows.append(("torch", torch_line))
    for package in ("pytest", "ruff", "moto", "pufferlib-core", "scikit-learn", "wandb"):
        rows.append((package, module_version(package) or "not installed"))
    for program in ("chromium", "chromedriver", "uv", "git"):
        rows.append((program, shutil.which(program) or "not found"))
    settings = args.root / SETTINGS
    problem = None
    if settings.is_file():
        from mettagrid.errors import ConfigError, read_yaml

        try:
            saved = read_yaml(settings) or {}
            if not isinstance(saved, dict):
                raise ConfigError(f"{settings}: expected a mapping (hardware: ..., wandb: ...)")
            rows.append(("settings", f"{settings}: hardware={saved.get('hardware')} wandb={saved.get('wandb')}"))
        except ConfigError as error:
            problem = f"{error} (write it anew: metta configure)"
            rows.append(("settings", "unreadable (see the error below)"))
    else:
        rows.append(("settings", "none (metta configure)"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if problem:  # the report is still worth showing; the exit code says something is wrong
        print(f"error: {problem}", file=sys.stderr)
        return 2
    return 0


# -- clean --------------------------------------------------------------------------------------


def clean_targets(root: Path, train_dir: bool = False) -> list[Path]:
    """Build outputs under root, outside .venv and .git; train_dir/ only when asked."""
    targets = [root / d for d in CLEAN_ROOT_DIRS if (root / d).exists()]
    if train_dir and (root / "train_dir").exists():
        targets.append(root / "train_dir")
    for current, dirs, files in os.walk(root):
        here = Path(current)
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and here / d not in targets]
        for d in list(dirs):
            if d in CLEAN_DIR_NAMES or d.endswith(".egg-info") and here == root:
                targets.append(here / d)
                dirs.remove(d)
        targets += [here / f for f in files if any(Path(f).match(p) for p in CLEAN_FILE_PATTERNS)]
    return sorted(set(targets))


def cmd_clean(args: argparse.Namespace) -> int:
    targets = clean_targets(args.root, args.train_dir)
    for target in targets:
        shown = target.relative_to(args.root)
        if args.dry_run:
            print(f"would remove {shown}")
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
        print(f"removed {shown}")
    if not targets:
        print("clean: nothing to remove")
    elif not args.dry_run and any(t.suffix in (".so", ".pyd") for t in targets):
        print("clean: the C++ core was removed; rebuild with `metta install` "
              "(or: python setup.py build_ext --inplace)")
    return 0


# -- pytest / lint / ci -------------------------------------------------------------------------


def cmd_pytest(args: argparse.Namespace) -> int:
    return call([python(), "-m", "pytest", *args.pytest_args])


def staged_python_files(root: Path) -> list[str]:
    listed = subprocess.run(["git", "diff", "--cached", "--name-only", "--diff-filter=ACMR", "--", "*.py"],
                            cwd=root, capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise UsageError(f"--staged: git failed: {listed.stderr.strip().splitlines()[0] if listed.stderr else ''}")
    return [line for line in listed.stdout.splitlines() if line]


def unstaged_files(root: Path) -> set[str]:
    listed = subprocess.run(["git", "diff", "--name-only"], cwd=root, capture_output=True, text=True, check=False)
    return set(listed.stdout.splitlines())


def cmd_lint(args: argparse.Namespace) -> int:
    if module_version("ruff") is None and shutil.which("ruff") is None:
        raise UsageError("ruff is not installed: `metta install` (the dev extras) installs it")
    ruff = [python(), "-m", "ruff"] if module_version("ruff") else ["ruff"]
    paths = list(args.paths)
    if args.staged:
        if paths:
            raise UsageError("--staged lints the staged files; give no paths with it")
        paths = staged_python_files(args.root)
        if not paths:
            print("lint: no staged Python files")
            return 0
        dirty = unstaged_files(args.root)
    for path in paths:
        if not (args.root / path).exists():
            raise UsageError(f"{path}: no such file or folder")
    code = call([*ruff, "check", *(["--fix"] if args.fix else []), *(paths or ["."])], cwd=args.root)
    if args.staged and args.fix:
        # Re-stage what ruff fixed, unless the file also had unstaged edits (those stay for you to add).
        fixed = sorted(unstaged_files(args.root) - dirty)
        if fixed:
            subprocess.run(["git", "add", "--", *fixed], cwd=args.root, check=False)
            print("lint: re-staged fixed files: " + ", ".join(fixed))
    return code


def run_stage(stage: str) -> int:
    if stage == "lint":
        return cmd_lint(argparse.Namespace(fix=False, staged=False, paths=[], root=ROOT))
    if stage == "pytest":
        return cmd_pytest(argparse.Namespace(pytest_args=["-p", "no:cacheprovider"]))
    from metta.jobs.validation import main as suite_main

    return suite_main(["ci"])


def cmd_ci(args: argparse.Namespace) -> int:
    stages = args.stage or list(CI_STAGES)
    results = {}
    for stage in stages:
        print(f"== ci: {stage}", flush=True)
        results[stage] = run_stage(stage)
    print("== ci: " + ", ".join(f"{s} {'passed' if c == 0 else 'FAILED'}" for s, c in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


def cmd_suite(args: argparse.Namespace) -> int:
    from metta.jobs.validation import main as suite_main

    return suite_main(args.suite_args)


# -- the parser -----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = CliParser(prog="metta", description=__doc__.splitlines()[0],
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    epilog="\n".join(__doc__.splitlines()[2:]))
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, run: Callable[[argparse.Namespace], int], help_text: str, **kwargs) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text, **kwargs)
        command.set_defaults(run=run)
        command.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
        return command

    install = add("install", cmd_install, "set up .venv: the project, the C++ core and its extras (devops/setup.sh)")
    install.add_argument("component", nargs="?", choices=sorted(INSTALL_EXTRAS), default="all",
                         help="all (default): dev, train and sweep extras; core: only what the tools need")
    configure = add("configure", cmd_configure, "detect this machine and write .metta/settings.yaml")
    configure.add_argument("--hardware", help="hardware preset to record (configs/hardware/*.yaml)")
    configure.add_argument("--wandb", help="wandb mode to record (configs/wandb/*.yaml)")
    add("status", cmd_status, "what is installed and built here")
    clean = add("clean", cmd_clean, "remove build outputs (build/, compiled *.so/*.o, __pycache__, caches)")
    clean.add_argument("--train-dir", action="store_true", help="also remove train_dir/ (runs and checkpoints)")
    clean.add_argument("--dry-run", action="store_true", help="list what would go; remove nothing")
    # pytest and suite take their own options: main() hands them everything after the command.
    add("pytest", cmd_pytest, "run the tests (python -m pytest); arguments pass through to pytest")
    lint = add("lint", cmd_lint, "ruff check over the checkout, PATHS or the staged files")
    lint.add_argument("--fix", action="store_true", help="apply ruff's safe fixes")
    lint.add_argument("--staged", action="store_true", help="only files staged in git (re-stages what it fixed)")
    lint.add_argument("paths", nargs="*")
    ci = add("ci", cmd_ci, f"run CI stages in order: {', '.join(CI_STAGES)}")
    ci.add_argument("--stage", action="append", choices=CI_STAGES, help="run only this stage (repeatable)")
    add("suite", cmd_suite, "run a validation suite (ci or stable); see: metta suite --help")
    return top


PASS_THROUGH = {"pytest": (cmd_pytest, "pytest_args"), "suite": (cmd_suite, "suite_args")}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in PASS_THROUGH:
            run, field = PASS_THROUGH[argv[0]]
            return run(argparse.Namespace(**{field: argv[1:]}))
        args = parser().parse_args(argv)
        return args.run(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run() -> None:
    raise SystemExit(main())
