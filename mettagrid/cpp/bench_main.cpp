// Standalone benchmark of the MettaGrid core (no Python): an arena-like map with 24 agents,
// random actions, 11x11 observations. Prints steps/s and agent-steps/s.
//
//   usage: mettagrid_bench [steps=100000] [num_envs=1] [num_threads=1] [tokens=200] [obs_size=11]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "arena_game.hpp"
#include "rng.hpp"
#include "vec_env.hpp"

using namespace mettagrid;
using namespace mettagrid::arena;

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
