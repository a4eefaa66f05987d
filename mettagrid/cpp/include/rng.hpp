// Per-env random numbers: xoshiro256** seeded through splitmix64 (docs section 8).
// There is no global or static RNG anywhere in the core.
#pragma once

#include <cstdint>

namespace mettagrid {

// One splitmix64 step: advances `state` and returns the next output.
inline uint64_t splitmix64_next(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Seed of env `env_index`, episode `episode`, of a vector seeded with `seed`: mix(s, i, k).
inline uint64_t mix_seed(uint64_t seed, uint64_t env_index, uint64_t episode) {
  uint64_t s = seed;
  uint64_t h = splitmix64_next(s);
  s = h ^ env_index;
  h = splitmix64_next(s);
  s = h ^ episode;
  return splitmix64_next(s);
}

class Rng {
 public:
  void seed(uint64_t x) {
    for (auto& w : s_) w = splitmix64_next(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection).
  uint32_t below(uint32_t n) {
    uint64_t m = (next() >> 32) * static_cast<uint64_t>(n);
    uint32_t low = static_cast<uint32_t>(m);
    if (low < n) {
      const uint32_t threshold = static_cast<uint32_t>(-n) % n;
      while (low < threshold) {
        m = (next() >> 32) * static_cast<uint64_t>(n);
        low = static_cast<uint32_t>(m);
      }
    }
    return static_cast<uint32_t>(m >> 32);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4] = {1, 2, 3, 4};
};

}  // namespace mettagrid
