"""A scripted arena player: mine, convert, deliver, the shortest way to hearts.

The arena's chain (docs/mettagrid.md): mines give ore, generators turn ore into batteries,
altars turn batteries into hearts. The chain is read from the env's own recipes, walking back
from `heart`: the buildings whose outputs lead to a heart are the only ones this player uses,
it takes only items on the chain, and it puts items into a building only once it holds the
building's whole recipe (so it never feeds an armory or strands one battery in an altar).

Movement is the shortest-path navigation of NearestBuildingPolicy (full-map view through
`grid_objects`), so this is a reference ceiling for learning benchmarks, not a fair opponent.
"""

from __future__ import annotations

from mettagrid.scripted_navigator import NearestBuildingPolicy
from mettagrid.vec_env import MettaGridVecEnv

GOAL = "heart"


def chain_buildings(recipes: dict[str, dict], item_names: list[str], goal: str = GOAL) -> dict[str, set[str]]:
    """Building type name -> the chain items it outputs, for every building whose output leads
    (through other recipes) to `goal`; {} when no recipe makes `goal`. Recipes that consume the
    goal are left out."""
    wanted, chain = {goal}, {}
    changed = True
    while changed:
        changed = False
        for name, recipe in recipes.items():
            if any(item_names[item] == goal for item, _ in recipe["input"]):
                continue  # spends the goal to make it (a temple): no net gain
            outputs = {item_names[item] for item, _ in recipe["output"]} & wanted
            if outputs and chain.get(name) != outputs:
                chain[name] = outputs
                wanted |= {item_names[item] for item, _ in recipe["input"]}
                changed = True
    return chain


class ArenaPolicy(NearestBuildingPolicy):
    def __init__(self, env: MettaGridVecEnv, seed: int = 0):
        super().__init__(env, seed)
        self.chain = chain_buildings(self.recipes, self.items)

    def _useful(self, agent: dict, building: dict) -> str | None:
        name = building["type_name"]
        makes = self.chain.get(name)
        if not makes:
            return None
        inventory = agent["inventory"]
        limits = self.limits.get(agent["group"])
        for item, count in building["output"].items():
            room = (limits[self.items.index(item)] if limits else 255) - inventory.get(item, 0)
            if item in makes and count > 0 and room > 0 and "get_items" in self.ids:
                return "get"
        recipe = self.recipes[name]
        if recipe["input"] and "put_items" in self.ids and \
                all(inventory.get(self.items[item], 0) >= amount for item, amount in recipe["input"]):
            return "put"
        return None
