// Converter (building) state machine and its event queue (docs section 2).
//
// idle --start--> converting --(conversion_ticks)--> finish: outputs added
//   --> cooling (cooldown ticks, skipped when 0) --> idle, try to start again.
// Events live in a min-heap ordered by (tick, converter index); converters are numbered in
// object order, so this is the (tick, object index) order of the contract.
#include <algorithm>

#include "grid_env.hpp"

namespace mettagrid {
namespace {

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    if (a.tick != b.tick) return a.tick > b.tick;
    if (a.converter != b.converter) return a.converter > b.converter;
    return a.kind > b.kind;
  }
};

}  // namespace

void GridEnv::push_event(int64_t tick, int conv, EventKind kind) {
  s_.events.push_back(Event{tick, conv, kind});
  std::push_heap(s_.events.begin(), s_.events.end(), Later());
}

void GridEnv::try_start(int conv) {
  EnvState& s = s_;
  if (s.c_converting[conv] || s.c_cooling[conv]) return;
  const int type = s.o_type[s.c_obj[conv]];
  const ObjectTypeParams& ot = p_->object_types[type];
  if (ot.max_conversions >= 0 && s.c_started[conv] >= ot.max_conversions) return;
  if (ot.max_output >= 0 && s.c_out_total[conv] >= ot.max_output) return;
  const int NI = p_->num_items;
  int32_t* in = s.c_in.data() + static_cast<size_t>(conv) * NI;
  for (const ItemAmount& x : ot.input)
    if (in[x.item] < x.amount) return;
  double* bs = s.building_stats.data() + static_cast<size_t>(type) * p_->building_stat_stride;
  for (const ItemAmount& x : ot.input) {
    in[x.item] -= x.amount;
    bs[2 + NI + x.item] += x.amount;
  }
  bs[0] += 1.0;
  s.c_started[conv] = saturating_add(s.c_started[conv], 1);
  s.c_converting[conv] = 1;
  s.c_dirty[conv] = 1;
  push_event(s.tick + std::max(1, ot.conversion_ticks), conv, EventKind::Finish);
}

void GridEnv::process_events() {
  EnvState& s = s_;
  const int NI = p_->num_items;
  while (!s.events.empty() && s.events.front().tick <= s.tick) {
    std::pop_heap(s.events.begin(), s.events.end(), Later());
    const Event e = s.events.back();
    s.events.pop_back();
    const int conv = e.converter;
    const int type = s.o_type[s.c_obj[conv]];
    const ObjectTypeParams& ot = p_->object_types[type];
    s.c_dirty[conv] = 1;
    if (e.kind == EventKind::Finish) {
      double* bs = s.building_stats.data() + static_cast<size_t>(type) * p_->building_stat_stride;
      int32_t* out = s.c_out.data() + static_cast<size_t>(conv) * NI;
      for (const ItemAmount& x : ot.output) {
        const int32_t before = out[x.item];
        out[x.item] = saturating_add(before, x.amount);
        s.c_out_total[conv] += out[x.item] - before;
        bs[2 + x.item] += x.amount;
      }
      bs[1] += 1.0;
      s.c_converting[conv] = 0;
      if (ot.cooldown > 0) {
        s.c_cooling[conv] = 1;
        push_event(s.tick + ot.cooldown, conv, EventKind::CooldownEnd);
      } else {
        try_start(conv);
      }
    } else {
      s.c_cooling[conv] = 0;
      try_start(conv);
    }
  }
}

}  // namespace mettagrid
