"""Typed, validated MettaGrid configuration, and its compilation into the C++ params.

The YAML under `configs/env/mettagrid/` composes (with Hydra) into a plain dict; `EnvConfig`
validates it: unknown keys, negative sizes, references to items, objects or groups that do
not exist are refused with one line naming the dotted key and the value. `compile_params`
then flattens the validated config into the dict the C++ core reads once (docs/mettagrid.md,
section 9).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from mettagrid import _core
from mettagrid.errors import ConfigError, describe_validation_error
from mettagrid.map_builder import MapBuilderConfig

# The canonical action order, owned by the core. A trained policy's action head depends on it,
# so new actions are only ever appended; disabled actions are left out and the rest keep this
# order. ActionsConfig has one field per name, in this order.
ACTION_ORDER: tuple[str, ...] = _core.ACTION_NAMES

# Highest priority acts first within a step (attack resolves before movement).
ACTION_PRIORITY = {"attack": 1}

AGENT_TYPE_ID = 0
UNLIMITED = 1e30  # "no cap" for reward maxima, as a float the C++ side can hold


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


ItemCounts = dict[str, NonNegativeInt]


class ActionConfig(StrictModel):
    """One action's switches and item costs."""

    enabled: bool = Field(True, description="Whether agents have this action at all")
    required_resources: ItemCounts = Field(default_factory=dict, description="Items that must be held")
    consumed_resources: ItemCounts = Field(default_factory=dict, description="Items paid on success")


class AttackActionConfig(ActionConfig):
    """Attack: costs a laser; a target holding the defense items loses them instead of freezing."""

    consumed_resources: ItemCounts = Field(default_factory=lambda: {"laser": 1})
    defense_resources: ItemCounts = Field(default_factory=lambda: {"armor": 1})
    steal: bool = Field(True, description="A frozen target's items move to the attacker")


class ChangeGlyphActionConfig(ActionConfig):
    """Change glyph: the agent shows one of `number_of_glyphs` symbols."""

    enabled: bool = False
    number_of_glyphs: PositiveInt = Field(16, le=256, description="Number of distinct glyphs")


class TeamActionConfig(ActionConfig):
    """Align (claim a neutral alignable building) or scramble (neutralise another team's)."""

    enabled: bool = False


class ActionsConfig(StrictModel):
    """The actions of the game, in the canonical order of ACTION_ORDER."""

    noop: ActionConfig = Field(default_factory=ActionConfig)
    move: ActionConfig = Field(default_factory=ActionConfig)
    rotate: ActionConfig = Field(default_factory=ActionConfig)
    put_items: ActionConfig = Field(default_factory=ActionConfig)
    get_items: ActionConfig = Field(default_factory=ActionConfig)
    attack: AttackActionConfig = Field(default_factory=AttackActionConfig)
    swap: ActionConfig = Field(default_factory=ActionConfig)
    change_color: ActionConfig = Field(default_factory=ActionConfig)
    change_glyph: ChangeGlyphActionConfig = Field(default_factory=ChangeGlyphActionConfig)
    align: TeamActionConfig = Field(default_factory=TeamActionConfig)
    scramble: TeamActionConfig = Field(default_factory=TeamActionConfig)


class RewardsConfig(StrictModel):
    """Rewards per item held (`heart: 1`, optional cap `heart_max: 10`) and per stat."""

    inventory: dict[str, float] = Field(default_factory=dict, description="item or item_max -> reward")
    stats: dict[str, float] = Field(default_factory=dict, description="stat or stat_max -> reward")


class AgentConfig(StrictModel):
    """Properties every agent starts with; groups may override any of them."""

    default_resource_limit: NonNegativeInt = Field(50, description="Inventory cap for items without a limit")
    resource_limits: ItemCounts = Field(default_factory=dict, description="Per-item inventory caps")
    initial_inventory: ItemCounts = Field(default_factory=dict, description="Items held at reset")
    freeze_duration: NonNegativeInt = Field(10, description="Steps an agent stays frozen when hit")
    action_failure_penalty: float = Field(0.0, ge=0, description="Reward subtracted per failed action")
    color: int = Field(0, ge=0, le=255, description="Initial colour")
    rewards: RewardsConfig = Field(default_factory=RewardsConfig)


class GroupConfig(StrictModel):
    """A group (team) of agents: its id, reward sharing and agent overrides."""

    id: NonNegativeInt = Field(description="Group id, observed as the agent:group feature")
    group_reward_pct: float = Field(0.0, ge=0.0, le=1.0, description="Share of reward pooled in the group")
    props: dict[str, Any] = Field(default_factory=dict, description="Overrides of game.agent for this group")


class ObjectConfig(StrictModel):
    """A wall, a block (swappable wall) or a converter building."""

    type_id: PositiveInt = Field(le=255, description="Observed type id; 0 is reserved for agents")
    kind: Literal["wall", "block", "converter"] = "converter"
    input_resources: ItemCounts = Field(default_factory=dict, description="Recipe inputs")
    output_resources: ItemCounts = Field(default_factory=dict, description="Recipe outputs")
    max_output: int = Field(-1, ge=-1, description="No conversion starts at this many held outputs; -1 = no cap")
    max_conversions: int = Field(-1, ge=-1, description="Total conversions allowed; -1 = unlimited")
    conversion_ticks: NonNegativeInt = Field(1, description="Steps from start to finish of a conversion")
    cooldown: NonNegativeInt = Field(0, description="Steps of rest after a conversion")
    initial_resource_count: NonNegativeInt = Field(0, description="Outputs held at reset")
    color: int = Field(0, ge=0, le=255)
    alignable: bool = Field(False, description="align claims it when neutral; scramble neutralises it")
    team_only: bool = Field(False, description="Only agents of its team may put into or take from it")
    required_resources: ItemCounts = Field(
        default_factory=dict, description="Items an agent must hold to put into or take from it (kept)"
    )

    @model_validator(mode="after")
    def _walls_have_no_recipe(self) -> ObjectConfig:
        if self.kind != "converter" and (self.input_resources or self.output_resources):
            raise ValueError(f"a {self.kind} cannot have input_resources or output_resources")
        if self.kind != "converter" and (self.alignable or self.team_only or self.required_resources):
            raise ValueError(f"a {self.kind} cannot be alignable, team_only or have required_resources")
        return self

    @property
    def has_team(self) -> bool:
        """Whether its map cells may name an owner (`<object>.<group>`)."""
        return self.alignable or self.team_only


class GameConfig(StrictModel):
    """The rules of one MettaGrid game."""

    num_agents: PositiveInt = Field(description="Agents per env")
    max_steps: NonNegativeInt = Field(1000, description="Episode length; 0 = unlimited")
    episode_end: Literal["truncate", "terminate"] = Field("truncate", description="How max_steps ends it")
    obs_width: PositiveInt = Field(11, le=15, description="Observation window width (odd)")
    obs_height: PositiveInt = Field(11, le=15, description="Observation window height (odd)")
    num_observation_tokens: PositiveInt = Field(200, le=4096, description="Token slots per agent")
    color_step: NonNegativeInt = Field(16, le=255, description="Colour change of change_color args 2 and 3")
    inventory_item_names: list[str] = Field(min_length=1, description="Items; id = position")
    groups: dict[str, GroupConfig] = Field(min_length=1)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    objects: dict[str, ObjectConfig] = Field(default_factory=dict)
    map_builder: MapBuilderConfig

    @field_validator("obs_width", "obs_height")
    @classmethod
    def _odd_window(cls, size: int) -> int:
        if size % 2 == 0:
            raise ValueError("must be odd so the agent sits at the centre")
        return size


class EnvConfig(StrictModel):
    """An environment: a game plus how a vector of its instances behaves."""

    name: str = Field("mettagrid", description="Short name used in logs and stats")
    game: GameConfig
    desync_episodes: bool = Field(
        True, description="Give each env's first episode a random length so resets do not line up"
    )


# ----------------------------------------------------------------------------------------------
# Loading and cross-reference checks


def load_env_config(data: Any, source: str | None = None, prefix: str = "env", check_map: bool = True) -> EnvConfig:
    """Validate a plain dict (or OmegaConf node) as an EnvConfig, raising one-line ConfigErrors.

    With `check_map`, the map is also built once (seed 0) and checked against the game: its
    cells must name known objects and groups, and it must hold exactly `num_agents` agents.
    """
    if not isinstance(data, dict):
        from omegaconf import OmegaConf

        data = OmegaConf.to_container(data, resolve=True)
    try:
        config = EnvConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, prefix=prefix, source=source, data=data)) from None
    problems = reference_problems(config.game, prefix=f"{prefix}.game")
    head = f"{source}: " if source else ""
    if problems:
        raise ConfigError(head + "; ".join(problems))
    if check_map:
        from mettagrid.cells import check_map_builds

        check_map_builds(config.game, source=f"{head}{prefix}.game.map_builder")
    return config


def _split_reward_keys(rewards: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    values, caps = {}, {}
    for key, amount in rewards.items():
        if key.endswith("_max"):
            caps[key[: -len("_max")]] = amount
        else:
            values[key] = amount
    return values, caps


def agent_stat_names(items: list[str], action_names: list[str], alignable: list[str] = ()) -> set[str]:
    """Names of the per-agent stats the core keeps (docs/mettagrid.md, section 7), as the core spells them."""
    return set(_core.agent_stat_names(list(action_names), list(items), list(alignable)))


def enabled_actions(actions: ActionsConfig) -> list[str]:
    return [name for name in ACTION_ORDER if getattr(actions, name).enabled]


def resolved_agent(game: GameConfig, group: GroupConfig) -> AgentConfig:
    """The agent props of one group: game.agent with the group's overrides merged in."""
    merged = game.agent.model_dump()
    for key, value in group.props.items():
        if key == "rewards" and isinstance(value, dict):
            merged["rewards"] = {
                section: {**merged["rewards"].get(section, {}), **(value.get(section) or {})}
                for section in ("inventory", "stats")
            }
            extra = set(value) - {"inventory", "stats"}
            if extra:
                merged["rewards"].update({k: value[k] for k in extra})  # let validation name it
        else:
            merged[key] = value
    return AgentConfig.model_validate(merged)


def reference_problems(game: GameConfig, prefix: str = "game") -> list[str]:
    """Every reference to an item, stat, object or group that does not exist, as dotted-key lines."""
    items = game.inventory_item_names
    known_items = set(items)
    problems: list[str] = []

    if len(known_items) != len(items):
        dupes = sorted({name for name in items if items.count(name) > 1})
        problems.append(f"{prefix}.inventory_item_names: duplicate item names {dupes}")
    teams = any(obj.has_team for obj in game.objects.values())
    # Feature ids are one byte: the fixed features, one per item, and "aligned" in games with teams.
    max_items = _core.MAX_ITEMS - (1 if teams else 0)
    if len(items) > max_items:
        problems.append(
            f"{prefix}.inventory_item_names: at most {max_items} items{' in a game with teams' if teams else ''}"
            f" (got {len(items)})"
        )

    def check_items(key: str, counts: dict[str, Any]) -> None:
        for item in counts:
            if item not in known_items:
                problems.append(f"{key}.{item}: unknown item {item!r} (items: {', '.join(items)})")

    for name in ACTION_ORDER:
        action = getattr(game.actions, name)
        if not action.enabled:
            continue
        check_items(f"{prefix}.actions.{name}.required_resources", action.required_resources)
        check_items(f"{prefix}.actions.{name}.consumed_resources", action.consumed_resources)
        if isinstance(action, AttackActionConfig):
            check_items(f"{prefix}.actions.{name}.defense_resources", action.defense_resources)

    type_ids: dict[int, str] = {}
    for name, obj in game.objects.items():
        check_items(f"{prefix}.objects.{name}.input_resources", obj.input_resources)
        check_items(f"{prefix}.objects.{name}.output_resources", obj.output_resources)
        check_items(f"{prefix}.objects.{name}.required_resources", obj.required_resources)
        if "." in name:
            problems.append(f"{prefix}.objects.{name}: object names may not contain '.' (it marks an owner)")
        if obj.type_id in type_ids:
            problems.append(
                f"{prefix}.objects.{name}.type_id: {obj.type_id} is already used by {type_ids[obj.type_id]!r}"
            )
        type_ids[obj.type_id] = name
        if name.startswith("agent") or name == "empty":
            problems.append(f"{prefix}.objects.{name}: {name!r} is a reserved cell name")

    group_ids: dict[int, str] = {}
    alignable = [name for name, obj in game.objects.items() if obj.alignable]
    stat_names = agent_stat_names(items, enabled_actions(game.actions), alignable)
    agents = [("agent", game.agent)]
    for name, group in game.groups.items():
        if group.id in group_ids:
            problems.append(f"{prefix}.groups.{name}.id: {group.id} is already used by group {group_ids[group.id]!r}")
        group_ids[group.id] = name
        if teams and group.id < 1:
            problems.append(f"{prefix}.groups.{name}.id: must be >= 1 in a game with teams (the observed 'aligned' value)")
        if teams and group.id > 255:
            problems.append(f"{prefix}.groups.{name}.id: must be <= 255 in a game with teams (the observed 'aligned' value)")
        try:
            agents.append((f"groups.{name}.props", resolved_agent(game, group)))
        except ValidationError as error:
            problems.append(describe_validation_error(error, prefix=f"{prefix}.groups.{name}.props"))

    for where, agent in agents:
        key = f"{prefix}.{where}"
        check_items(f"{key}.resource_limits", agent.resource_limits)
        check_items(f"{key}.initial_inventory", agent.initial_inventory)
        values, caps = _split_reward_keys(agent.rewards.inventory)
        check_items(f"{key}.rewards.inventory", {**values, **caps})
        values, caps = _split_reward_keys(agent.rewards.stats)
        for stat in {**values, **caps}:
            if stat not in stat_names:
                problems.append(f"{key}.rewards.stats.{stat}: unknown stat {stat!r}")
            elif stat == "reward":  # the core refuses it too (params.cpp)
                problems.append(f"{key}.rewards.stats.reward: the reward stat cannot be rewarded "
                                "(each step's reward would feed the next and grow without bound)")
    return problems


# ----------------------------------------------------------------------------------------------
# Compilation into the C++ params (docs/mettagrid.md, section 9)


def _item_pairs(items: list[str], counts: dict[str, int]) -> list[list[int]]:
    return [[items.index(item), int(amount)] for item, amount in counts.items() if amount > 0]


def _compile_group(game: GameConfig, name: str, group: GroupConfig) -> dict[str, Any]:
    items = game.inventory_item_names
    agent = resolved_agent(game, group)
    inventory_values, inventory_caps = _split_reward_keys(agent.rewards.inventory)
    stat_values, stat_caps = _split_reward_keys(agent.rewards.stats)
    return {
        "id": group.id,
        "name": name,
        "group_reward_pct": float(group.group_reward_pct),
        "freeze_duration": agent.freeze_duration,
        "resource_limits": [agent.resource_limits.get(item, agent.default_resource_limit) for item in items],
        "initial_inventory": [agent.initial_inventory.get(item, 0) for item in items],
        "inventory_rewards": [float(inventory_values.get(item, 0.0)) for item in items],
        "inventory_reward_max": [float(inventory_caps.get(item, UNLIMITED)) for item in items],
        "stat_rewards": [
            [stat, float(reward), float(stat_caps.get(stat, UNLIMITED))] for stat, reward in stat_values.items()
        ],
        "action_failure_penalty": float(agent.action_failure_penalty),
        "color": agent.color,
    }


def _compile_action(game: GameConfig, name: str) -> dict[str, Any]:
    items = game.inventory_item_names
    action = getattr(game.actions, name)
    max_arg = action.number_of_glyphs - 1 if name == "change_glyph" else _core.ACTION_MAX_ARGS[name]
    compiled = {
        "name": name,
        "max_arg": max_arg,
        "priority": ACTION_PRIORITY.get(name, 0),
        "required": _item_pairs(items, action.required_resources),
        "consumed": _item_pairs(items, action.consumed_resources),
        # Only the attack reads these two; every action carries them so the core reads every key.
        "defense": _item_pairs(items, action.defense_resources) if isinstance(action, AttackActionConfig) else [],
        "steal": isinstance(action, AttackActionConfig) and action.steal,
    }
    return compiled


def compile_params(config: EnvConfig) -> dict[str, Any]:
    """Flatten a validated EnvConfig into the params dict of `mettagrid._core.VecEnv`."""
    game = config.game
    items = game.inventory_item_names
    object_types = []
    for name, obj in game.objects.items():
        entry: dict[str, Any] = {"name": name, "type_id": obj.type_id, "kind": obj.kind, "color": obj.color}
        if obj.kind == "converter":
            entry.update(
                input=_item_pairs(items, obj.input_resources),
                output=_item_pairs(items, obj.output_resources),
                max_output=obj.max_output,
                max_conversions=obj.max_conversions,
                conversion_ticks=obj.conversion_ticks,
                cooldown=obj.cooldown,
                initial_resource_count=obj.initial_resource_count,
                alignable=obj.alignable,
                team_only=obj.team_only,
                use_required=_item_pairs(items, obj.required_resources),
            )
        object_types.append(entry)
    return {
        "num_agents": game.num_agents,
        "obs_width": game.obs_width,
        "obs_height": game.obs_height,
        "num_observation_tokens": game.num_observation_tokens,
        "max_steps": game.max_steps,
        "terminate_at_max_steps": game.episode_end == "terminate",
        "desync_episodes": config.desync_episodes,
        "item_names": list(items),
        "actions": [_compile_action(game, name) for name in enabled_actions(game.actions)],
        "color_step": game.color_step,
        "object_types": object_types,
        "groups": [_compile_group(game, name, group) for name, group in game.groups.items()],
    }
