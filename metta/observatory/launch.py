"""The launch form: config group options, and a composed train job checked by the same
code as tools/validate_config.py."""

from __future__ import annotations

import re
from typing import Any

from metta.jobs.validate_config import UnknownConfig, validate
from mettagrid.env_configs import CONFIGS_DIR
from mettagrid.errors import ConfigError

GROUPS = ("env", "agent", "trainer", "sim", "hardware", "wandb")
# env files that are parts of envs, not envs (validate_config says the same)
BUILDING_BLOCKS = ("mettagrid/game/", "mettagrid/base/", "mettagrid/maps/")
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def group_options() -> dict[str, list[str]]:
    options = {}
    for group in GROUPS:
        names = []
        for path in sorted((CONFIGS_DIR / group).rglob("*.yaml")):
            name = path.relative_to(CONFIGS_DIR / group).with_suffix("").as_posix()
            if any(part.startswith("_") for part in name.split("/")) or name.startswith(BUILDING_BLOCKS):
                continue
            if group == "trainer" and name.startswith("patch/"):
                continue
            names.append(name)
        options[group] = names
    return options


def overrides_of(form: dict[str, Any]) -> list[str]:
    """The form's groups (blank = the job's default) followed by its free overrides, one a line."""
    out = [f"{group}={form[group]}" for group in GROUPS if form.get(group)]
    text = form.get("overrides") or ""
    out += [line.strip() for line in str(text).splitlines() if line.strip() and not line.strip().startswith("#")]
    return out


def check(form: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(overrides, problems): every problem one line, as validate_config prints it."""
    run = str(form.get("run") or "")
    problems = [] if RUN_NAME.match(run) else [f"run: {run!r} is not a run name (letters, digits, . _ -)"]
    overrides = overrides_of(form)
    for override in overrides:
        key = override.lstrip("+~").partition("=")[0]
        if key in ("run", "train_dir", "run_name"):
            problems.append(f"overrides: {key} is set by the form, not an override")
    try:
        report = validate("configs/train_job.yaml", overrides)
    except (UnknownConfig, ConfigError) as error:
        return overrides, problems + [str(error).splitlines()[0]]
    return overrides, problems + [str(problem) for problem in report.problems]
