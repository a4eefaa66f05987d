// VecEnv and its thread pool.
#include "vec_env.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mettagrid {

namespace {

// One spin-wait iteration; every 64th gives the core away so that an oversubscribed
// machine still makes progress.
inline void cpu_relax(int i) {
  if ((i & 63) == 63) {
    std::this_thread::yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

constexpr int kSpinIterations = 20000;  // roughly tens of microseconds

}  // namespace

ThreadPool::ThreadPool(int workers) {
  for (int t = 1; t <= workers; ++t) threads_.emplace_back(&ThreadPool::worker, this, t);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  start_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::worker(int tid) {
  uint64_t seen = 0;
  for (;;) {
    bool ready = false;
    for (int i = 0; i < kSpinIterations; ++i) {
      if (generation_.load(std::memory_order_acquire) != seen || stop_.load(std::memory_order_acquire)) {
        ready = true;
        break;
      }
      cpu_relax(i);
    }
    if (!ready) {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    (*fn_)(tid);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

void ThreadPool::run(const std::function<void(int)>& fn) {
  if (threads_.empty()) {
    fn(0);
    return;
  }
  fn_ = &fn;
  pending_.store(static_cast<int>(threads_.size()), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  start_cv_.notify_all();
  fn(0);
  for (int i = 0; i < kSpinIterations; ++i) {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    cpu_relax(i);
  }
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return pending_.load() == 0; });
}

VecEnv::VecEnv(GameParams params, int num_envs, uint64_t seed, int num_threads) {
  if (num_envs < 1 || num_envs > kMaxNumEnvs)
    throw std::invalid_argument("num_envs: must be in [1, " + std::to_string(kMaxNumEnvs) + "], got " + std::to_string(num_envs));
  if (num_threads < 1 || num_threads > kMaxThreads)
    throw std::invalid_argument("num_threads: must be in [1, " + std::to_string(kMaxThreads) + "], got " +
                                std::to_string(num_threads));
  finalize_params(params);
  params_ = std::make_unique<const GameParams>(std::move(params));
  for (int e = 0; e < num_envs; ++e) envs_.push_back(std::make_unique<GridEnv>(params_.get(), e, seed));
  const int threads = std::min(num_threads, num_envs);
  pool_ = std::make_unique<ThreadPool>(threads - 1);
}

void VecEnv::check_index(int env_index) const {
  if (env_index < 0 || env_index >= num_envs())
    throw std::out_of_range("env_index " + std::to_string(env_index) + " out of range [0, " +
                            std::to_string(num_envs()) + ")");
}

Snapshot VecEnv::snapshot(int env_index) const {
  check_index(env_index);
  return take_snapshot(*envs_[env_index]);
}

std::pair<int, int> VecEnv::map_size() const {
  const GridEnv& e = *envs_[0];
  if (e.started()) return {e.state().height, e.state().width};
  if (e.next_map()) return {e.next_map()->height, e.next_map()->width};
  return {0, 0};
}

void VecEnv::set_map(int env_index, std::shared_ptr<const MapData> map) {
  check_index(env_index);
  envs_[env_index]->set_map(std::move(map));
}

void VecEnv::set_buffers(uint8_t* obs, const int32_t* actions, float* rewards, uint8_t* terminals,
                         uint8_t* truncations) {
  obs_ = obs;
  actions_ = actions;
  rewards_ = rewards;
  terminals_ = terminals;
  truncations_ = truncations;
}

void VecEnv::check_ready() const {
  if (!has_buffers()) throw std::runtime_error("set_buffers must be called before reset/step");
  for (const auto& e : envs_)
    if (!e->has_map())
      throw std::runtime_error("env " + std::to_string(e->env_index()) + " has no map; call set_map first");
}

StepBuffers VecEnv::slice(int e) const {
  const GameParams& p = *params_;
  const size_t a0 = static_cast<size_t>(e) * p.num_agents;
  StepBuffers b;
  b.obs = obs_ + a0 * p.num_observation_tokens * 3;
  b.actions = actions_ + a0 * 2;
  b.rewards = rewards_ + a0;
  b.terminals = terminals_ + a0;
  b.truncations = truncations_ + a0;
  return b;
}

void VecEnv::for_each_env(const std::function<void(GridEnv&, const StepBuffers&)>& fn) {
  const int n = pool_->size();
  const int E = num_envs();
  pool_->run([&](int t) {
    const int begin = static_cast<int>(static_cast<int64_t>(E) * t / n);
    const int end = static_cast<int>(static_cast<int64_t>(E) * (t + 1) / n);
    for (int e = begin; e < end; ++e) fn(*envs_[e], slice(e));
  });
}

void VecEnv::reset() {
  check_ready();
  for_each_env([](GridEnv& env, const StepBuffers& b) { env.reset(b); });
  for (auto& e : envs_) e->finished().clear();
}

void VecEnv::reset_env(int env_index) {
  check_index(env_index);
  check_ready();
  envs_[env_index]->reset(slice(env_index));
}

void VecEnv::step() {
  check_ready();
  for (const auto& e : envs_)
    if (!e->started()) throw std::runtime_error("reset must be called before step");
  for_each_env([](GridEnv& env, const StepBuffers& b) { env.step(b); });
  collect_results();
}

void VecEnv::collect_results() {
  for (auto& e : envs_) {
    auto& f = e->finished();
    if (f.empty()) continue;
    for (auto& r : f) results_.push_back(std::move(r));
    f.clear();
  }
}

std::vector<EpisodeResult> VecEnv::take_episode_results() {
  std::vector<EpisodeResult> out;
  out.swap(results_);
  return out;
}

}  // namespace mettagrid
