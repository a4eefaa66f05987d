// A vector of GridEnvs stepped together, optionally on a small persistent thread pool.
//
// * Buffers (set_buffers) are borrowed: the caller keeps them alive (the Python binding
//   holds references to the numpy arrays). Layout, E envs x A agents x T tokens:
//   obs (E*A, T, 3) uint8, actions (E*A, 2) int32, rewards (E*A,) float32,
//   terminals/truncations (E*A,) bytes 0/1. Env e owns rows [e*A, (e+1)*A).
// * Thread t of n steps the contiguous env slice [t*E/n, (t+1)*E/n). Each env owns its RNG,
//   so the results are bit-identical for any thread count. num_threads == 1 creates no thread.
// * Episode results are kept per env during a step and appended to the shared queue in env
//   order afterwards (no lock on the hot path, deterministic order).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "grid_env.hpp"
#include "params.hpp"
#include "snapshot.hpp"

namespace mettagrid {

// Runs fn(t) for t in [0, workers] with t = 0 on the calling thread; blocks until all return.
// Workers and the caller spin briefly (a step takes tens of microseconds) before sleeping on
// a condition variable, so back-to-back steps do not pay for a futex wake-up each time.
class ThreadPool {
 public:
  explicit ThreadPool(int workers);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  void run(const std::function<void(int)>& fn);
  int size() const { return static_cast<int>(threads_.size()) + 1; }

 private:
  void worker(int tid);
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int)>* fn_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

class VecEnv {
 public:
  VecEnv(GameParams params, int num_envs, uint64_t seed, int num_threads);

  const GameParams& params() const { return *params_; }
  int num_envs() const { return static_cast<int>(envs_.size()); }
  GridEnv& env(int i) { return *envs_.at(static_cast<size_t>(i)); }
  // Throws std::out_of_range (IndexError in Python) unless 0 <= env_index < num_envs.
  void check_index(int env_index) const;
  // Inspection of one env (throws std::runtime_error before its first reset).
  Snapshot snapshot(int env_index) const;
  // (height, width) of env 0's current map (its pending map before the first reset; 0 without one).
  std::pair<int, int> map_size() const;

  void set_map(int env_index, std::shared_ptr<const MapData> map);
  void set_buffers(uint8_t* obs, const int32_t* actions, float* rewards, uint8_t* terminals, uint8_t* truncations);
  bool has_buffers() const { return obs_ != nullptr; }
  // Throws std::runtime_error if buffers or a map are missing (checked before any work).
  void check_ready() const;
  void reset();
  // Starts the next episode of one env and writes its observations (its rows of the
  // buffers); the others are untouched. An episode in progress is dropped (no result).
  void reset_env(int env_index);
  void step();
  std::vector<EpisodeResult> take_episode_results();

 private:
  StepBuffers slice(int e) const;
  void for_each_env(const std::function<void(GridEnv&, const StepBuffers&)>& fn);
  void collect_results();

  std::unique_ptr<const GameParams> params_;
  std::vector<std::unique_ptr<GridEnv>> envs_;
  std::unique_ptr<ThreadPool> pool_;
  uint8_t* obs_ = nullptr;
  const int32_t* actions_ = nullptr;
  float* rewards_ = nullptr;
  uint8_t* terminals_ = nullptr;
  uint8_t* truncations_ = nullptr;
  std::vector<EpisodeResult> results_;
};

}  // namespace mettagrid
