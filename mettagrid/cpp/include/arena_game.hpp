// A default test game built in C++ (no Python): an arena-like game with walls, blocks, mines,
// generators and altars, and a random map for it. Used by the standalone benchmark
// (bench_main.cpp) and the native determinism test (tests/determinism.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "params.hpp"
#include "rng.hpp"

namespace mettagrid {
namespace arena {

enum Item { kOre, kBattery, kHeart, kArmor, kLaser, kNumItems };

// Items, 8 actions (attack at priority 1, costs a laser, armor defends), 5 object types
// (cell codes 1 wall, 2 block, 3 mine_red, 4 generator_red, 5 altar), one group; max_steps 1000.
inline GameParams arena_params(int num_agents, int tokens, int obs_size) {
  GameParams p;
  p.num_agents = num_agents;
  p.obs_width = p.obs_height = obs_size;
  p.num_observation_tokens = tokens;
  p.max_steps = 1000;
  p.item_names = {"ore_red", "battery_red", "heart", "armor", "laser"};
  auto action = [&](const char* name, ActionKind kind, int max_arg, int priority = 0) {
    ActionParams a;
    a.name = name;
    a.kind = kind;
    a.max_arg = max_arg;
    a.priority = priority;
    return a;
  };
  p.actions = {action("noop", ActionKind::Noop, 0),       action("move", ActionKind::Move, 1),
               action("rotate", ActionKind::Rotate, 3),    action("put_items", ActionKind::PutItems, 0),
               action("get_items", ActionKind::GetItems, 0), action("attack", ActionKind::Attack, 8, 1),
               action("swap", ActionKind::Swap, 0),        action("change_color", ActionKind::ChangeColor, 3)};
  p.actions[5].consumed = {{kLaser, 1}};
  p.actions[5].defense = {{kArmor, 1}};

  ObjectTypeParams wall;
  wall.name = "wall";
  wall.type_id = 1;
  ObjectTypeParams block = wall;
  block.name = "block";
  block.type_id = 2;
  block.kind = ObjectKind::Block;
  auto conv = [](const char* name, int type_id, std::vector<ItemAmount> in, std::vector<ItemAmount> out, int cooldown) {
    ObjectTypeParams t;
    t.name = name;
    t.type_id = type_id;
    t.kind = ObjectKind::Converter;
    t.input = std::move(in);
    t.output = std::move(out);
    t.max_output = 5;
    t.conversion_ticks = 1;
    t.cooldown = cooldown;
    return t;
  };
  p.object_types = {wall, block, conv("mine_red", 3, {}, {{kOre, 1}}, 50),
                    conv("generator_red", 4, {{kOre, 1}}, {{kBattery, 1}}, 25),
                    conv("altar", 5, {{kBattery, 3}}, {{kHeart, 1}}, 10)};
  GroupParams g;
  g.name = "agent";
  g.resource_limits.assign(kNumItems, 50);
  g.initial_inventory.assign(kNumItems, 0);
  g.initial_inventory[kLaser] = 2;
  g.inventory_rewards.assign(kNumItems, 0.0f);
  g.inventory_rewards[kHeart] = 1.0f;
  g.inventory_reward_max.assign(kNumItems, 1e30f);
  p.groups = {g};
  return p;
}

// An h x w map with a wall border, 80 walls, 20 blocks, 12 mines, 8 generators, 4 altars and
// `agents` agents of group 0 at random cells drawn with `seed`.
inline std::vector<int32_t> arena_map(int h, int w, int agents, uint64_t seed) {
  std::vector<int32_t> m(static_cast<size_t>(h) * w, 0);
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c)
      if (r == 0 || c == 0 || r == h - 1 || c == w - 1) m[r * w + c] = 1;
  Rng rng;
  rng.seed(seed);
  auto place = [&](int code, int count) {
    while (count > 0) {
      const int r = 1 + rng.below(h - 2), c = 1 + rng.below(w - 2);
      if (m[r * w + c] != 0) continue;
      m[r * w + c] = code;
      --count;
    }
  };
  place(1, 80);  // walls
  place(2, 20);  // blocks
  place(3, 12);  // mines
  place(4, 8);   // generators
  place(5, 4);   // altars
  place(-1, agents);
  return m;
}

}  // namespace arena
}  // namespace mettagrid
