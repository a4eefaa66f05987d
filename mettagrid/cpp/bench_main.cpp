// Standalone benchmark of the MettaGrid core (no Python): an arena-like map with 24 agents,
// random actions, 11x11 observations. Prints steps/s and agent-steps/s.
//
//   usage: mettagrid_bench [steps=100000] [num_envs=1] [num_threads=1] [tokens=200] [obs_size=11]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rng.hpp"
#include "vec_env.hpp"

using namespace mettagrid;

namespace {

enum Item { kOre, kBattery, kHeart, kArmor, kLaser, kNumItems };

GameParams arena_params(int num_agents, int tokens, int obs_size) {
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

std::vector<int32_t> arena_map(int h, int w, int agents, uint64_t seed) {
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

}  // namespace

int main(int argc, char** argv) {
  const long steps = argc > 1 ? std::atol(argv[1]) : 100000;
  const int num_envs = argc > 2 ? std::atoi(argv[2]) : 1;
  const int num_threads = argc > 3 ? std::atoi(argv[3]) : 1;
  const int tokens = argc > 4 ? std::atoi(argv[4]) : 200;
  const int obs_size = argc > 5 ? std::atoi(argv[5]) : 11;
  const int A = 24, H = 37, W = 37;

  VecEnv env(arena_params(A, tokens, obs_size), num_envs, 42, num_threads);
  const GameParams& p = env.params();
  for (int e = 0; e < num_envs; ++e) {
    auto cells = arena_map(H, W, A, 1000 + e);
    env.set_map(e, make_map(p, H, W, cells.data()));
  }
  const size_t n = static_cast<size_t>(num_envs) * A;
  std::vector<uint8_t> obs(n * p.num_observation_tokens * 3);
  std::vector<float> rewards(n);
  std::vector<uint8_t> terminals(n), truncations(n);

  // A table of random (valid) actions, cycled through.
  const int table_steps = 1024;
  std::vector<int32_t> table(static_cast<size_t>(table_steps) * n * 2);
  Rng rng;
  rng.seed(7);
  for (size_t i = 0; i < table.size() / 2; ++i) {
    const int id = rng.below(static_cast<uint32_t>(p.actions.size()));
    table[2 * i] = id;
    table[2 * i + 1] = rng.below(static_cast<uint32_t>(p.actions[id].max_arg + 1));
  }
  env.set_buffers(obs.data(), table.data(), rewards.data(), terminals.data(), truncations.data());
  env.reset();

  double checksum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (long s = 0; s < steps; ++s) {
    env.set_buffers(obs.data(), table.data() + (s % table_steps) * n * 2, rewards.data(), terminals.data(),
                    truncations.data());
    env.step();
    checksum += rewards[0] + obs[(s % n) * p.num_observation_tokens * 3 + 5];
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double sec = std::chrono::duration<double>(t1 - t0).count();
  const auto results = env.take_episode_results();
  std::printf("envs=%d threads=%d agents/env=%d map=%dx%d obs=%dx%d tokens=%d\n", num_envs, num_threads, A, H, W,
              obs_size, obs_size, p.num_observation_tokens);
  std::printf("%ld steps in %.3f s: %.0f env-steps/s, %.0f agent-steps/s (episodes %zu, checksum %.1f)\n", steps, sec,
              steps * num_envs / sec, steps * static_cast<double>(n) / sec, results.size(), checksum);
  return 0;
}
