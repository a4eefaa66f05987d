// Native determinism test of the MettaGrid core (no Python): builds the arena test game
// (arena_game.hpp), runs seeded random actions and hashes every step's observations and
// rewards/dones. The same seed must give the same hashes (also on 2 threads); another seed
// must give different ones. Exit status 0 when all hold.
//
//   usage: mettagrid_determinism [steps=300] [seed=42]
//   build: devops/bench/native_determinism.sh (or the CMake target mettagrid_determinism)
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "arena_game.hpp"
#include "rng.hpp"
#include "vec_env.hpp"

using namespace mettagrid;

namespace {

constexpr int kAgents = 24, kHeight = 25, kWidth = 25, kEnvs = 3;

// FNV-1a over raw bytes.
void fnv1a(uint64_t& h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ULL;
}

struct Hashes {
  uint64_t obs = 0xCBF29CE484222325ULL, rewards = 0xCBF29CE484222325ULL;
  size_t episodes = 0;
  bool operator==(const Hashes& o) const { return obs == o.obs && rewards == o.rewards && episodes == o.episodes; }
};

// `steps` steps of kEnvs envs with short desynced episodes (auto-resets inside the run); the
// env seed, the maps and the actions all follow `seed`.
Hashes rollout(uint64_t seed, int steps, int threads) {
  GameParams params = arena::arena_params(kAgents, 200, 11);
  params.max_steps = 64;
  params.desync_episodes = true;
  VecEnv env(params, kEnvs, seed, threads);
  const GameParams& p = env.params();
  for (int e = 0; e < kEnvs; ++e) {
    const auto cells = arena::arena_map(kHeight, kWidth, kAgents, seed * 31 + e);
    env.set_map(e, make_map(p, kHeight, kWidth, cells.data()));
  }
  const size_t n = static_cast<size_t>(kEnvs) * kAgents;
  std::vector<uint8_t> obs(n * p.num_observation_tokens * 3), terminals(n), truncations(n);
  std::vector<float> rewards(n);
  std::vector<int32_t> actions(2 * n);
  env.set_buffers(obs.data(), actions.data(), rewards.data(), terminals.data(), truncations.data());
  env.reset();
  Rng rng;
  rng.seed(seed ^ 0x5EEDULL);
  Hashes h;
  fnv1a(h.obs, obs.data(), obs.size());
  for (int s = 0; s < steps; ++s) {
    for (size_t i = 0; i < n; ++i) {
      const int id = static_cast<int>(rng.below(static_cast<uint32_t>(p.actions.size())));
      actions[2 * i] = id;
      actions[2 * i + 1] = static_cast<int32_t>(rng.below(static_cast<uint32_t>(p.actions[id].max_arg + 1)));
    }
    env.step();
    fnv1a(h.obs, obs.data(), obs.size());
    fnv1a(h.rewards, rewards.data(), rewards.size() * sizeof(float));
    fnv1a(h.rewards, terminals.data(), terminals.size());
    fnv1a(h.rewards, truncations.data(), truncations.size());
  }
  for (const EpisodeResult& r : env.take_episode_results()) {
    fnv1a(h.rewards, r.episode_rewards.data(), r.episode_rewards.size() * sizeof(float));
    fnv1a(h.rewards, r.agent_stats.data(), r.agent_stats.size() * sizeof(double));
    ++h.episodes;
  }
  return h;
}

bool check(const char* what, bool ok) {
  std::printf("%-38s %s\n", what, ok ? "ok" : "FAILED");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 42;
  const Hashes a = rollout(seed, steps, 1), b = rollout(seed, steps, 1), c = rollout(seed, steps, 2);
  const Hashes d = rollout(seed + 1, steps, 1);
  std::printf("seed %" PRIu64 ": obs %016" PRIx64 " rewards %016" PRIx64 " episodes %zu (%d steps x %d envs)\n", seed,
              a.obs, a.rewards, a.episodes, steps, kEnvs);
  std::printf("seed %" PRIu64 ": obs %016" PRIx64 " rewards %016" PRIx64 " episodes %zu\n", seed + 1, d.obs, d.rewards,
              d.episodes);
  bool ok = check("same seed, twice: equal", a == b);
  ok &= check("same seed, 2 threads: equal", a == c);
  ok &= check("another seed: obs and rewards differ", a.obs != d.obs && a.rewards != d.rewards);
  ok &= check("episodes finished inside the run", a.episodes > 0);
  return ok ? 0 : 1;
}
