"""CoGsGuard missions by name: `cogsguard_arena.basic` -> the env config `cogsguard/arena/basic`.

`load_mission(name)` composes and validates the mission's env config; keyword arguments
change the common knobs without writing Hydra overrides (team sizes, episode length).
"""

from __future__ import annotations

from mettagrid.config import EnvConfig
from mettagrid.env_configs import compose_env_config
from mettagrid.errors import ConfigError

# Mission name -> env config name under configs/env/.
MISSIONS = {
    "cogsguard_arena.basic": "cogsguard/arena/basic",
    "cogsguard_arena.small": "cogsguard/arena/small",
    "cogsguard_arena.large": "cogsguard/arena/large",
    "cogsguard_arena.no_clips": "cogsguard/arena/no_clips",
}


def list_missions() -> list[str]:
    return list(MISSIONS)


def load_mission(
    name: str,
    cogs: int | None = None,
    clips: int | None = None,
    max_steps: int | None = None,
    desync_episodes: bool | None = None,
) -> EnvConfig:
    """The EnvConfig of mission `name`; `cogs` / `clips` resize the teams (the map's start
    cells and num_agents follow), `max_steps` sets the episode length, `desync_episodes`
    overrides the config's (scrimmages want every episode full length)."""
    if name not in MISSIONS:
        raise ConfigError(f"unknown mission {name!r} (known: {', '.join(MISSIONS)})")
    overrides = []
    if max_steps is not None:
        overrides.append(f"game.max_steps={max_steps}")
    if cogs is not None or clips is not None:
        teams = compose_env_config(MISSIONS[name]).game.map_builder.agents
        cogs = teams["cogs"] if cogs is None else cogs
        clips = teams["clips"] if clips is None else clips
        overrides += [
            f"game.map_builder.agents.cogs={cogs}",
            f"game.map_builder.agents.clips={clips}",
            f"game.num_agents={cogs + clips}",
        ]
    config = compose_env_config(MISSIONS[name], overrides)
    if desync_episodes is not None:
        config.desync_episodes = desync_episodes
    return config


def env_config_by_name(name: str, overrides: list[str] | tuple[str, ...] = ()) -> EnvConfig:
    """A mission (`cogsguard_arena.basic`, no '/') or an env config under configs/env/
    (`mettagrid/arena/basic`), with Hydra overrides of it: what tools that take either accept."""
    if "/" in name:
        return compose_env_config(name, list(overrides))
    if name not in MISSIONS:
        raise ConfigError(f"unknown mission {name!r} (known: {', '.join(MISSIONS)}; "
                          "env config names have a '/', e.g. mettagrid/arena/basic)")
    return compose_env_config(MISSIONS[name], list(overrides))
