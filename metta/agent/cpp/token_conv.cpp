// The `fast` encoder's first convolution, computed from observation tokens on the CPU
// (`metta.agent._token_conv`; the Python side is metta/agent/policies/fast.py).
//
// A token (location byte, feature id, value) says "box[feature, row, col] += value". The conv
// (kernel 5, stride 3) is linear in the box, so each token adds value x one kernel tap to each of
// the (at most four) output positions whose window covers its cell. The geometry arrives as
// per-cell tables: `cell_position[cell, p]` and `cell_tap[cell, p]` (tap -1 = pair unused).
//
// Why C++: in torch this took a gather of per-slot rows, a sort of (token, position) pairs for the
// gradient and a dozen small ops; about a quarter of a training epoch on two cores. Here it is one
// pass over the tokens in each direction, with the kernel (features x 25 x channels floats, a few
// hundred KB) staying in cache. The GIL is released; batches are split over `threads` workers
// (see split_batch).
// The kernel's gradient is summed per worker and then added in worker order, so a given thread
// count always gives the same bits.
// A frozen FeatureScale passes `value_cap` (the max per feature id): larger token values count as
// the cap, in both directions, as the torch paths clip them.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

constexpr uint8_t kPad = 0xFF;

// Builds an AVX2+FMA copy of the loops beside the baseline one and picks at load time, so the
// build runs on any x86-64 while machines with AVX2 get 8-wide FMAs. The pick must go by ISA
// level: "arch=haswell" tests the CPU *model*, and took the baseline copy on an AMD EPYC (2.8x
// slower). GCC 12 is the first to clone for x86-64-v3.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) && defined(__linux__)
#define METTA_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define METTA_MULTIVERSION
#endif
// The baseline copy passes 32-byte vectors (Lane below) without AVX, which GCC warns changes the
// ABI; they never cross a call boundary (all inlined), so the warning does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
// Everything a multiversioned function calls must be inlined into it, or that code runs in the
// baseline instruction set whichever version was picked.
#if defined(__GNUC__)
#define METTA_INLINE __attribute__((always_inline))
#else
#define METTA_INLINE
#endif

struct Geometry {
  int64_t num_features, height, width, positions, pairs, channels;
  const int32_t* cell_position;  // (height * width, pairs)
  const int32_t* cell_tap;       // (height * width, pairs), -1 = unused
  const uint8_t* value_cap;      // (256,) per feature id: token values above it count as it; null = none
};

struct Tokens {
  const uint8_t* data;  // (batch, slots, 3)
  int64_t batch, slots;
};

// The cell of a token inside the window, or -1 (padding, unknown feature, outside the window).
METTA_INLINE inline int64_t token_cell(const uint8_t* token, const Geometry& g) {
  const uint8_t location = token[0];
  if (location == kPad || token[1] >= g.num_features) return -1;
  const int64_t row = location >> 4, col = location & 15;
  if (row >= g.height || col >= g.width) return -1;
  return row * g.width + col;
}

// Calls `visit(feature_row + tap, position, value)` for every (token, covered position) pair of
// one agent's tokens.
template <typename Visit>
METTA_INLINE inline void for_each_pair(const uint8_t* token, int64_t slots, const Geometry& g, Visit visit) {
  const int64_t pairs = g.pairs;
  const int32_t* cell_tap = g.cell_tap;
  const int32_t* cell_position = g.cell_position;
  for (int64_t slot = 0; slot < slots; ++slot, token += 3) {
    const int64_t cell = token_cell(token, g);
    const uint8_t raw = token[2];
    const uint8_t capped = g.value_cap != nullptr ? std::min(raw, g.value_cap[token[1]]) : raw;
    if (cell < 0 || capped == 0) continue;
    const float value = static_cast<float>(capped);
    const int32_t feature_row = static_cast<int32_t>(token[1]) * 25;
    for (int64_t p = 0; p < pairs; ++p) {
      const int32_t tap = cell_tap[cell * pairs + p];
      if (tap < 0) break;  // the used pairs come first
      visit(feature_row + tap, cell_position[cell * pairs + p], value);
    }
  }
}

// One agent's (kernel row, value) pairs, grouped by output position. Why group: summing a
// position's pairs in registers and storing once avoids a read-modify-write of the output per
// pair, whose chains through memory (neighbouring tokens hit the same positions) cost 3x.
struct Buckets {
  int64_t capacity;  // a token reaches a position at most once, so `slots` pairs per position fit
  std::vector<int32_t> rows, counts;
  std::vector<float> values;

  Buckets(int64_t positions, int64_t slots)
      : capacity(slots), rows(positions * slots), counts(positions), values(positions * slots) {}

  // One position's pairs: `count` kernel rows and their token values.
  struct Bucket {
    const int32_t* rows;
    const float* values;
    int32_t count;
  };

  METTA_INLINE Bucket at(int64_t position) const {
    return Bucket{rows.data() + position * capacity, values.data() + position * capacity, counts[position]};
  }

  METTA_INLINE void fill(const uint8_t* tokens, int64_t slots, const Geometry& g) {
    std::fill(counts.begin(), counts.end(), 0);
    int32_t* row_of = rows.data();
    float* value_of = values.data();
    int32_t* count = counts.data();
    for_each_pair(tokens, slots, g, [&](int32_t row, int32_t position, float value) METTA_INLINE {
      const int64_t at = position * capacity + count[position]++;
      row_of[at] = row;
      value_of[at] = value;
    });
  }
};

// Eight floats; 64 channels are eight of them, which the compiler keeps in registers.
typedef float Lane __attribute__((vector_size(32)));
constexpr int64_t kLaneWidth = 8, kLanes = 8, kVectorChannels = kLaneWidth * kLanes;

METTA_INLINE inline Lane load_lane(const float* from) {
  Lane lane;
  std::memcpy(&lane, from, sizeof(lane));
  return lane;
}

METTA_INLINE inline void store_lane(float* to, Lane lane) { std::memcpy(to, &lane, sizeof(lane)); }

// out[position] = sum of value x kernel[row] over the position's pairs.
template <bool kVector>
METTA_INLINE inline void sum_position(const Buckets& buckets, int64_t position, const float* kernel,
                                      int64_t channels, float* out) {
  const auto [row, value, count] = buckets.at(position);
  if constexpr (kVector) {
    Lane sum[kLanes] = {};
    for (int32_t i = 0; i < count; ++i) {
      const float* k = kernel + static_cast<int64_t>(row[i]) * kVectorChannels;
#pragma GCC unroll 8
      for (int64_t l = 0; l < kLanes; ++l) sum[l] += value[i] * load_lane(k + l * kLaneWidth);
    }
#pragma GCC unroll 8
    for (int64_t l = 0; l < kLanes; ++l) store_lane(out + l * kLaneWidth, sum[l]);
  } else {
    std::fill(out, out + channels, 0.0f);
    for (int32_t i = 0; i < count; ++i) {
      const float* k = kernel + static_cast<int64_t>(row[i]) * channels;
      for (int64_t c = 0; c < channels; ++c) out[c] += value[i] * k[c];
    }
  }
}

// grad_kernel[row] += value x grad[position] over the position's pairs (rows within one position
// are distinct unless two tokens share a feature and a cell, so these updates do not chain).
template <bool kVector>
METTA_INLINE inline void spread_position(const Buckets& buckets, int64_t position, const float* grad,
                                         int64_t channels, float* grad_kernel) {
  const auto [row, value, count] = buckets.at(position);
  if constexpr (kVector) {
    Lane g[kLanes];
#pragma GCC unroll 8
    for (int64_t l = 0; l < kLanes; ++l) g[l] = load_lane(grad + l * kLaneWidth);
    for (int32_t i = 0; i < count; ++i) {
      float* gk = grad_kernel + static_cast<int64_t>(row[i]) * kVectorChannels;
#pragma GCC unroll 8
      for (int64_t l = 0; l < kLanes; ++l) {
        store_lane(gk + l * kLaneWidth, load_lane(gk + l * kLaneWidth) + value[i] * g[l]);
      }
    }
  } else {
    for (int32_t i = 0; i < count; ++i) {
      float* gk = grad_kernel + static_cast<int64_t>(row[i]) * channels;
      for (int64_t c = 0; c < channels; ++c) gk[c] += value[i] * grad[c];
    }
  }
}

template <bool kVector>
METTA_MULTIVERSION void forward_agents(const Tokens& tokens, const float* kernel, const Geometry& g, float* out,
                                       int64_t first, int64_t last) {
  Buckets buckets(g.positions, tokens.slots);
  for (int64_t agent = first; agent < last; ++agent) {
    buckets.fill(tokens.data + agent * tokens.slots * 3, tokens.slots, g);
    float* agent_out = out + agent * g.positions * g.channels;
    for (int64_t position = 0; position < g.positions; ++position) {
      sum_position<kVector>(buckets, position, kernel, g.channels, agent_out + position * g.channels);
    }
  }
}

template <bool kVector>
METTA_MULTIVERSION void backward_agents(const Tokens& tokens, const float* grad_out, const Geometry& g,
                                        float* grad_kernel, int64_t first, int64_t last) {
  Buckets buckets(g.positions, tokens.slots);
  for (int64_t agent = first; agent < last; ++agent) {
    buckets.fill(tokens.data + agent * tokens.slots * 3, tokens.slots, g);
    const float* agent_grad = grad_out + agent * g.positions * g.channels;
    for (int64_t position = 0; position < g.positions; ++position) {
      spread_position<kVector>(buckets, position, agent_grad + position * g.channels, g.channels, grad_kernel);
    }
  }
}

// Runs `work(worker, first, last)` over [0, batch) split into contiguous chunks, one per worker,
// on OpenMP threads. Why OpenMP and not our own threads: torch's CPU ops run on an OpenMP pool
// whose workers spin for a while after each op; threads of our own then fight them for the same
// cores (measured: slower than one thread). Built with -fopenmp on Linux, this module shares the
// libgomp torch has loaded (same soname), so it reuses that pool. Without OpenMP it runs inline.
template <typename Work>
void split_batch(int64_t batch, int64_t workers, Work work) {
  const int64_t chunk = (batch + workers - 1) / workers;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(workers) schedule(static, 1) if (workers > 1)
#endif
  for (int64_t w = 0; w < workers; ++w) {
    work(w, std::min(batch, w * chunk), std::min(batch, (w + 1) * chunk));
  }
}

// Small batches (a rollout of a few agents) are not worth waking the pool.
int64_t worker_count(int64_t batch, int64_t threads) {
  constexpr int64_t kMinAgentsPerWorker = 64;
  return std::max<int64_t>(1, std::min<int64_t>(threads, batch / kMinAgentsPerWorker));
}

using U8Array = py::array_t<uint8_t, py::array::c_style>;
using I32Array = py::array_t<int32_t, py::array::c_style>;
using F32Array = py::array_t<float, py::array::c_style>;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("token_conv: " + message);
}

Tokens tokens_of(const U8Array& tokens) {
  require(tokens.ndim() == 3 && tokens.shape(2) == 3, "tokens must be (batch, slots, 3) uint8");
  return Tokens{tokens.data(), tokens.shape(0), tokens.shape(1)};
}

Geometry geometry_of(int64_t num_features, int64_t height, int64_t width, int64_t positions,
                     const I32Array& cell_position, const I32Array& cell_tap, int64_t channels) {
  require(num_features >= 1 && num_features <= 256, "num_features must be 1..256");
  require(height >= 1 && height <= 16 && width >= 1 && width <= 16, "window must fit a location byte (<= 16)");
  require(cell_position.ndim() == 2 && cell_position.shape(0) == height * width,
          "cell_position must be (height * width, pairs)");
  require(cell_tap.ndim() == 2 && cell_tap.shape(0) == cell_position.shape(0) &&
              cell_tap.shape(1) == cell_position.shape(1),
          "cell_tap must have cell_position's shape");
  const int32_t* tap = cell_tap.data();
  const int32_t* position = cell_position.data();
  for (int64_t i = 0; i < cell_tap.size(); ++i) {
    require(tap[i] < 25 && (tap[i] < 0 || (position[i] >= 0 && position[i] < positions)),
            "cell tables name a tap or position outside the conv");
  }
  return Geometry{num_features, height,          width, positions, cell_position.shape(1), channels,
                  position,     cell_tap.data(), nullptr};
}

// A frozen feature scale's caps (FeatureScale in metta/agent/policy.py), or null for none.
const uint8_t* value_cap_of(const std::optional<U8Array>& value_cap) {
  if (!value_cap) return nullptr;
  require(value_cap->ndim() == 1 && value_cap->shape(0) == 256, "value_cap must be (256,) uint8, one per feature id");
  return value_cap->data();
}

// out (batch, positions * channels) = conv1(box(tokens)) without bias; kernel (features * 25 + 1, channels).
void forward(const U8Array& tokens, const F32Array& kernel, int64_t num_features, int64_t height, int64_t width,
             int64_t positions, const I32Array& cell_position, const I32Array& cell_tap, F32Array out,
             int64_t threads, const std::optional<U8Array>& value_cap) {
  const Tokens t = tokens_of(tokens);
  require(kernel.ndim() == 2 && kernel.shape(0) >= num_features * 25, "kernel must be (features * 25 [+1], channels)");
  Geometry g = geometry_of(num_features, height, width, positions, cell_position, cell_tap, kernel.shape(1));
  g.value_cap = value_cap_of(value_cap);
  require(out.ndim() == 2 && out.shape(0) == t.batch && out.shape(1) == positions * g.channels,
          "out must be (batch, positions * channels)");
  const float* k = kernel.data();
  float* o = out.mutable_data();
  py::gil_scoped_release release;
  split_batch(t.batch, worker_count(t.batch, threads),
              [&](int64_t, int64_t first, int64_t last) {
                if (g.channels == kVectorChannels) {
                  forward_agents<true>(t, k, g, o, first, last);
                } else {
                  forward_agents<false>(t, k, g, o, first, last);
                }
              });
}

// grad_kernel (features * 25 + 1, channels) = the kernel's gradient for grad_out (batch, positions * channels).
void backward(const U8Array& tokens, const F32Array& grad_out, int64_t num_features, int64_t height, int64_t width,
              int64_t positions, const I32Array& cell_position, const I32Array& cell_tap, F32Array grad_kernel,
              int64_t threads, const std::optional<U8Array>& value_cap) {
  const Tokens t = tokens_of(tokens);
  require(grad_kernel.ndim() == 2 && grad_kernel.shape(0) >= num_features * 25,
          "grad_kernel must be (features * 25 [+1], channels)");
  Geometry g = geometry_of(num_features, height, width, positions, cell_position, cell_tap, grad_kernel.shape(1));
  g.value_cap = value_cap_of(value_cap);
  require(grad_out.ndim() == 2 && grad_out.shape(0) == t.batch && grad_out.shape(1) == positions * g.channels,
          "grad_out must be (batch, positions * channels)");
  const float* go = grad_out.data();
  float* gk = grad_kernel.mutable_data();
  const int64_t size = grad_kernel.size();
  py::gil_scoped_release release;
  std::fill(gk, gk + size, 0.0f);
  const int64_t workers = worker_count(t.batch, threads);
  std::vector<std::vector<float>> partial(workers - 1, std::vector<float>(size, 0.0f));
  split_batch(t.batch, workers, [&](int64_t worker, int64_t first, int64_t last) {
    float* sums = worker == 0 ? gk : partial[worker - 1].data();
    if (g.channels == kVectorChannels) {
      backward_agents<true>(t, go, g, sums, first, last);
    } else {
      backward_agents<false>(t, go, g, sums, first, last);
    }
  });
  for (const auto& sums : partial) {
    for (int64_t i = 0; i < size; ++i) gk[i] += sums[i];
  }
}

// The largest value per feature id (< num_features) among the tokens, 0 where none: what
// FeatureScale.observe takes its running max from.
F32Array feature_max(const U8Array& tokens, int64_t num_features) {
  const Tokens t = tokens_of(tokens);
  require(num_features >= 1 && num_features <= 256, "num_features must be 1..256");
  // Four tables, one per token index mod 4: consecutive tokens often share a feature, and one
  // table would chain each max through a store and a load (measured 3x slower). Padding lands in
  // feature 255, outside the result unless num_features is 256 (then it is a real id and counts).
  constexpr int kTables = 4;
  uint8_t seen[kTables][256] = {};
  {
    py::gil_scoped_release release;
    const int64_t count = t.batch * t.slots;
    const uint8_t* token = t.data;
    int64_t i = 0;
    for (; i + kTables <= count; i += kTables, token += 3 * kTables) {
      for (int k = 0; k < kTables; ++k) {
        uint8_t& best = seen[k][token[3 * k + 1]];
        best = std::max(best, token[3 * k + 2]);
      }
    }
    for (; i < count; ++i, token += 3) seen[0][token[1]] = std::max(seen[0][token[1]], token[2]);
  }
  F32Array result(num_features);
  float* r = result.mutable_data();
  for (int64_t f = 0; f < num_features; ++f) {
    r[f] = static_cast<float>(std::max(std::max(seen[0][f], seen[1][f]), std::max(seen[2][f], seen[3][f])));
  }
  return result;
}

}  // namespace

PYBIND11_MODULE(_token_conv, m) {
  m.doc() = "The fast encoder's first convolution from observation tokens (CPU, float32).";
  // noconvert: a wrong dtype or a strided array is an error, never a silent copy (which would
  // also make `out` and `grad_kernel` write into the copy).
  m.def("forward", &forward, py::arg("tokens").noconvert(), py::arg("kernel").noconvert(),
        py::arg("num_features"), py::arg("height"), py::arg("width"), py::arg("positions"),
        py::arg("cell_position").noconvert(), py::arg("cell_tap").noconvert(), py::arg("out").noconvert(),
        py::arg("threads"), py::arg("value_cap").noconvert() = py::none());
  m.def("backward", &backward, py::arg("tokens").noconvert(), py::arg("grad_out").noconvert(),
        py::arg("num_features"), py::arg("height"), py::arg("width"), py::arg("positions"),
        py::arg("cell_position").noconvert(), py::arg("cell_tap").noconvert(),
        py::arg("grad_kernel").noconvert(), py::arg("threads"), py::arg("value_cap").noconvert() = py::none());
  m.def("feature_max", &feature_max, py::arg("tokens").noconvert(), py::arg("num_features"));
}
