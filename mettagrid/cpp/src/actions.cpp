// Action handlers (docs section 3). Each returns true on success; `act` does the shared
// bookkeeping: frozen agents, invalid ids/args, required/consumed resources, stats, penalty.
#include <algorithm>

#include "grid_env.hpp"

namespace mettagrid {
namespace {

constexpr int kDr[4] = {-1, 1, 0, 0};  // up, down, left, right
constexpr int kDc[4] = {0, 0, -1, 1};

}  // namespace

void GridEnv::act(int agent, int32_t action, int32_t arg) {
  EnvState& s = s_;
  s.a_last_action[agent] = static_cast<uint8_t>(action);
  s.a_last_arg[agent] = static_cast<uint8_t>(arg);
  s.a_last_success[agent] = 0;
  if (s.a_frozen[agent] > 0) {
    --s.a_frozen[agent];
    agent_stat(agent, p_->stat.frozen_ticks) += 1.0;
    return;
  }
  const float penalty = p_->groups[s.a_group[agent]].action_failure_penalty;
  if (action < 0 || action >= static_cast<int32_t>(p_->actions.size())) {
    agent_stat(agent, p_->stat.invalid) += 1.0;
    s.step_reward[agent] -= penalty;
    return;
  }
  const ActionParams& ap = p_->actions[action];
  const int success_stat = p_->stat.action_base + 2 * action;
  if (arg < 0 || arg > ap.max_arg) {
    agent_stat(agent, p_->stat.invalid) += 1.0;
    agent_stat(agent, success_stat + 1) += 1.0;
    s.step_reward[agent] -= penalty;
    return;
  }
  const int32_t* inv = s.inventory.data() + static_cast<size_t>(agent) * p_->num_items;
  bool ok = true;
  for (const ItemAmount& r : ap.required) ok &= inv[r.item] >= r.amount;
  for (const ItemAmount& r : ap.consumed) ok &= inv[r.item] >= r.amount;
  if (ok) {
    switch (ap.kind) {
      case ActionKind::Noop:
        break;
      case ActionKind::Move:
        ok = act_move(agent, arg);
        break;
      case ActionKind::Rotate:
        s.a_orient[agent] = static_cast<uint8_t>(arg & 3);
        break;
      case ActionKind::PutItems:
        ok = act_put(agent);
        break;
      case ActionKind::GetItems:
        ok = act_get(agent);
        break;
      case ActionKind::Attack:
        ok = act_attack(agent, arg, ap);  // pays its own consumed resources
        break;
      case ActionKind::Swap:
        ok = act_swap(agent);
        break;
      case ActionKind::ChangeColor: {
        const int step = p_->color_step;
        const int d = arg == 0 ? 1 : arg == 1 ? -1 : arg == 2 ? step : -step;
        s.a_color[agent] = static_cast<uint8_t>((s.a_color[agent] + d) & 0xFF);
        break;
      }
      case ActionKind::ChangeGlyph:
        s.a_glyph[agent] = static_cast<uint8_t>(arg);
        break;
      case ActionKind::Align:
        ok = act_align(agent, true);
        break;
      case ActionKind::Scramble:
        ok = act_align(agent, false);
        break;
    }
  }
  if (ok) {
    if (ap.kind != ActionKind::Attack)
      for (const ItemAmount& r : ap.consumed) change_inventory(agent, r.item, -r.amount);
    agent_stat(agent, success_stat) += 1.0;
    s.a_last_success[agent] = 1;
  } else {
    agent_stat(agent, success_stat + 1) += 1.0;
    s.step_reward[agent] -= penalty;
  }
}

bool GridEnv::act_move(int agent, int arg) {
  EnvState& s = s_;
  const int o = s.a_orient[agent];
  const int sign = arg == 0 ? 1 : -1;
  const int r = s.a_row[agent] + sign * kDr[o];
  const int c = s.a_col[agent] + sign * kDc[o];
  if (!in_bounds(r, c)) return false;
  const int to = cell(r, c);
  if (s.agent_layer[to] != 0 || s.object_layer[to] != 0) return false;
  const int from = cell(s.a_row[agent], s.a_col[agent]);
  s.agent_layer[from] = 0;
  s.occupied[from] = 0;
  s.agent_layer[to] = agent + 1;
  s.occupied[to] = 1;
  s.a_row[agent] = r;
  s.a_col[agent] = c;
  return true;
}

int GridEnv::front_converter(int agent) const {
  const int o = s_.a_orient[agent];
  const int r = s_.a_row[agent] + kDr[o];
  const int c = s_.a_col[agent] + kDc[o];
  if (!in_bounds(r, c)) return -1;
  const int obj = s_.object_layer[cell(r, c)];
  return obj ? s_.o_conv[obj - 1] : -1;
}

bool GridEnv::may_use(int agent, int conv) const {
  const int obj = s_.c_obj[conv];
  const ObjectTypeParams& ot = p_->object_types[s_.o_type[obj]];
  if (ot.team_only && s_.o_team[obj] != s_.a_group[agent]) return false;
  const int32_t* inv = s_.inventory.data() + static_cast<size_t>(agent) * p_->num_items;
  for (const ItemAmount& r : ot.use_required)
    if (inv[r.item] < r.amount) return false;
  return true;
}

bool GridEnv::act_put(int agent) {
  const int conv = front_converter(agent);
  if (conv < 0 || (p_->has_teams && !may_use(agent, conv))) return false;
  EnvState& s = s_;
  const int NI = p_->num_items;
  const int type = s.o_type[s.c_obj[conv]];
  const ObjectTypeParams& ot = p_->object_types[type];
  bool moved = false;
  for (const ItemAmount& in : ot.input) {
    const int held = s.inventory[static_cast<size_t>(agent) * NI + in.item];
    const int amount = std::min(in.amount, held);
    if (amount <= 0) continue;
    change_inventory(agent, in.item, -amount);
    int32_t& stock = s.c_in[static_cast<size_t>(conv) * NI + in.item];
    stock = saturating_add(stock, amount);
    agent_stat(agent, p_->stat.item_base + AgentStatLayout::kItemStride * in.item + AgentStatLayout::kPut) += amount;
    moved = true;
  }
  if (moved) {
    s.c_dirty[conv] = 1;
    try_start(conv);
  }
  return moved;
}

bool GridEnv::act_get(int agent) {
  const int conv = front_converter(agent);
  if (conv < 0 || (p_->has_teams && !may_use(agent, conv))) return false;
  EnvState& s = s_;
  const int NI = p_->num_items;
  const int type = s.o_type[s.c_obj[conv]];
  const ObjectTypeParams& ot = p_->object_types[type];
  bool moved = false;
  for (const ItemAmount& out : ot.output) {
    int32_t& held = s.c_out[static_cast<size_t>(conv) * NI + out.item];
    if (held <= 0) continue;
    const int got = change_inventory(agent, out.item, held);
    if (got <= 0) continue;
    held -= got;
    s.c_out_total[conv] -= got;
    agent_stat(agent, p_->stat.item_base + AgentStatLayout::kItemStride * out.item + AgentStatLayout::kGet) += got;
    moved = true;
  }
  if (moved) {
    s.c_dirty[conv] = 1;
    try_start(conv);
  }
  return moved;
}

// Align (claim): a neutral alignable object in front joins the agent's group. Scramble: an
// alignable object in front owned by another group becomes neutral.
bool GridEnv::act_align(int agent, bool claim) {
  const int conv = front_converter(agent);
  if (conv < 0) return false;
  EnvState& s = s_;
  const int obj = s.c_obj[conv];
  const ObjectTypeParams& ot = p_->object_types[s.o_type[obj]];
  const int slot = ot.align_slot;
  if (slot < 0) return false;
  const int team = s.o_team[obj], mine = s.a_group[agent];
  const size_t slots = p_->alignable_types.size();
  if (claim) {
    if (team >= 0) return false;
    s.o_team[obj] = mine;
    ++s.held[mine * slots + slot];
  } else {
    if (team < 0 || team == mine) return false;
    s.o_team[obj] = -1;
    --s.held[team * slots + slot];
  }
  agent_stat(agent, p_->stat.align_base + 3 * slot + (claim ? 0 : 1)) += 1.0;
  s.c_dirty[conv] = 1;
  return true;
}

bool GridEnv::act_attack(int agent, int arg, const ActionParams& ap) {
  EnvState& s = s_;
  const int o = s.a_orient[agent];
  const int fr = kDr[o], fc = kDc[o];
  const int lr = -fc, lc = fr;  // the agent's left
  int target = -1;
  int found = 0;
  for (int d = 1; d <= 3 && target < 0; ++d) {
    for (int side = 1; side >= -1; --side) {
      const int r = s.a_row[agent] + d * fr + side * lr;
      const int c = s.a_col[agent] + d * fc + side * lc;
      if (!in_bounds(r, c)) continue;
      const int t = s.agent_layer[cell(r, c)] - 1;
      if (t < 0 || s.a_frozen[t] > 0) continue;
      if (found == arg) {
        target = t;
        break;
      }
      ++found;
    }
  }
  if (target < 0) return false;

  for (const ItemAmount& r : ap.consumed) change_inventory(agent, r.item, -r.amount);
  const AgentStatLayout& st = p_->stat;
  const int NI = p_->num_items;
  if (s.a_group[agent] == s.a_group[target])
    agent_stat(agent, st.attack_own_team) += 1.0;
  else
    agent_stat(agent, st.attack_other_team) += 1.0;

  const int32_t* tinv = s.inventory.data() + static_cast<size_t>(target) * NI;
  bool armored = !ap.defense.empty();
  for (const ItemAmount& d : ap.defense) armored &= tinv[d.item] >= d.amount;
  if (armored) {
    for (const ItemAmount& d : ap.defense) change_inventory(target, d.item, -d.amount);
    agent_stat(agent, st.attack_blocked) += 1.0;
    agent_stat(target, st.attacked_blocked) += 1.0;
    return true;
  }
  agent_stat(agent, st.attack_hit) += 1.0;
  agent_stat(target, st.attacked_frozen) += 1.0;
  s.a_frozen[target] = p_->groups[s.a_group[target]].freeze_duration;
  for (int i = 0; ap.steal && i < NI; ++i) {
    const int have = s.inventory[static_cast<size_t>(target) * NI + i];
    if (have <= 0) continue;
    const int got = change_inventory(agent, i, have);
    if (got <= 0) continue;
    change_inventory(target, i, -got);
    const int base = st.item_base + AgentStatLayout::kItemStride * i;
    agent_stat(agent, base + AgentStatLayout::kStolen) += got;
    agent_stat(target, base + AgentStatLayout::kStolenFrom) += got;
  }
  return true;
}

bool GridEnv::act_swap(int agent) {
  EnvState& s = s_;
  const int o = s.a_orient[agent];
  const int r = s.a_row[agent] + kDr[o];
  const int c = s.a_col[agent] + kDc[o];
  if (!in_bounds(r, c)) return false;
  const int from = cell(s.a_row[agent], s.a_col[agent]);
  const int to = cell(r, c);
  const int other = s.agent_layer[to] - 1;
  if (other >= 0) {
    if (s.a_frozen[other] <= 0) return false;
    s.a_row[other] = s.a_row[agent];
    s.a_col[other] = s.a_col[agent];
    s.agent_layer[from] = other + 1;
    s.agent_layer[to] = agent + 1;
    s.a_row[agent] = r;
    s.a_col[agent] = c;
    agent_stat(agent, p_->stat.swap_agent) += 1.0;
    return true;
  }
  const int obj = s.object_layer[to] - 1;
  if (obj < 0 || p_->object_types[s.o_type[obj]].kind != ObjectKind::Block) return false;
  s.o_row[obj] = s.a_row[agent];
  s.o_col[obj] = s.a_col[agent];
  s.object_layer[from] = obj + 1;
  s.object_layer[to] = 0;
  s.agent_layer[from] = 0;
  s.agent_layer[to] = agent + 1;
  s.a_row[agent] = r;
  s.a_col[agent] = c;
  agent_stat(agent, p_->stat.swap_block) += 1.0;
  return true;
}

}  // namespace mettagrid
