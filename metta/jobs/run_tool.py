"""`tools/run.py`: the recipe front door over the Hydra tools.

  ./tools/run.py train arena run=x              # = ./tools/train.py env=... sim=arena run=x
  ./tools/run.py arena.train run=x              # the dotted form; recipes.arena.train and
                                                # experiments.recipes.arena.train too
  ./tools/run.py eval navigation policy_uri=file://./train_dir/x/checkpoints
  ./tools/run.py eval_remote arena policy_uri=s3://bucket/run:v10.pt   # queued for a worker process
  ./tools/run.py replay arena policy_uri=file://./train_dir/x/checkpoints
  ./tools/run.py play navigation
  ./tools/run.py recipes.experiment.cogsguard.train run=cg   # a nested recipe (short name: cogsguard)
  ./tools/run.py train arena_basic_easy_shaped run=x         # = prod.arena_basic_easy_shaped.train

A recipe function returns a `RecipeCall` (job config name + overrides). The job is composed
with Hydra's compose API, recipe overrides first and the user's after, so a run here sees the
config the Hydra tool would see for the same overrides; then the Hydra tool's own library
function runs it (`metta.jobs.train.train`, `metta.jobs.sim.run_sim_job`, ...).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import shlex
import sys
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from metta.common.config_table import JOBS, load, tool_for_job
from metta.recipes import CommandCall
from mettagrid.errors import ConfigError, YamlSyntaxError

# Tool names as typed -> the recipe function that serves them.
ALIASES = {"eval": "evaluate", "sim": "evaluate", "eval_remote": "evaluate"}
# Tools whose job is queued for a worker process instead of run here (metta/jobs/eval_remote.py).
REMOTE = {"eval_remote"}
# Tools of the reference that have no implementation here yet: one line, exit 2.
UNAVAILABLE: dict[str, str] = {}
TOOL_ORDER = ("train", "evaluate", "analyze", "replay", "play")


class UsageError(Exception):
    """A command line run.py cannot act on; reported as one line, exit code 2."""


def recipe_names() -> list[str]:
    """Every module below metta/recipes, dotted (`arena`, `experiment.cogsguard`); a module
    without tools (`validation.ci_suite`) is listed here but not by --list."""
    from metta import recipes

    prefix = recipes.__name__ + "."
    names = [m.name.removeprefix(prefix) for m in pkgutil.walk_packages(recipes.__path__, prefix) if not m.ispkg]
    return sorted(name for name in names if not any(part.startswith("_") for part in name.split(".")))


def canonical_recipe(name: str) -> str:
    """The recipe's full dotted name; a nested one may also go by its trailing parts
    (`cogsguard`, `arena_basic_easy_shaped`, `cvc.small_maps`) when only one recipe ends so."""
    name = strip_recipe_prefix(name)
    names = recipe_names()
    if name in names:
        return name
    matches = [full for full in names if full.endswith("." + name)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"recipe {name!r} is ambiguous: {', '.join(matches)} (give more of the dotted name)")
    raise UsageError(f"unknown recipe {name!r} (recipes: {', '.join(names)}; see --list)")


def strip_recipe_prefix(name: str) -> str:
    for prefix in RECIPE_PREFIXES:
        name = name.removeprefix(prefix)
    return name


def recipe_tools(name: str) -> list[str]:
    module = load_recipe(name)
    return [tool for tool in TOOL_ORDER if callable(getattr(module, tool, None))]


def load_recipe(name: str):
    return importlib.import_module(f"metta.recipes.{canonical_recipe(name)}")


def canonical_tool(tool: str) -> str:
    return ALIASES.get(tool, tool)


def is_tool(word: str) -> bool:
    return canonical_tool(word) in TOOL_ORDER or word in UNAVAILABLE


def parse(argv: list[str]) -> tuple[str, str, list[str]]:
    """`<tool> <recipe> args...`, `<recipe>.<tool> args...` or `recipes.<recipe>.<tool> args...`."""
    if not argv or "=" in argv[0]:
        raise UsageError("usage: run.py <tool> <recipe> [key=value ...] (or <recipe>.<tool>; see --list)")
    first, rest = argv[0], argv[1:]
    if "." in first:
        recipe, _, tool = strip_recipe_prefix(first).rpartition(".")
        if not recipe:
            raise UsageError(f"{first!r}: expected <recipe>.<tool>, e.g. arena.train")
        return tool, recipe, rest
    if not rest or "=" in rest[0]:
        raise UsageError(f"{first!r}: expected <tool> <recipe>, e.g. train arena (see --list)")
    if not is_tool(first) and is_tool(rest[0]):  # `arena train` reads as well as `train arena`
        return rest[0], first, rest[1:]
    return first, strip_recipe_prefix(rest[0]), rest[1:]


def resolve(tool: str, recipe: str):
    """The RecipeCall for tool and recipe, or UsageError naming what is wrong."""
    if tool in UNAVAILABLE:
        raise UsageError(f"{tool}: {UNAVAILABLE[tool]}")
    name = canonical_tool(tool)
    module = load_recipe(recipe)
    if name not in TOOL_ORDER or not callable(getattr(module, name, None)):
        raise UsageError(f"recipe {recipe!r} has no tool {tool!r} (it has: {', '.join(recipe_tools(recipe))})")
    return getattr(module, name)()


# run.py spellings of the reference -> the key they set in each job config (a trailing "."
# keeps the rest of a dotted key: `policy_architecture.hidden_size=64` -> `agent.hidden_size=64`).
ARGUMENT_KEYS: dict[str, dict[str, str]] = {
    "train_job": {"policy_architecture": "agent"},
    "analyze_job": {key: f"analysis.{key}" for key in ("eval_db_uri", "policy_uri", "train_dir")},
    **{job: {key: f"replay_job.{key}" for key in ("policy_uri", "replay_uri", "open_browser_on_start", "port",
                                                  "replay_dir", "serve")}
       for job in ("replay_job", "play_job")},
}
# Recipe module prefixes of the reference, all meaning metta/recipes here.
RECIPE_PREFIXES = ("experiments.recipes.", "recipes.")


def translate(config_name: str, args: list[str]) -> list[str]:
    """The user's key=value arguments as Hydra overrides of the job."""
    overrides = []
    keys = ARGUMENT_KEYS.get(config_name, {})
    for arg in args:
        if "=" not in arg:
            raise UsageError(f"{arg!r}: expected key=value")
        key, _, value = arg.partition("=")
        head, dot, rest = key.partition(".")
        if config_name == "sim_job" and key in ("policy_uri", "policy_uris"):
            overrides.append(f"sim_job.policy_uris={policy_uri_list(value)}")
        elif head in keys:
            overrides.append(f"{keys[head]}{dot}{rest}={value}")
        else:
            overrides.append(arg)
    return overrides


def policy_uri_list(value: str) -> str:
    """One URI, a comma-separated list, or a (maybe multi-line) `[...]` list, as a Hydra list."""
    uris = value.strip()
    if uris.startswith("[") and uris.endswith("]"):
        uris = uris[1:-1]
    items = [u.strip().strip("'\"") for u in uris.split(",")]
    return "[" + ",".join(json.dumps(u) for u in items if u) + "]"


def command_argv(call: CommandCall, args: list[str]) -> list[str]:
    """The cogames argv for a CommandCall and the user's key=value arguments."""
    argv = list(call.argv)
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep:
            raise UsageError(f"{arg!r}: expected key=value")
        if key not in call.flags:
            raise UsageError(f"{key!r}: not a setting of `cogames {call.argv[0]}` here "
                             f"(settings: {', '.join(sorted(call.flags))})")
        argv += [call.flags[key], value]
    return argv


def compose(config_name: str, overrides: list[str]) -> DictConfig:
    from metta.common.tool import compose_job

    try:
        return compose_job(config_name, overrides)
    except YamlSyntaxError:
        raise  # `file:line:col: not valid YAML: ...`, the file is the point
    except ConfigError as error:
        raise UsageError(str(error).split(": ", 1)[-1]) from None


def hydra_command(config_name: str, overrides: list[str]) -> str:
    tool = tool_for_job(config_name).script if config_name in JOBS else "?"
    return " ".join([f"./tools/{tool}"] + [shlex.quote(o) for o in overrides])


def list_recipes() -> str:
    lines = []
    for name in recipe_names():
        tools = recipe_tools(name)
        if tools:
            lines.append(f"{name}: {', '.join(tools)}")
    lines.append("aliases: " + ", ".join(f"{a} -> {t}" for a, t in ALIASES.items()))
    if UNAVAILABLE:
        lines.append("not available yet: " + ", ".join(f"{t} ({why.split(';')[0]})" for t, why in UNAVAILABLE.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\nOptions: --list (recipes and their tools), --dry-run (print the composed config "
              "and the equivalent Hydra tool command; run nothing)")
        return 0
    if "--list" in argv:
        print(list_recipes())
        return 0
    dry_run = "--dry-run" in argv
    argv = [a for a in argv if a != "--dry-run"]
    try:
        unknown = [a for a in argv if a.startswith("-")]
        if unknown:
            raise UsageError(f"unknown option {unknown[0]!r} (options: --list, --dry-run)")
        tool, recipe, args = parse(argv)
        call = resolve(tool, recipe)
        if isinstance(call, CommandCall):
            return run_command_call(call, args, dry_run)
        from metta.common.tool import rejoin_split_lists

        args = rejoin_split_lists(args)
        remote_options = {}
        if tool in REMOTE:
            from metta.jobs.eval_remote import OPTIONS

            remote_options = dict(a.split("=", 1) for a in args if a.split("=", 1)[0] in OPTIONS)
            args = [a for a in args if a.split("=", 1)[0] not in OPTIONS]
        overrides = list(call.overrides) + translate(call.config_name, args)
        cfg = compose(call.config_name, overrides)
        if call.config_name not in JOBS:
            raise UsageError(f"{tool}: job {call.config_name!r} has no tool")
        if dry_run:
            try:
                text = OmegaConf.to_yaml(cfg, resolve=True)
            except OmegaConfBaseException:  # an interpolation only the run can resolve: shown as is
                text = OmegaConf.to_yaml(cfg, resolve=False)
            print(text, end="")
            print("# equivalent: " + hydra_command(call.config_name, overrides))
            return 0
        if tool in REMOTE:
            from metta.jobs.eval_remote import submit

            worker = remote_options.get("worker", "true").lower()
            if worker not in ("true", "false"):
                raise UsageError(f"worker={worker}: expected true or false")
            print(json.dumps(submit(cfg, remote_options.get("queue_dir"), worker == "true"), indent=2))
            return 0
        # The same library call, and so the same output, as the Hydra tool for this job config.
        status = load(tool_for_job(call.config_name).runner)(cfg)
        return status if isinstance(status, int) else 0
    except (UsageError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def run_command_call(call: CommandCall, args: list[str], dry_run: bool) -> int:
    from metta.cogames.cli import main as cogames_main

    argv = command_argv(call, args)
    if dry_run:
        print("# equivalent: cogames " + " ".join(shlex.quote(a) for a in argv))
        return 0
    return cogames_main(argv)


def run(argv: list[str] | None = None) -> Any:
    raise SystemExit(main(argv))
