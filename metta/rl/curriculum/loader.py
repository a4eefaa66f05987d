"""Read a curriculum config (configs/env/mettagrid/curriculum/*.yaml) into a TaskSpace + kind.

Keys (docs/curricula.md): `kind`; `tasks` (a list of `{env, weight, overrides, name}` or a map
env -> weight) or `env` + `buckets` (dotted env key -> values / range+bins); `env_overrides`
(merged into every task); the kind's own parameters. A name that is a plain env config is a
single-task curriculum. Every refusal is one ConfigError line naming the file and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from metta.rl.curriculum.kinds import KINDS
from metta.rl.curriculum.tasks import Bucket, TaskSpace, bucket_values, dotted, flatten, has_dotted
from mettagrid.env_configs import ENV_CONFIGS_DIR, compose_config, hydra_error_line, list_env_names
from mettagrid.errors import ConfigError

CURRICULUM_DIR = "mettagrid/curriculum/"
# The original's class names (`_target_: ...LearningProgressCurriculum`), for configs carried over.
TARGETS = {"SingleTaskCurriculum": "single", "RandomCurriculum": "random", "BucketedCurriculum": "bucketed",
           "LearningProgressCurriculum": "learning_progress", "PrioritizeRegressedCurriculum": "prioritize_regressed",
           "ProgressiveCurriculum": "progressive"}
STRUCTURE_KEYS = {"kind", "_target_", "tasks", "env", "env_cfg_template", "buckets", "env_overrides", "defaults"}


def normalise(name: str) -> str:
    """`/env/mettagrid/x`, `env/mettagrid/x.yaml` -> `mettagrid/x`."""
    name = name.strip().lstrip("/").removesuffix(".yaml")
    return name.removeprefix("env/")


def compose_env_dict(name: str, source: str) -> dict[str, Any]:
    """An env config composed by Hydra, as a plain dict (validated later, per task)."""
    from omegaconf import OmegaConf

    env = normalise(name)
    if not (ENV_CONFIGS_DIR / f"{env}.yaml").is_file() or env.startswith(CURRICULUM_DIR):
        raise ConfigError(f"{source}: unknown task env {name!r} (no configs/env/{env}.yaml; "
                          f"known: {', '.join(n for n in list_env_names() if not n.startswith(CURRICULUM_DIR))})")
    composed = compose_config(None, [f"+env={env}"], f"configs/env/{env}.yaml")
    try:
        return OmegaConf.to_container(composed.env, resolve=True)
    except Exception as error:  # noqa: BLE001  (OmegaConf's interpolation errors)
        raise ConfigError(f"configs/env/{env}.yaml: {hydra_error_line(error)}") from None


def load_task_space(name: str) -> tuple[str, TaskSpace, str, dict[str, Any]]:
    """(name, tasks, kind, kind parameters) of `trainer.curriculum=<name>` (or of a .yaml path)."""
    if name.endswith(".yaml") and Path(name).is_file():  # a curriculum file of one's own
        return _load_file(Path(name).stem, Path(name), name)
    short = normalise(name)
    path = ENV_CONFIGS_DIR / f"{short}.yaml"
    if not path.is_file():
        raise ConfigError(f"trainer.curriculum: no such curriculum or env config {name!r} (configs/env/{short}.yaml)")
    if not short.startswith(CURRICULUM_DIR):
        space = TaskSpace(f"configs/env/{short}.yaml", {short: compose_env_dict(short, "trainer.curriculum")},
                          rows=[(short, short, {})])
        space.config(0)
        return short, space, "single", {}
    return _load_file(short, path, f"configs/env/{short}.yaml")


def _load_file(short: str, path: Path, source: str) -> tuple[str, TaskSpace, str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not YAML ({str(error).splitlines()[0]})") from None
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a curriculum is a mapping (kind, tasks or env + buckets, ...)")
    kind = data.get("kind") or TARGETS.get(str(data.get("_target_", "")).rsplit(".", 1)[-1])
    if kind not in KINDS:
        raise ConfigError(f"{source}: kind: {data.get('kind', data.get('_target_'))!r} is not one of {', '.join(KINDS)}")
    env_overrides = data.get("env_overrides") or {}
    if not isinstance(env_overrides, dict):
        raise ConfigError(f"{source}: env_overrides: must be a mapping of env keys to values")
    params = {k: v for k, v in data.items() if k not in STRUCTURE_KEYS}
    if "buckets" in data:
        space = _bucketed(data, source, env_overrides)
    elif "tasks" in data:
        space, weights = _listed(data["tasks"], source, env_overrides)
        if kind == "random":
            params["weights"] = weights
    elif data.get("env") or data.get("env_cfg_template"):
        base = normalise(data.get("env") or data["env_cfg_template"])
        space = TaskSpace(source, {base: compose_env_dict(base, f"{source}: env")}, rows=[(base, base, {})],
                          env_overrides=env_overrides)
    else:
        raise ConfigError(f"{source}: give `tasks` (a list or env -> weight map) or `env` + `buckets`")
    try:
        KINDS[kind](len(space), **params)
    except TypeError as error:
        raise ConfigError(f"{source}: {kind}: {error}") from None
    # Check layouts now, not minutes into training: every listed task, a product's corners.
    for task_id in (range(len(space)) if space.rows is not None else (0, len(space) - 1)):
        space.config(task_id)
    return short, space, kind, params


def _listed(tasks: Any, source: str, env_overrides: dict[str, Any]):
    if isinstance(tasks, dict):
        tasks = [{"env": env, "weight": weight} for env, weight in tasks.items()]
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(f"{source}: tasks: empty task list")
    rows, weights, bases = [], [], {}
    for index, task in enumerate(tasks):
        if isinstance(task, str):
            task = {"env": task}
        where = f"{source}: tasks[{index}]"
        if not isinstance(task, dict) or "env" not in task:
            raise ConfigError(f"{where}: each task needs `env` (an env config name)")
        env = normalise(task["env"])
        weight = task.get("weight", 1.0)
        if not isinstance(weight, (int, float)) or weight < 0:
            raise ConfigError(f"{where}.weight: {weight!r} is negative or not a number")
        if env not in bases:
            bases[env] = compose_env_dict(env, where)
        overrides = flatten(task.get("overrides") or {})
        for path in overrides:
            if not has_dotted(bases[env], path):
                raise ConfigError(f"{where}.overrides: {dotted(path)} is not a key of env {env}")
        rows.append((task.get("name") or env, env, overrides))
        weights.append(float(weight))
    if sum(weights) <= 0:
        raise ConfigError(f"{source}: tasks: every weight is 0")
    names = [row[0] for row in rows]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: tasks: {dupes[0]} appears twice; give the tasks distinct `name`s")
    return TaskSpace(source, bases, rows=rows, env_overrides=env_overrides), weights


def _bucketed(data: dict[str, Any], source: str, env_overrides: dict[str, Any]) -> TaskSpace:
    base = data.get("env") or data.get("env_cfg_template")
    if not base:
        raise ConfigError(f"{source}: buckets need `env` (the env config the buckets vary)")
    base = normalise(base)
    base_dict = compose_env_dict(base, f"{source}: env")
    buckets = data["buckets"]
    if not isinstance(buckets, dict) or not buckets:
        raise ConfigError(f"{source}: buckets: empty bucket list")
    parsed = []
    for key, spec in buckets.items():
        if not has_dotted(base_dict, tuple(key.split("."))):
            raise ConfigError(f"{source}: buckets.{key}: env {base} has no key {key}")
        parsed.append(Bucket(key, bucket_values(key, spec, source)))
    return TaskSpace(source, {base: base_dict}, rows=None, bucket_base=base, buckets=tuple(parsed),
                     env_overrides=env_overrides)
