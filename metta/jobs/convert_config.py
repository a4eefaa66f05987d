"""`tools/convert_config.py`: the original's env, trainer and agent YAMLs (their mid-2025 shape)
as configs of this project.

    ./tools/convert_config.py OLD.yaml > configs/env/mettagrid/my_env.yaml
    ./tools/convert_config.py old_eval.yaml game.num_agents=1 > configs/env/mettagrid/my_eval.yaml

The kind (env, trainer, agent) is read from the file's keys, or given with `--kind`. The
original's resolvers (`${sampling:lo,hi,centre}`, `${div:a,b}`, ...) are evaluated first. The
converted config goes to stdout, checked against this project's schema before it is printed;
every upstream key that was not carried over, or whose meaning changed, is one line on stderr
naming its key path (`OLD.yaml: game.global_obs: dropped: ...`), so nothing goes missing
silently. Bad input is one `error:` line and exit code 2.

Each kind is a row of `CONVERTERS`: a detector, a converter and a validator.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from metta.common.cli_parser import CliParser
from mettagrid.env_configs import CONFIGS_DIR
from mettagrid.errors import ConfigError, read_yaml

# ---------------------------------------------------------------------------------------------
# notes: what did not come across


@dataclasses.dataclass
class Notes:
    """The stderr report: one line per upstream key that was dropped or changed meaning."""

    source: str
    lines: list[str] = dataclasses.field(default_factory=list)

    def add(self, key: str, why: str) -> None:
        self.lines.append(f"{self.source}: {key}: {why}")

    def unknown(self, key: str, value: Any) -> None:
        self.add(key, f"unknown upstream key, dropped (was {_short(value)})")


def _short(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def take(data: dict[str, Any], keys: tuple[str, ...], path: str, notes: Notes,
         dropped: dict[str, str | Callable[[Any], str | None]] | None = None) -> dict[str, Any]:
    """The entries of `data` whose keys this project shares; every other key becomes a note
    (with its reason when `dropped` knows the key, else as unknown)."""
    dropped = dropped or {}
    out = {}
    for key, value in data.items():
        if key in keys:
            out[key] = value
        elif key in dropped:
            reason = dropped[key]
            reason = reason(value) if callable(reason) else reason
            if reason:
                notes.add(_join(path, key), reason)
        else:
            notes.unknown(_join(path, key), value)
    return out


# ---------------------------------------------------------------------------------------------
# loading: YAML, then the original's resolvers


def _centre(*args: Any) -> Any:
    return args[2] if len(args) >= 3 else args[0]


# The original's OmegaConf resolvers, evaluated once: sampling picks the centre value (what the
# original used with `sampling: 0`, its default).
UPSTREAM_RESOLVERS: dict[str, Callable[..., Any]] = {
    "sampling": _centre,
    "uniform": _centre,
    "div": lambda a, b: int(a) // int(b),
    "multiply": lambda a, b: a * b,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "subtract": lambda a, b: a - b,
    "make_odd": lambda a: int(a) | 1,
    "clamp": lambda x, lo, hi: max(lo, min(hi, x)),
    "eq": lambda a, b: a == b,
    "if": lambda c, a, b: a if c else b,
    "choose": lambda *options: options[0],
}


def load_upstream(path: str) -> dict[str, Any]:
    # OmegaConf's YAML rules (a SafeLoader that reads `1e-12` as a float), as the original read its files.
    from omegaconf._utils import get_yaml_loader

    data = read_yaml(path, get_yaml_loader())
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a YAML mapping at the top")
    return data


def resolve(data: dict[str, Any], notes: Notes) -> dict[str, Any]:
    """Evaluate the original's interpolations leaf by leaf; a leaf that cannot be (`${run_dir}`)
    is dropped with a note."""
    from omegaconf import OmegaConf

    for name, function in UPSTREAM_RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
    root = OmegaConf.create(data)
    return _resolve_node(root, "", notes)


def _resolve_node(node: Any, path: str, notes: Notes) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(node, DictConfig):
        out = {}
        for key in node:
            here = _join(path, key)
            try:
                child = node._get_node(key)
                value = child._dereference_node() if child._is_interpolation() else child
                if value is None or (hasattr(value, "_is_missing") and value._is_missing()):
                    out[key] = None if value is None else "???"
                    continue
            except OmegaConfBaseException as error:
                raw = OmegaConf.to_container(node, resolve=False)[key]
                notes.add(here, f"dropped: cannot resolve {raw!r} here ({str(error).splitlines()[0]})")
                continue
            out[key] = _resolve_node(value, here, notes)
        return out
    if isinstance(node, ListConfig):
        return [_resolve_node(item, _join(path, index), notes) for index, item in enumerate(node)]
    return node._value() if hasattr(node, "_value") else node


# ---------------------------------------------------------------------------------------------
# env


STANDARD_OBJECTS = CONFIGS_DIR / "env" / "mettagrid" / "game" / "objects" / "standard.yaml"

# The presets a converted env starts from (the original's `mettagrid.yaml` base and object
# files, in this project's names); the file's own values go on top.
ENV_DEFAULTS = [
    ("items", "game", "standard"),
    ("observation", "game", "standard"),
    ("objects", "game.objects", "standard"),
    ("agent", "game.agent", "default"),
    ("groups", "game.groups", "solo"),
    ("rewards", "game.agent.rewards", "heart"),
    ("actions", "game.actions", "all"),
]

GAME_KEYS = ("num_agents", "max_steps", "obs_width", "obs_height", "num_observation_tokens", "inventory_item_names",
             "episode_end", "color_step")
ALWAYS_SENT = {"episode_completion_pct": True, "last_action": True, "last_reward": True}


def _global_obs(value: Any) -> str:
    differs = {k: v for k, v in (value or {}).items() if ALWAYS_SENT.get(k, False) != v}
    if not differs:
        return "dropped: this project always sends episode completion, last action and last reward tokens"
    return (f"dropped, and it differs here: {_short(differs)} (this project always sends episode completion, last "
            f"action and last reward, and has no resource_rewards or visitation_counts tokens)")


GAME_DROPPED: dict[str, str | Callable[[Any], str | None]] = {
    "global_obs": _global_obs,
    "track_movement_metrics": "dropped: no movement metrics here (the stats are listed in docs/mettagrid.md)",
    "no_agent_interference": lambda v: None if not v else "dropped: agents always block each other here (was true)",
    "resource_loss_prob": lambda v: None if not v else f"dropped: items are never lost here (was {v})",
    "recipe_details_obs": lambda v: None if not v else "dropped: no recipe tokens in observations here (was true)",
}
AGENT_KEYS = ("default_resource_limit", "resource_limits", "initial_inventory", "freeze_duration",
              "action_failure_penalty", "color")
GROUP_KEYS = ("id", "group_reward_pct")
OBJECT_KEYS = ("input_resources", "output_resources", "max_output", "max_conversions", "conversion_ticks",
               "cooldown", "initial_resource_count", "color", "required_resources")
ACTION_KEYS = {"attack": ("enabled", "required_resources", "consumed_resources", "defense_resources"),
               "change_glyph": ("enabled", "required_resources", "consumed_resources", "number_of_glyphs")}
ACTION_NAMES = ("noop", "move", "rotate", "put_items", "get_items", "attack", "swap", "change_color", "change_glyph")
# The original's base file (mettagrid.yaml) turned these off; this project's `all` preset has change_color on.
UPSTREAM_ACTIONS_OFF = ("change_color", "change_glyph")


def convert_env(data: dict[str, Any], notes: Notes, name: str) -> dict[str, Any]:
    top = take(data, ("game", "desync_episodes", "name"), "", notes, {
        "defaults": "replaced by this project's presets (items, observation, objects, agent, groups, rewards, "
                    "actions: configs/env/mettagrid/game/); values stated in the file are kept on top",
        "sampling": "dropped: each ${sampling:lo,hi,centre} was replaced by its centre value (the original's "
                    "sampling: 0)",
        "labels": "dropped: no env labels here",
    })
    game_in = top.get("game") or {}
    if not isinstance(game_in, dict):
        raise ConfigError(f"{notes.source}: game: expected a mapping")
    game = take(game_in, GAME_KEYS + ("agent", "groups", "objects", "actions", "map_builder"), "game", notes,
                GAME_DROPPED)
    if game.get("num_agents") in (None, "???"):
        raise ConfigError(f"{notes.source}: game.num_agents: missing (the original took it from a parent config); "
                          f"state it in the file or add game.num_agents=N to the command line")
    if "agent" in game:
        game["agent"] = convert_agent_props(game["agent"], "game.agent", notes)
    if "groups" in game:
        game["groups"] = {group: convert_group(value or {}, f"game.groups.{group}", notes)
                          for group, value in game["groups"].items()}
    if "objects" in game:
        game["objects"] = convert_objects(game["objects"], notes)
    game["actions"] = convert_actions(game.get("actions") or {}, notes)
    if "map_builder" in game:
        game["map_builder"] = convert_map_builder(game["map_builder"], "game.map_builder", notes)
    else:
        raise ConfigError(f"{notes.source}: game.map_builder: missing (the original took it from a parent config)")
    defaults = [f"/env/mettagrid/game/{group}@{package}: {choice}" for group, package, choice in ENV_DEFAULTS]
    groups_choice = "teams" if any(str(d).find("teams") >= 0 for d in data.get("defaults") or []) else "solo"
    defaults = [d.replace("groups@game.groups: solo", f"groups@game.groups: {groups_choice}") for d in defaults]
    out: dict[str, Any] = {"defaults": [_default_entry(d) for d in defaults] + ["_self_"]}
    out["name"] = top.get("name", name)
    if "desync_episodes" in top:
        out["desync_episodes"] = top["desync_episodes"]
    out["game"] = game
    return out


def _default_entry(text: str) -> dict[str, str]:
    key, value = text.split(": ")
    return {key: value}


def convert_rewards(rewards: Any, path: str, notes: Notes) -> dict[str, Any]:
    """The original wrote rewards flat (`heart: 1, heart_max: null`) or as `inventory:`/`stats:`."""
    if not isinstance(rewards, dict):
        notes.add(path, f"dropped: expected a mapping (was {_short(rewards)})")
        return {}
    if "inventory" in rewards or "stats" in rewards:
        parts = take(rewards, ("inventory", "stats"), path, notes)
    else:
        parts = {"inventory": rewards}
    out = {}
    for part, values in parts.items():
        kept = {}
        for item, value in (values or {}).items():
            if value is None:
                if not str(item).endswith("_max"):
                    notes.add(f"{path}.{item}", "dropped: null reward")
                continue  # `<item>_max: null` is "no cap", which is what no key means here
            kept[item] = value
        out[part] = kept
    return out


def convert_agent_props(agent: Any, path: str, notes: Notes) -> dict[str, Any]:
    if not isinstance(agent, dict):
        notes.add(path, f"dropped: expected a mapping (was {_short(agent)})")
        return {}
    out = take(agent, AGENT_KEYS + ("rewards",), path, notes)
    if "rewards" in out:
        out["rewards"] = convert_rewards(out["rewards"], f"{path}.rewards", notes)
    return out


def convert_group(group: dict[str, Any], path: str, notes: Notes) -> dict[str, Any]:
    out = take(group, GROUP_KEYS + ("props",), path, notes, {
        "sprite": "dropped: the viewer draws a group's agents by group id here",
    })
    if "props" in out:
        out["props"] = convert_agent_props(out["props"] or {}, f"{path}.props", notes)
    return out


def convert_objects(objects: dict[str, Any], notes: Notes) -> dict[str, Any]:
    standard_ids = {name: spec["type_id"] for name, spec in yaml.safe_load(STANDARD_OBJECTS.read_text()).items()}
    used = set(standard_ids.values()) | {0}
    out = {}
    for name, spec in objects.items():
        path = f"game.objects.{name}"
        spec = spec or {}
        kept = take(spec, OBJECT_KEYS + ("type_id", "swappable"), path, notes)
        swappable = kept.pop("swappable", None)
        if name == "wall" or (swappable is False and not kept.get("output_resources") and "wall" in name):
            kept["kind"] = "wall"
        elif swappable:
            kept["kind"] = "block" if not kept.get("output_resources") else "converter"
            if kept["kind"] == "converter":
                notes.add(f"{path}.swappable", "dropped: only blocks can be swapped here; this object is a converter")
        upstream_id = kept.get("type_id")
        if name in standard_ids:
            kept["type_id"] = standard_ids[name]
            if upstream_id is not None and upstream_id != standard_ids[name]:
                notes.add(f"{path}.type_id", f"{upstream_id} -> {standard_ids[name]} (this project's fixed id for "
                                             f"{name}; policies here read these ids)")
        elif upstream_id is None or upstream_id in used:
            kept["type_id"] = next(i for i in range(1, 256) if i not in used)
            notes.add(f"{path}.type_id", f"{upstream_id} -> {kept['type_id']} (the id is taken here)")
        used.add(kept["type_id"])
        out[name] = kept
    return out


def convert_actions(actions: dict[str, Any], notes: Notes) -> dict[str, Any]:
    out: dict[str, Any] = {name: {"enabled": False} for name in UPSTREAM_ACTIONS_OFF}
    for name, spec in actions.items():
        path = f"game.actions.{name}"
        if name not in ACTION_NAMES:
            notes.add(path, f"dropped: no {name!r} action here (was {_short(spec)})")
            continue
        keys = ACTION_KEYS.get(name, ("enabled", "required_resources", "consumed_resources"))
        out[name] = take(spec or {}, keys, path, notes)
    return out


# --- map builders ------------------------------------------------------------------------------


def _scene_random(params: dict, path: str, notes: Notes) -> dict:
    out = take(params, ("agents", "objects"), path, notes, {
        "too_many_is_ok": lambda v: None if v else "dropped: a room too small for its objects is always an error "
                                                   "here",
    })
    return {"type": "random", **out}


def _scene_mean_distance(params: dict, path: str, notes: Notes) -> dict:
    return {"type": "mean_distance", **take(params, ("mean_distance", "objects"), path, notes)}


def _scene_maze(params: dict, path: str, notes: Notes) -> dict:
    out = take(params, ("algorithm",), path, notes, {"room_size": "", "wall_size": ""})
    for upstream, ours in (("room_size", "corridor_width"), ("wall_size", "wall_width")):
        if upstream in params:
            value = params[upstream]
            if isinstance(value, (dict, list)):
                notes.add(f"{path}.{upstream}", f"a distribution ({_short(value)}); its first value is used")
                value = value.get("value", next(iter(value.values()))) if isinstance(value, dict) else value[0]
            out[ours] = value
    return {"type": "maze", **out}


def _scene_bsp(params: dict, path: str, notes: Notes) -> dict:
    out = take(params, ("rooms", "min_room_size"), path, notes, {
        "min_room_size_ratio": "dropped: rooms here are sized by min_room_size only",
        "max_room_size_ratio": "dropped: rooms here are sized by min_room_size only",
        "skip_corridors": lambda v: None if not v else "dropped: BSP rooms are always joined by corridors here",
    })
    return {"type": "bsp", **out}


# The original's scene classes (`root.type`) and what each becomes here.
SCENES: dict[str, Callable[[dict, str, Notes], dict]] = {
    "metta.map.scenes.random.Random": _scene_random,
    "metta.map.scenes.mean_distance.MeanDistance": _scene_mean_distance,
    "metta.map.scenes.maze.Maze": _scene_maze,
    "metta.map.scenes.bsp.BSP": _scene_bsp,
}

MAPGEN_DEFAULT_BORDER = 5  # the original MapGen's border_width and instance_border_width defaults


def convert_scene(root: Any, path: str, notes: Notes) -> dict[str, Any]:
    if not isinstance(root, dict) or "type" not in root:
        raise ConfigError(f"{notes.source}: {path}: expected a scene with a 'type'")
    kind = root["type"]
    if kind not in SCENES:
        raise ConfigError(f"{notes.source}: {path}.type: {kind}: no converter for this scene "
                          f"(known: {', '.join(SCENES)})")
    take(root, ("type", "params"), path, notes, {
        "children": lambda v: None if not v else "dropped: child scenes are not converted; rebuild them as a "
                                                 "scene file (docs/maps.md, Scenes)",
    })
    return SCENES[kind](root.get("params") or {}, f"{path}.params", notes)


def _mapgen(builder: dict, path: str, notes: Notes) -> dict:
    kept = take(builder, ("_target_", "width", "height", "border_width", "instances", "instance_border_width",
                          "root", "num_agents"), path, notes, {
        "seed": "dropped: the map seed comes from the env's seed each episode here",
    })
    if "root" not in kept:
        raise ConfigError(f"{notes.source}: {path}.root: missing (the scene to build)")
    room = convert_scene(kept["root"], f"{path}.root", notes)
    if "width" not in kept or "height" not in kept:
        raise ConfigError(f"{notes.source}: {path}: needs width and height to convert")
    room.update(width=kept["width"], height=kept["height"])
    border = kept.get("border_width", MAPGEN_DEFAULT_BORDER)
    instances = kept.get("instances") or 1
    if instances == 1:
        return {**room, "border_width": border}
    return {"type": "instances", "num_instances": instances, "border_width": border,
            "instance_border_width": kept.get("instance_border_width", MAPGEN_DEFAULT_BORDER), "instance": room}


def _ascii(builder: dict, path: str, notes: Notes) -> dict:
    kept = take(builder, ("_target_", "uri", "border_width"), path, notes)
    if "uri" not in kept:
        raise ConfigError(f"{notes.source}: {path}.uri: missing (the map file)")
    return {"type": "ascii", "uri": kept["uri"], "border_width": kept.get("border_width", 0)}


def _room_random(builder: dict, path: str, notes: Notes) -> dict:
    kept = take(builder, ("_target_", "width", "height", "agents", "objects", "border_width"), path, notes, {
        "seed": "dropped: the map seed comes from the env's seed each episode here",
    })
    kept.pop("_target_")
    return {"type": "random", **kept}


# The original's map builder classes (`map_builder._target_`).
MAP_BUILDERS: dict[str, Callable[[dict, str, Notes], dict]] = {
    "metta.map.mapgen.MapGen": _mapgen,
    "metta.map.mapgen_ascii.MapGenAscii": _ascii,
    "metta.mettagrid.room.ascii.Ascii": _ascii,
    "metta.mettagrid.room.random.Random": _room_random,
}


def convert_map_builder(builder: Any, path: str, notes: Notes) -> dict[str, Any]:
    if isinstance(builder, dict) and "type" in builder and "_target_" not in builder:
        return builder  # already this project's shape
    target = builder.get("_target_") if isinstance(builder, dict) else None
    if target is None:
        raise ConfigError(f"{notes.source}: {path}._target_: missing (the original took the map builder from a "
                          f"parent config); state the whole map_builder in the file")
    if target not in MAP_BUILDERS:
        raise ConfigError(f"{notes.source}: {path}._target_: {target}: no converter for this map builder "
                          f"(known: {', '.join(MAP_BUILDERS)})")
    return MAP_BUILDERS[target](builder, path, notes)


def compose_env_presets(out: dict[str, Any]) -> dict[str, Any]:
    """The converted env as Hydra will compose it: the presets, then the file's values on top."""
    from omegaconf import OmegaConf

    merged = OmegaConf.create({})
    for entry in out["defaults"]:
        if entry == "_self_":
            continue
        (key, choice), = entry.items()
        group, package = key.removeprefix("/env/mettagrid/game/").split("@")
        preset = yaml.safe_load((CONFIGS_DIR / "env" / "mettagrid" / "game" / group / f"{choice}.yaml").read_text())
        node = OmegaConf.create({})
        OmegaConf.update(node, package, preset, force_add=True)
        merged = OmegaConf.merge(merged, node)
    own = {key: value for key, value in out.items() if key != "defaults"}
    return OmegaConf.to_container(OmegaConf.merge(merged, own), resolve=True)


def validate_env(out: dict[str, Any], source: str) -> None:
    from mettagrid.config import load_env_config

    load_env_config(compose_env_presets(out), source="converted " + source)


# ---------------------------------------------------------------------------------------------
# trainer


SCHEDULES = {"CosineSchedule": "cosine", "LinearSchedule": "linear", "ConstantSchedule": "constant"}


TRAINER_DROPPED: dict[str, str | Callable[[Any], str | None]] = {
    "_target_": lambda v: None,
    "defaults": "dropped: a converted trainer starts from this project's schema (_schema)",
    "curriculum": lambda v: None if isinstance(v, str) and "/curriculum/" in v else
    "dropped: a plain env is the job's env= group here; only a curriculum config (env/mettagrid/curriculum/...) "
    "is kept as trainer.curriculum",
    "env_overrides": lambda v: None if not v else "dropped: override the env on the command line (env.game...)",
    "initial_policy": "dropped: set it in the job instead (initial_policy.uri=... on ./tools/train.py)",
    # Kept below when it names a teacher (the trainer reads trainer.kickstart as the kickstarter loss row).
    "kickstart": lambda v: None,
    "checkpoint": "",  # read below
    "simulation": "",  # read below
    "ppo": "",  # read below
    "optimizer": "",  # read below
    "hyperparameter_scheduler": "",  # read below
    "prioritized_experience_replay": lambda v: None if not (v or {}).get("prio_alpha") else
    "dropped: rollouts are sampled uniformly here",
    "vtrace": lambda v: None if (v or {}).get("vtrace_rho_clip", 1) == 1 and (v or {}).get("vtrace_c_clip", 1) == 1
    else "dropped: no V-trace correction here",
    "zero_copy": lambda v: None, "require_contiguous_env_ids": lambda v: None, "verbose": lambda v: None,
    "cpu_offload": lambda v: None if not v else "dropped: no CPU offload here",
    "compile_mode": lambda v: None,
    "profiler": "dropped: no torch profiler hook here",
    "forward_pass_minibatch_target_size": "dropped: the rollout's shape follows batch_size and num_envs here",
    "async_factor": "dropped: env workers step synchronously here",
    "scale_batches_by_world_size": lambda v: None if not v else "dropped: one process trains here",
    "grad_mean_variance_interval": lambda v: None if not v else "dropped: no gradient statistics here",
    "dual_policy": lambda v: None if not (v or {}).get("enabled") else "dropped: no dual-policy training here",
}
TRAINER_KEYS = ("total_timesteps", "batch_size", "minibatch_size", "bptt_horizon", "update_epochs", "num_workers",
                "compile", "learning_rate", "gamma", "gae_lambda", "max_grad_norm", "num_envs")
# The original's ppo block split over this project's loss table (metta/rl/losses.py).
PPO_LOSS_ROWS = {"clip_coef": "ppo_actor", "ent_coef": "ppo_actor", "norm_adv": "ppo_actor", "target_kl": "ppo_actor",
                 "vf_clip_coef": "ppo_critic", "vf_coef": "ppo_critic"}
PPO_LOSS_KEYS = tuple(PPO_LOSS_ROWS)
PPO_TOP_KEYS = ("gamma", "gae_lambda", "max_grad_norm")


def convert_trainer(data: dict[str, Any], notes: Notes, name: str) -> dict[str, Any]:
    from metta.common.config_table import GROUPS, load, schema_defaults

    out = take(data, TRAINER_KEYS, "", notes, TRAINER_DROPPED)
    curriculum = data.get("curriculum")
    if isinstance(curriculum, str) and "/curriculum/" in curriculum:  # kept (TRAINER_DROPPED says why not else)
        out["curriculum"] = curriculum.lstrip("/")
    kickstart = data.get("kickstart")
    if isinstance(kickstart, dict) and (kickstart.get("teacher_uri") or kickstart.get("additional_teachers")):
        out["kickstart"] = kickstart
    ppo = data.get("ppo") or {}
    loss = take(ppo, PPO_LOSS_KEYS + PPO_TOP_KEYS, "ppo", notes, {
        "clip_vloss": lambda v: None if v else "dropped: the value loss is always clipped (vf_clip_coef) here",
        "l2_reg_loss_coef": lambda v: None if not v else "dropped: no L2 loss here",
        "l2_init_loss_coef": lambda v: None if not v else "dropped: no L2-init loss here",
    })
    for key in PPO_TOP_KEYS:
        if key in loss:
            out[key] = loss.pop(key)
    for key, value in loss.items():
        out.setdefault("losses", {}).setdefault(PPO_LOSS_ROWS[key], {})[key] = value
    optimizer = take(data.get("optimizer") or {}, ("type", "beta1", "beta2", "eps", "weight_decay", "learning_rate"),
                     "optimizer", notes)
    if "learning_rate" in optimizer:
        out["learning_rate"] = optimizer.pop("learning_rate")
    if optimizer:
        out["optimizer"] = optimizer
    checkpoint = take(data.get("checkpoint") or {}, ("checkpoint_interval",), "checkpoint", notes, {
        "checkpoint_dir": "dropped: checkpoints go to train_dir/<run>/checkpoints here",
        "wandb_checkpoint_interval": lambda v: None if v is None else "dropped: checkpoints are uploaded with "
                                                                        "upload_uri here",
    })
    out.update(checkpoint)
    simulation = take(data.get("simulation") or {}, ("evaluate_interval", "replay_dir"), "simulation", notes, {
        "evaluate_remote": lambda v: None if not v else "dropped: evaluations run in the training process here",
        "evaluate_local": lambda v: None, "git_hash": lambda v: None, "skip_git_check": lambda v: None,
    })
    out.update({key: value for key, value in simulation.items() if value is not None})
    schedules = data.get("hyperparameter_scheduler") or {}
    for key, schedule in schedules.items():
        target = str((schedule or {}).get("_target_", "")).rsplit(".", 1)[-1]
        if key == "learning_rate_schedule" and target in SCHEDULES:
            out["lr_schedule"] = SCHEDULES[target]
            if target != "ConstantSchedule":
                notes.add(f"hyperparameter_scheduler.{key}", f"{target} -> lr_schedule: {SCHEDULES[target]} "
                                                             f"(decays to 0; min_value is not kept)")
        elif target and target != "ConstantSchedule":
            notes.add(f"hyperparameter_scheduler.{key}", f"dropped: only the learning rate has a schedule here "
                                                         f"(was {target})")
    defaults = schema_defaults(load(GROUPS["trainer"].schema))
    ours = yaml.safe_load((CONFIGS_DIR / "trainer" / "trainer.yaml").read_text())
    for required in ("total_timesteps", "batch_size", "minibatch_size"):
        out.setdefault(required, ours[required])
    return {"defaults": ["_schema", "_self_"], **_differing(out, defaults)}


def _differing(values: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Only what differs from the schema's defaults (a converted file states no more than ours do)."""
    out = {}
    for key, value in values.items():
        default = defaults.get(key)
        if isinstance(value, dict) and isinstance(default, dict):
            value = _differing(value, default)
            if value:
                out[key] = value
        elif value != default:
            out[key] = value
    return out


def validate_trainer(out: dict[str, Any], source: str) -> None:
    from metta.common.tool import check_group

    data = {key: value for key, value in out.items() if key != "defaults"}
    check_group("trainer", data, "trainer")


# ---------------------------------------------------------------------------------------------
# agent


AGENT_DROPPED: dict[str, str | Callable[[Any], str | None]] = {
    "_target_": lambda v: None,
    "defaults": "dropped: a converted agent starts from this project's architecture defaults",
    "observations": lambda v: None,
    "clip_range": lambda v: None if not v else "dropped: no weight clipping here",
    "analyze_weights_interval": "dropped: no weight analysis here",
    "l2_init_weight_update_interval": lambda v: None if not v else "dropped: no L2-init loss here",
    "policy_selector": lambda v: None,
}


def convert_agent(data: dict[str, Any], notes: Notes, name: str) -> dict[str, Any]:
    from metta.agent.architectures import ARCHITECTURES

    take(data, ("components",), "", notes, AGENT_DROPPED)
    components = data.get("components") or {}
    targets = {key: str((value or {}).get("_target_", "")) for key, value in components.items()}
    if any("ObsLatentAttn" in target or "ObsSelfAttn" in target for target in targets.values()):
        architecture = "latent_attn_small"
    elif any(target.endswith("Conv2d") for target in targets.values()):
        architecture = "fast"
    else:
        raise ConfigError(f"{notes.source}: components: no CNN or latent-attention encoder found; known "
                          f"architectures here: {', '.join(ARCHITECTURES)}")
    config_class = ARCHITECTURES[architecture][0]
    fields: dict[str, Any] = {}
    used: set[str] = set()
    core = components.get("_core_") or {}
    if "output_size" in core:
        fields["hidden_size"] = core["output_size"]
    if "num_layers" in (core.get("nn_params") or {}):
        fields["lstm_layers"] = core["nn_params"]["num_layers"]
    used.add("_core_")
    if architecture == "fast":
        channels = {(components.get(key) or {}).get("nn_params", {}).get("out_channels") for key in ("cnn1", "cnn2")}
        channels.discard(None)
        if len(channels) == 1:
            fields["cnn_channels"] = channels.pop()
            used.update(("cnn1", "cnn2"))
        elif channels:
            notes.add("components.cnn1", f"dropped: both conv layers have one width here (were {sorted(channels)})")
    for key, target in targets.items():
        if key not in used:
            notes.add(f"components.{key}", f"not converted: the {architecture} architecture fixes this layer "
                                           f"({target.rsplit('.', 1)[-1] or 'no _target_'}); see docs/policies.md")
    defaults = config_class().model_dump()
    differing = {key: value for key, value in fields.items() if defaults.get(key) != value}
    return {"defaults": [f"_{architecture}", "_self_"], **differing}


def validate_agent(out: dict[str, Any], source: str) -> None:
    from metta.agent.architectures import parse_architecture

    name = out["defaults"][0].removeprefix("_")
    parse_architecture({"name": name, **{k: v for k, v in out.items() if k != "defaults"}})


# ---------------------------------------------------------------------------------------------
# the table of kinds, and the tool


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    detect: Callable[[dict[str, Any]], bool]
    convert: Callable[[dict[str, Any], Notes, str], dict[str, Any]]
    validate: Callable[[dict[str, Any], str], None]
    where: str  # where a converted file goes, for the header comment


CONVERTERS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("env", lambda d: isinstance(d.get("game"), dict), convert_env, validate_env,
             "configs/env/mettagrid/<name>.yaml, then env=mettagrid/<name>"),
        Kind("agent", lambda d: "components" in d or "MettaAgent" in str(d.get("_target_", "")), convert_agent,
             validate_agent, "configs/agent/<name>.yaml, then agent=<name>"),
        Kind("trainer", lambda d: any(k in d for k in ("ppo", "optimizer", "bptt_horizon", "total_timesteps",
                                                       "minibatch_size")), convert_trainer, validate_trainer,
             "configs/trainer/<name>.yaml, then trainer=<name>"),
    )
}


def detect_kind(data: dict[str, Any], source: str) -> str:
    found = [kind.name for kind in CONVERTERS.values() if kind.detect(data)]
    if len(found) != 1:
        what = "none" if not found else " and ".join(found)
        raise ConfigError(f"{source}: cannot tell what kind of config this is (looks like {what}); "
                          f"pass --kind {'|'.join(CONVERTERS)}")
    return found[0]


def _with_overrides(data: dict[str, Any], overrides: list[str], path: str) -> dict[str, Any]:
    """`game.num_agents=4`: values the original took from a parent config, set before converting."""
    from omegaconf import OmegaConf

    config = OmegaConf.create(data)
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"{path}: override {override!r}: expected key=value")
        OmegaConf.update(config, key, yaml.safe_load(value), force_add=True)
    return OmegaConf.to_container(config, resolve=False)


def convert_file(path: str, kind: str | None = None, overrides: list[str] = ()) -> tuple[str, list[str]]:
    """(the converted YAML text, the notes) for an upstream file; ConfigError for bad input."""
    from pydantic import ValidationError

    from mettagrid.errors import describe_validation_error

    raw = load_upstream(path)
    if overrides:
        raw = _with_overrides(raw, overrides, path)
    notes = Notes(path)
    data = resolve(raw, notes)
    kind = kind or detect_kind(raw, path)
    row = CONVERTERS[kind]
    out = row.convert(data, notes, Path(path).stem)
    try:
        row.validate(out, path)
    except ValidationError as error:
        raise ConfigError(f"the converted {kind} config does not load: "
                          f"{describe_validation_error(error, source=path)}") from None
    except ConfigError as error:
        raise ConfigError(f"the converted {kind} config does not load: {error}") from None
    header = (f"# Converted from {Path(path).name} (the original's {kind} format) by tools/convert_config.py.\n"
              f"# Save it as {row.where}.\n")
    return header + yaml.safe_dump(out, sort_keys=False, default_flow_style=False), notes.lines


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="tools/convert_config.py",
                       description="Convert an env, trainer or agent YAML of the original (mid-2025) "
                                                 "into this project's config; the result goes to stdout.")
    parser.add_argument("path", help="The original's YAML file")
    parser.add_argument("overrides", nargs="*",
                        help="key=value set in the original's file first (e.g. game.num_agents=4, which the original "
                             "often took from a parent config)")
    parser.add_argument("--kind", choices=sorted(CONVERTERS), default=None,
                        help="What the file is (default: read from its keys)")
    args = parser.parse_intermixed_args(argv)
    try:
        text, lines = convert_file(args.path, args.kind, args.overrides)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    sys.stdout.flush()
    for line in lines:
        print(line, file=sys.stderr)
    return 0
