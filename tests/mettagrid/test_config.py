"""Config composition and validation: every shipped env composes; bad input is one clear line."""

import pytest

from mettagrid.config import ACTION_ORDER, compile_params, load_env_config
from mettagrid.env_configs import compose_env_config, list_env_names
from mettagrid.errors import ConfigError

REQUIRED_ENVS = {
    "mettagrid/arena/basic",
    "mettagrid/arena/basic_easy_shaped",
    "mettagrid/arena/combat",
    "mettagrid/arena/advanced",
    "mettagrid/navigation",
    "mettagrid/memory",
    "mettagrid/object_use",
}


def test_required_envs_are_shipped_with_navigation_evals():
    names = set(list_env_names())
    assert REQUIRED_ENVS <= names
    assert len([name for name in names if name.startswith("mettagrid/navigation/evals/")]) >= 3


@pytest.mark.parametrize("name", list_env_names())
def test_every_env_composes_validates_and_compiles(name):
    config = compose_env_config(name)
    params = compile_params(config)
    assert params["num_agents"] == config.game.num_agents
    names = [action["name"] for action in params["actions"]]
    assert names == [action for action in ACTION_ORDER if action in names]
    # Fixed type ids: the same object has the same id in every env.
    assert {o["name"]: o["type_id"] for o in params["object_types"]}["wall"] == 1


def test_type_ids_agree_across_envs():
    seen: dict[str, int] = {}
    for name in list_env_names():
        for obj, cfg in compose_env_config(name).game.objects.items():
            assert seen.setdefault(obj, cfg.type_id) == cfg.type_id, (name, obj)


def refusal(name: str, overrides: list[str]) -> str:
    with pytest.raises(ConfigError) as caught:
        compose_env_config(name, overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_unknown_key_is_refused_naming_the_key():
    message = refusal("mettagrid/arena/basic", ["+game.max_stepz=10"])
    assert "env.game.max_stepz: unknown key" in message
    assert "configs/env/mettagrid/arena/basic.yaml" in message


def test_negative_size_is_refused_naming_key_and_value():
    message = refusal("mettagrid/arena/basic", ["game.map_builder.instance.width=-5"])
    assert "env.game.map_builder.instance.width" in message and "-5" in message


def test_map_with_fewer_agents_than_num_agents_is_refused():
    message = refusal("mettagrid/arena/basic", ["game.num_agents=30"])
    assert "24 agent cells" in message and "num_agents is 30" in message


def test_action_consuming_unknown_item_is_refused():
    message = refusal("mettagrid/arena/combat", ["+game.actions.attack.consumed_resources.lazer=1"])
    assert "env.game.actions.attack.consumed_resources.lazer" in message and "'lazer'" in message


def test_converter_with_unknown_item_is_refused():
    message = refusal("mettagrid/arena/basic", ["+game.objects.altar.input_resources.gold=2"])
    assert "env.game.objects.altar.input_resources.gold" in message


def test_bad_ascii_character_is_refused_naming_file_line_and_column(tmp_path):
    bad = tmp_path / "bad.map"
    bad.write_text("#####\n#@.Z#\n#####\n")
    message = refusal(
        "mettagrid/navigation/evals/emptyspace", [f"game.map_builder.uri={bad}"]
    )
    assert f"{bad}:2:4" in message and "'Z'" in message


def test_missing_map_file_is_refused():
    message = refusal("mettagrid/navigation/evals/emptyspace", ["game.map_builder.uri=nowhere/x.map"])
    assert "nowhere/x.map" in message


def test_even_observation_window_is_refused():
    message = refusal("mettagrid/navigation", ["game.obs_width=10"])
    assert "env.game.obs_width" in message and "10" in message


def test_wrong_type_is_refused():
    message = refusal("mettagrid/navigation", ["game.max_steps=abc"])
    assert "env.game.max_steps" in message and "'abc'" in message


def test_missing_key_is_refused_naming_the_key():
    config = compose_env_config("mettagrid/navigation").model_dump()
    del config["game"]["num_agents"]
    with pytest.raises(ConfigError, match=r"env\.game\.num_agents") as caught:
        load_env_config(config)
    assert "\n" not in str(caught.value)


def test_ill_typed_object_field_is_refused():
    message = refusal("mettagrid/arena/basic", ["game.objects.mine_red.cooldown=soon"])
    assert "env.game.objects.mine_red.cooldown" in message and "'soon'" in message


def test_unknown_action_is_refused():
    message = refusal("mettagrid/arena/basic", ["+game.actions.dance.enabled=true"])
    assert "env.game.actions.dance: unknown key" in message


def test_more_items_than_feature_ids_is_refused():
    # Checked by the core as well; the schema names the key first (feature ids are one byte).
    config = compose_env_config("mettagrid/navigation").model_dump()
    config["game"]["inventory_item_names"] += [f"item{i}" for i in range(250)]
    with pytest.raises(ConfigError) as caught:
        load_env_config(config, check_map=False)
    assert str(caught.value) == (
        f"env.game.inventory_item_names: at most 243 items (got {len(config['game']['inventory_item_names'])})"
    )


def test_group_id_beyond_one_byte_in_a_team_game_is_refused():
    # In a game with teams the group id is observed as the "aligned" feature value (one byte).
    config = compose_env_config("mettagrid/navigation").model_dump()
    config["game"]["objects"]["altar"]["alignable"] = True
    config["game"]["groups"]["agent"]["id"] = 300
    with pytest.raises(ConfigError) as caught:
        load_env_config(config, check_map=False)
    assert str(caught.value) == (
        "env.game.groups.agent.id: must be <= 255 in a game with teams (the observed 'aligned' value)"
    )


def test_action_order_is_the_cores():
    from mettagrid import _core
    from mettagrid.config import ActionsConfig

    assert ACTION_ORDER == _core.ACTION_NAMES == tuple(ActionsConfig.model_fields)


def test_unknown_env_name_lists_known_envs():
    with pytest.raises(ConfigError, match="no such env config"):
        compose_env_config("mettagrid/nope")


def test_unknown_reward_stat_and_group_overrides_are_refused():
    config = compose_env_config("mettagrid/navigation").model_dump()
    config["game"]["agent"]["rewards"]["stats"] = {"action.mvoe.success": 0.1}
    with pytest.raises(ConfigError, match="rewards.stats.action.mvoe.success"):
        load_env_config(config)
    config = compose_env_config("mettagrid/navigation").model_dump()
    config["game"]["groups"]["agent"]["props"] = {"freeze_duration": -1}
    with pytest.raises(ConfigError, match="groups.agent.props.freeze_duration"):
        load_env_config(config)


def test_group_props_override_agent_props_in_compiled_params():
    config = compose_env_config("mettagrid/navigation").model_dump()
    config["game"]["groups"]["agent"]["props"] = {"freeze_duration": 3, "rewards": {"inventory": {"ore_red": 0.5}}}
    params = compile_params(load_env_config(config))
    group = params["groups"][0]
    items = params["item_names"]
    assert group["freeze_duration"] == 3
    assert group["inventory_rewards"][items.index("ore_red")] == 0.5
    assert group["inventory_rewards"][items.index("heart")] == 1.0  # kept from game.agent


def test_navigation_altar_is_free_and_refills():
    """A regression guard: layering YAML over the standard altar kept its battery recipe."""
    params = compile_params(compose_env_config("mettagrid/navigation"))
    altar = next(t for t in params["object_types"] if t["name"] == "altar")
    assert altar["input"] == []
    assert altar["initial_resource_count"] == 1 and altar["conversion_ticks"] == 100
