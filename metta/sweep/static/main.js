// The sweep dashboard page: polls ./api/sweep, filters the runs, draws the charts, and shows a
// run's details when any of its marks (or its table row) is clicked.
//
// For tests and the console: window.sweepDashboard = {loaded, runs, charts, pareto, importance,
// refreshes, selectRun(id), selectedRun, setFilter({scoreMin, scoreMax, costMin, costMax}),
// refresh()}; document.body.dataset.state is "loading", then "loaded" or "error".

import { Plot, costUnit, fmt, fmtDuration, legend, svgEl } from "./charts.js";
import { bestSoFar, goalSign, histogram, importance, movingAverage, paretoFront } from "./stats.js";

const MOVING_WINDOW = 5;  // runs in the score-over-time moving average
const STATUSES = ["done", "failed", "running", "abandoned"];
const FILTERS = {  // slider pairs: the run field they bound and where the bounds live
  score: { field: "score", min: "scoreMin", max: "scoreMax", format: (v) => fmt(v, 4) },
  cost: { field: "cost", min: "costMin", max: "costMax", format: fmtDuration },
};

const $ = (id) => document.getElementById(id);

const state = {
  data: null,           // the last /api/sweep answer
  runs: [],
  byId: new Map(),
  front: new Set(),     // run ids on the Pareto front of the runs shown
  order: [],            // parameters, most important first
  selected: null,
  filter: { scoreMin: null, scoreMax: null, costMin: null, costMax: null },  // null = unbounded
  sort: { key: "number", dir: 1 },
  timelineX: "number",
  signature: "",
  updatedAt: null,
  timer: null,
};

const dashboard = {
  loaded: false,
  runs: [],
  charts: {},
  pareto: [],
  importance: [],
  refreshes: 0,
  selectRun,
  setFilter,
  refresh: load,
  get selectedRun() { return state.byId.get(state.selected) || null; },
  get filter() { return { ...state.filter }; },
};
window.sweepDashboard = dashboard;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function stamp(seconds) {
  if (!seconds) return "–";
  const d = new Date(seconds * 1000);
  return `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${clock(d)}`;
}

// Powers of two as people write batch sizes: 512, 32k, 1M (k = 1024).
// "1.2345 ± 0.0500 (n=8)": the score with its spread across evaluation episodes, when recorded.
function scoreText(run, digits) {
  if (run.score === null) return "–";
  const mean = fmt(run.score, digits);
  if (!run.score_n) return mean;
  const std = Number.isFinite(run.score_std) ? fmt(run.score_std, digits) : "–";
  return `${mean} ± ${std} (n=${run.score_n})`;
}

function fmtPow2(v) {
  if (v >= 1048576) return `${fmt(v / 1048576)}M`;
  return v >= 1024 ? `${fmt(v / 1024)}k` : fmt(v);
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function sign() { return goalSign(state.data.goal); }

// Parameter names without the leading parts every parameter shares (trainer.learning_rate -> learning_rate).
function shortNames(names) {
  const parts = names.map((n) => n.split("."));
  let common = 0;
  while (parts.length && parts.every((p) => p.length > common + 1 && p[common] === parts[0][common])) common++;
  return new Map(names.map((n, i) => [n, parts[i].slice(common).join(".")]));
}

// ---------------------------------------------------------------------------------------------
// loading

async function load() {
  clearTimeout(state.timer);
  try {
    const response = await fetch("api/sweep", { cache: "no-store" });
    const body = await response.json().catch(() => null);
    if (!response.ok || !body) throw new Error(body?.error || `the server answered ${response.status}`);
    receive(body);
  } catch (error) {
    failed(error);
  }
  state.timer = setTimeout(load, (state.data?.refresh_s || 10) * 1000);
}

function receive(data) {
  state.data = data;
  state.updatedAt = new Date();
  dashboard.refreshes++;
  $("error").textContent = "";
  const signature = JSON.stringify(data.runs);
  if (signature !== state.signature) {
    state.signature = signature;
    state.runs = data.runs;
    state.byId = new Map(data.runs.map((r) => [r.run_id, r]));
    dashboard.runs = data.runs;
    render();
  }
  renderMeta();
  dashboard.loaded = true;
  document.body.dataset.state = "loaded";
}

function failed(error) {
  const message = `cannot read the sweep: ${error.message}`;
  if (!dashboard.loaded) {
    $("error").textContent = message;
    $("meta").textContent = "";
    document.body.dataset.state = "error";
  } else {
    $("error").textContent = `${message} (showing the data from ${clock(state.updatedAt)})`;
  }
}

function renderMeta() {
  const d = state.data;
  const total = d.runs_total ?? d.runs.length;
  const runs = (d.max_runs ? `${total} of ${d.max_runs} runs` : `${total} runs`) +
    (d.runs.length < total ? ` (${d.runs.length} shown)` : "");
  const ns = [d.wandb?.entity, d.wandb?.project].filter(Boolean).join("/");
  $("sweep-name").textContent = d.sweep_name;
  document.title = `Sweep ${d.sweep_name}`;
  $("meta").textContent = `${d.metric} (${d.goal}) · ${runs} · ${d.location}${ns ? ` · wandb ${ns}` : ""} · updated ${clock(state.updatedAt)}, ` +
    `every ${d.refresh_s} s`;
}

// ---------------------------------------------------------------------------------------------
// drawing everything

function passes(run) {
  const f = state.filter;
  if (run.score !== null && ((f.scoreMin !== null && run.score < f.scoreMin) || (f.scoreMax !== null && run.score > f.scoreMax))) return false;
  if (run.cost !== null && ((f.costMin !== null && run.cost < f.costMin) || (f.costMax !== null && run.cost > f.costMax))) return false;
  return true;
}

function render() {
  renderSummary();
  syncFilters();
  const visible = state.runs.filter(passes);
  const done = visible.filter((r) => r.status === "done");
  const failedRuns = visible.filter((r) => r.status === "failed");
  const front = paretoFront(done, state.data.goal);
  const rows = importance(done, state.data.parameters);
  state.front = new Set(front.map((r) => r.run_id));
  state.order = rows.map((r) => r.param);
  dashboard.pareto = front.map((r) => r.run_id);
  dashboard.importance = rows;
  dashboard.charts = {
    ...drawPareto(done, failedRuns, front),
    importance: drawImportance(rows, done.length),
    ...drawTimeline(done, failedRuns),
    params: drawParams(done, failedRuns),
    ...drawHistograms(done, failedRuns),
    table: drawTable(visible),
  };
  $("filter-count").textContent = `${visible.length} of ${state.runs.length} runs shown`;
  markSelected();
  renderDetails();
}

function renderSummary() {
  const runs = state.runs;
  const counts = Object.fromEntries(STATUSES.map((s) => [s, runs.filter((r) => r.status === s).length]));
  const runsCard = $("card-runs");
  Object.assign(runsCard.dataset, { total: runs.length, ...counts });
  runsCard.querySelector(".card-value").textContent = runs.length;
  runsCard.querySelector(".card-sub").replaceChildren(...STATUSES.filter((s) => s !== "abandoned" || counts[s])
    .map((s) => el("span", { class: `count status-${s}`, "data-status": s }, `${counts[s]} ${s}`)));

  const done = runs.filter((r) => r.status === "done");
  const best = done.reduce((a, r) => (a === null || sign() * r.score > sign() * a.score ? r : a), null);
  const bestCard = $("card-best");
  bestCard.dataset.run = best ? best.run_id : "";
  bestCard.dataset.score = best ? best.score : "";
  bestCard.querySelector(".card-value").textContent = best ? fmt(best.score, 4) : "–";
  bestCard.querySelector(".card-sub").textContent = best
    ? `${best.run_id} · ${state.data.metric}, ${state.data.goal === "minimize" ? "lower" : "higher"} is better`
    : "no successful run yet";

  const costed = runs.filter((r) => r.cost !== null);
  const total = costed.reduce((a, r) => a + r.cost, 0);
  const hourly = state.data.hourly_cost;
  const costCard = $("card-cost");
  costCard.dataset.seconds = total;
  costCard.querySelector(".card-value").textContent = `${fmt(total / 3600)} h`;
  costCard.querySelector(".card-sub").textContent = hourly > 0
    ? `$${(total / 3600 * hourly).toFixed(2)} at $${hourly}/h over ${plural(costed.length, "run")}`
    : `training + evaluation of ${plural(costed.length, "run")}`;

  const timed = runs.filter((r) => r.recorded_at && r.claimed_at);
  const wall = timed.reduce((a, r) => a + (r.recorded_at - r.claimed_at), 0) / (timed.length || 1);
  const meanCost = total / (costed.length || 1);
  const timeCard = $("card-runtime");
  timeCard.dataset.seconds = timed.length ? wall : "";
  timeCard.querySelector(".card-value").textContent = timed.length ? fmtDuration(wall) : "–";
  timeCard.querySelector(".card-sub").textContent = timed.length
    ? `claim to result, ${plural(timed.length, "run")} · mean cost ${fmtDuration(meanCost)}`
    : "no finished run yet";
}

function note(box, text) {
  box.append(el("p", { class: "empty" }, text));
}

// Cost against score: every successful run, the front joined by a line, failed runs as crosses on the axis.
function drawPareto(done, failedRuns, front) {
  const box = $("chart-pareto");
  box.replaceChildren();
  const counts = { scatter: done.length, front: front.length, failed: failedRuns.length };
  if (!done.length && !failedRuns.length) {
    note(box, "No finished runs yet.");
    return counts;
  }
  const unit = costUnit(Math.max(...[...done, ...failedRuns].map((r) => r.cost ?? 0)));
  const cost = (r) => (r.cost ?? 0) / unit.factor;
  const costs = [...done, ...failedRuns].map(cost);
  const scores = done.length ? done.map((r) => r.score) : [0, 1];
  const plot = new Plot(box, {
    width: 820, height: 330, title: "cost vs score",
    x: { domain: [Math.min(...costs), Math.max(...costs)], label: `cost (${unit.name} of compute)` },
    y: { domain: [Math.min(...scores), Math.max(...scores)], label: state.data.metric },
  }).axes({ xTicks: 8 });
  for (const r of done) {
    if (!state.front.has(r.run_id)) plot.point(cost(r), r.score, { cls: "point", "data-run": r.run_id });
  }
  plot.line(front.map((r) => [cost(r), r.score]), "front-line");
  for (const r of front) {
    plot.point(cost(r), r.score, { r: 6, cls: "point pareto", "data-run": r.run_id });
    plot.marks.append(svgEl("text", { class: "point-label", x: plot.x.map(cost(r)) + 8, y: plot.y.map(r.score) - 7 }, `#${r.number}`));
  }
  for (const r of failedRuns) plot.cross(cost(r), plot.bottom, { "data-run": r.run_id });
  box.append(legend([["run", "point", "dot"], ["Pareto front", "point pareto", "dot"], ["failed (on the axis)", "failed", "cross"]]));
  return counts;
}

// |Spearman rho| per parameter as horizontal bars, largest first; colour says which way it helps.
function drawImportance(rows, successful) {
  const box = $("chart-importance");
  box.replaceChildren();
  if (!rows.length) {
    note(box, "The sweep has no parameters.");
    return 0;
  }
  const names = shortNames(rows.map((r) => r.param));
  const rowH = 26, top = 6, label = 150, width = 430, right = 46;
  const height = top + rows.length * rowH + 28;
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": "parameter importance" });
  const x = (v) => label + v * (width - label - right);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(svgEl("line", { class: "gridline", x1: x(t), x2: x(t), y1: top, y2: height - 24 }));
    svg.append(svgEl("text", { class: "tick", x: x(t), y: height - 10, "text-anchor": "middle" }, String(t)));
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const g = svgEl("g", { class: "bar-row", "data-param": row.param, "data-rho": row.rho ?? "" });
    const name = svgEl("text", { class: "bar-label", x: label - 8, y: y + rowH / 2 + 4, "text-anchor": "end" }, names.get(row.param));
    name.append(svgEl("title", {}, row.param));
    g.append(name);
    if (row.rho === null) {
      g.append(svgEl("text", { class: "bar-value muted", x: label + 4, y: y + rowH / 2 + 4 }, `n/a (${row.n} runs)`));
    } else {
      const helps = sign() * row.rho >= 0;
      g.append(svgEl("rect", {
        class: `bar ${helps ? "better" : "worse"}`, x: label, y: y + 5, width: Math.max(1, x(Math.abs(row.rho)) - label), height: rowH - 10,
        "data-tip": `${row.param}\nSpearman ρ = ${row.rho.toFixed(3)} over ${row.n} runs\n` +
          `higher values go with ${helps ? "better" : "worse"} scores`,
      }));
      g.append(svgEl("text", { class: "bar-value", x: x(Math.abs(row.rho)) + 5, y: y + rowH / 2 + 4 },
        `${row.rho >= 0 ? "+" : "−"}${Math.abs(row.rho).toFixed(2)}`));
    }
    svg.append(g);
  });
  box.append(svg);
  box.append(legend([["higher value, better score", "bar better", "dot"], ["higher value, worse score", "bar worse", "dot"]]));
  box.append(el("p", { class: "caption" }, successful >= 3
    ? `Spearman's rank correlation between each parameter and the score over the ${successful} successful runs shown. Click a bar for its plot.`
    : "Needs at least 3 successful runs."));
  return rows.length;
}

// Score per run in run order (or time recorded), a moving average and the best so far.
function drawTimeline(done, failedRuns) {
  const box = $("chart-timeline");
  box.replaceChildren();
  const byTime = state.timelineX === "recorded_at";
  const xOf = (r) => (byTime ? r.recorded_at * 1000 : r.number);
  const placed = (r) => !byTime || Boolean(r.recorded_at);
  const shown = done.filter(placed).sort((a, b) => xOf(a) - xOf(b));
  const crosses = failedRuns.filter(placed);
  if (!shown.length && !crosses.length) {
    note(box, "No finished runs yet.");
    return { timeline: 0 };
  }
  const xs = [...shown, ...crosses].map(xOf);
  const scores = shown.length ? shown.map((r) => r.score) : [0, 1];
  const format = byTime ? (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : String;
  const plot = new Plot(box, {
    width: 430, height: 270, title: "score over time",
    x: { domain: [Math.min(...xs), Math.max(...xs)], label: byTime ? "time recorded" : "run number", format, integer: !byTime },
    y: { domain: [Math.min(...scores), Math.max(...scores)], label: state.data.metric },
  }).axes({ xTicks: 6 });
  const values = shown.map((r) => r.score);
  const best = bestSoFar(values, state.data.goal);
  const steps = [];
  shown.forEach((r, i) => {
    if (i) steps.push([xOf(r), best[i - 1]]);
    steps.push([xOf(r), best[i]]);
  });
  plot.line(steps, "best-line");
  plot.line(movingAverage(values, MOVING_WINDOW).map((v, i) => [xOf(shown[i]), v]), "ma-line");
  for (const r of shown) plot.point(xOf(r), r.score, { r: 4, cls: "point", "data-run": r.run_id });
  for (const r of crosses) plot.cross(xOf(r), plot.bottom, { "data-run": r.run_id });
  box.append(legend([["run", "point", "dot"], [`${MOVING_WINDOW}-run moving average`, "ma-line", "line"],
    ["best so far", "best-line", "line"], ["failed", "failed", "cross"]]));
  return { timeline: shown.length };
}

// One small scatter per parameter (value against score), in importance order.
function drawParams(done, failedRuns) {
  const box = $("chart-params");
  box.replaceChildren();
  const specs = new Map(state.data.parameters.map((p) => [p.name, p]));
  const names = shortNames(state.order);
  const rhos = new Map(dashboard.importance.map((r) => [r.param, r.rho]));
  const scores = done.length ? done.map((r) => r.score) : [0, 1];
  const counts = {};
  for (const name of state.order) {
    const spec = specs.get(name) || {};
    const has = (r) => typeof r.params[name] === "number";
    const points = done.filter(has);
    const crosses = failedRuns.filter(has);
    const values = [...points, ...crosses].map((r) => r.params[name]);
    for (const bound of [spec.min, spec.max]) if (Number.isFinite(bound)) values.push(bound);
    const rho = rhos.get(name);
    const card = el("div", { class: "param-plot", id: `param-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`, "data-param": name },
      el("h3", { title: name }, el("span", { class: "name" }, names.get(name)),
        el("span", { class: "rho" }, rho === null || rho === undefined ? "" : `ρ ${rho >= 0 ? "+" : "−"}${Math.abs(rho).toFixed(2)}`)));
    box.append(card);
    counts[name] = points.length;
    if (!values.length) {
      note(card, "No values yet.");
      continue;
    }
    const plot = new Plot(card, {
      width: 250, height: 190, margin: { left: 44, bottom: 36, right: 10, top: 8 }, title: name,
      x: { domain: [Math.min(...values), Math.max(...values)], log: spec.log, base: spec.distribution === "uniform_pow2" ? 2 : 10,
           integer: spec.distribution === "int_uniform" || spec.distribution === "uniform_pow2",
           format: spec.distribution === "uniform_pow2" ? fmtPow2 : fmt,
           label: `${spec.distribution || "not in the sweep file"}${spec.log && Math.min(...values) > 0 ? ", log axis" : ""}` },
      y: { domain: [Math.min(...scores), Math.max(...scores)], label: state.data.metric },
    }).axes({ xTicks: 4, yTicks: 4 });
    for (const r of points) plot.point(r.params[name], r.score, { r: 4, cls: "point", "data-run": r.run_id, "data-param": name });
    for (const r of crosses) plot.cross(r.params[name], plot.bottom, { size: 4, "data-run": r.run_id, "data-param": name });
  }
  return counts;
}

function drawHistograms(done, failedRuns) {
  // Scores of the successful runs.
  const scoreBox = $("chart-score-hist");
  scoreBox.replaceChildren();
  const bins = histogram(done.map((r) => r.score));
  if (bins.length) {
    const plot = new Plot(scoreBox, {
      width: 430, height: 230, title: "score distribution",
      x: { domain: [bins[0].lo, bins[bins.length - 1].hi], pad: 0, label: state.data.metric },
      y: { domain: [0, Math.max(...bins.map((b) => b.count))], pad: 0.08, zero: true, label: "runs", integer: true },
    }).axes({ xTicks: 6, yTicks: 4 });
    for (const b of bins) {
      if (b.count) plot.rect(b.lo, b.hi, 0, b.count, { class: "hist-bar", "data-tip": `${state.data.metric} ${fmt(b.lo, 4)} to ${fmt(b.hi, 4)}\n${b.count} run${b.count === 1 ? "" : "s"}` });
    }
  } else {
    note(scoreBox, "No successful runs yet.");
  }
  // Costs of every finished run, failed ones stacked on top.
  const costBox = $("chart-cost-hist");
  costBox.replaceChildren();
  const costed = [...done, ...failedRuns].filter((r) => r.cost !== null);
  const unit = costUnit(Math.max(0, ...costed.map((r) => r.cost)));
  const costBins = histogram(costed.map((r) => r.cost / unit.factor));
  if (costBins.length) {
    const failedCounts = costBins.map(() => 0);
    const width = costBins[0].hi - costBins[0].lo;
    for (const r of costed) {
      if (r.status === "failed") failedCounts[Math.min(costBins.length - 1, Math.floor((r.cost / unit.factor - costBins[0].lo) / width))]++;
    }
    const plot = new Plot(costBox, {
      width: 430, height: 230, title: "cost distribution",
      x: { domain: [costBins[0].lo, costBins[costBins.length - 1].hi], pad: 0, label: `cost (${unit.name})` },
      y: { domain: [0, Math.max(...costBins.map((b) => b.count))], pad: 0.08, zero: true, label: "runs", integer: true },
    }).axes({ xTicks: 6, yTicks: 4 });
    costBins.forEach((b, i) => {
      const ok = b.count - failedCounts[i];
      const range = `${fmt(b.lo)} to ${fmt(b.hi)} ${unit.name}`;
      if (ok) plot.rect(b.lo, b.hi, 0, ok, { class: "hist-bar", "data-tip": `${range}\n${ok} successful` });
      if (failedCounts[i]) plot.rect(b.lo, b.hi, ok, b.count, { class: "hist-bar failed", "data-tip": `${range}\n${failedCounts[i]} failed` });
    });
    costBox.append(legend([["successful", "hist-bar", "dot"], ["failed", "hist-bar failed", "dot"]]));
  } else {
    note(costBox, "No finished runs yet.");
  }
  return { scoreHistogram: done.length, costHistogram: costed.length };
}

// ---------------------------------------------------------------------------------------------
// the runs table

function sortValue(run, key) {
  if (key.startsWith("param:")) return run.params[key.slice(6)];
  return run[key];
}

function paramText(value) {
  if (typeof value !== "number") return String(value ?? "–");
  return Number.isInteger(value) && Math.abs(value) < 1e7 ? String(value) : fmt(value);
}

function drawTable(visible) {
  const table = $("runs-table");
  const params = state.data.parameters.map((p) => p.name);
  const names = shortNames(params);
  const columns = [["number", "#"], ["status", "status"], ["score", state.data.metric], ["cost", "cost"],
    ["phase", "phase"], ["worker", "worker"], ...params.map((p) => [`param:${p}`, names.get(p)])];
  const { key, dir } = state.sort;
  const rows = [...visible].sort((a, b) => {
    const [x, y] = [sortValue(a, key), sortValue(b, key)];
    if (x === y) return a.number - b.number;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  });
  const head = el("tr", {}, ...columns.map(([k, label]) =>
    el("th", { "data-sort": k, class: k === key ? (dir > 0 ? "sorted asc" : "sorted desc") : null,
               title: k.startsWith("param:") ? k.slice(6) : null }, label)));
  const now = state.data.now;
  const body = rows.map((r) => {
    const cost = r.cost !== null ? fmtDuration(r.cost)
      : r.status === "running" ? `running ${fmtDuration(now - (r.claimed_at || now))}` : "–";
    return el("tr", { "data-run": r.run_id, class: state.front.has(r.run_id) ? "on-front" : null },
      el("td", { class: "num" }, String(r.number)),
      el("td", {}, el("span", { class: `status status-${r.status}` }, r.status)),
      el("td", { class: "num score", title: r.score_n ? "mean ± std across evaluation episodes (n episodes)" : null },
        scoreText(r, 4)),
      el("td", { class: "num" }, cost),
      el("td", {}, r.phase || "–"),
      el("td", {}, r.worker || "–"),
      ...params.map((p) => el("td", { class: "num" }, paramText(r.params[p]))));
  });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  return rows.length;
}

// ---------------------------------------------------------------------------------------------
// filters

function dataRange(field) {
  const values = state.runs.map((r) => r[field]).filter((v) => v !== null);
  return values.length ? [Math.min(...values), Math.max(...values)] : null;
}

function syncFilters() {
  for (const [name, f] of Object.entries(FILTERS)) {
    const range = dataRange(f.field);
    const lo = $(`filter-${name}-min`), hi = $(`filter-${name}-max`);
    const text = $(`filter-${name}-text`), fill = $(`filter-${name}-fill`);
    if (!range) {
      lo.disabled = hi.disabled = true;
      text.textContent = "no data";
      fill.style.display = "none";
      continue;
    }
    lo.disabled = hi.disabled = range[0] === range[1];
    for (const input of [lo, hi]) { input.min = range[0]; input.max = range[1]; }
    const a = state.filter[f.min] ?? range[0], b = state.filter[f.max] ?? range[1];
    lo.value = a;
    hi.value = b;
    const span = range[1] - range[0] || 1;
    const [fa, fb] = [(a - range[0]) / span, (b - range[0]) / span];
    Object.assign(fill.style, { display: "", left: `calc(7px + ${fa * 100}% - ${fa * 14}px)`, width: `calc(${(fb - fa) * 100}% - ${(fb - fa) * 14}px)` });
    const bounded = state.filter[f.min] !== null || state.filter[f.max] !== null;
    text.textContent = bounded ? `${f.format(a)} to ${f.format(b)}` : `all (${f.format(range[0])} to ${f.format(range[1])})`;
    text.classList.toggle("active", bounded);
  }
}

function onSlide(name, which) {
  const f = FILTERS[name];
  const range = dataRange(f.field);
  if (!range) return;
  let a = Number($(`filter-${name}-min`).value), b = Number($(`filter-${name}-max`).value);
  if (a > b) { if (which === "min") a = b; else b = a; }
  state.filter[f.min] = a <= range[0] ? null : a;
  state.filter[f.max] = b >= range[1] ? null : b;
  render();
}

function setFilter(bounds) {
  for (const [k, v] of Object.entries(bounds)) if (k in state.filter) state.filter[k] = v ?? null;
  if (state.data) render();
}

// ---------------------------------------------------------------------------------------------
// selection, details, tooltips

function selectRun(id) {
  if (id !== null && !state.byId.has(id)) return false;
  state.selected = id;
  markSelected();
  renderDetails();
  return true;
}

function markSelected() {
  for (const node of document.querySelectorAll("[data-run].selected")) node.classList.remove("selected");
  if (!state.selected) return;
  for (const node of document.querySelectorAll(`[data-run="${CSS.escape(state.selected)}"]`)) {
    node.classList.add("selected");
    if (node.parentNode?.classList?.contains("marks")) node.parentNode.append(node);  // drawn on top
  }
}

function field(label, value, id) {
  return [el("dt", {}, label), el("dd", id ? { id } : {}, value)];
}

// A dotted or slashed name that may wrap after each separator.
function breakable(name) {
  return name.split(/(?<=[./])/).flatMap((part, i) => (i ? [document.createElement("wbr"), part] : [part]));
}

// A parameter value to 6 significant digits (integers whole); the overrides show it exactly.
function exact(value) {
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

function renderDetails() {
  const box = $("details");
  const run = dashboard.selectedRun;
  if (!run) {
    box.replaceChildren(el("p", { class: "details-empty" }, "Click a point or a row to see that run's full config."));
    return;
  }
  const d = state.data;
  const hourly = d.hourly_cost;
  const cost = run.cost === null ? "–"
    : `${fmtDuration(run.cost)} (${Math.round(run.cost)} s)${hourly > 0 ? ` · $${(run.cost / 3600 * hourly).toFixed(2)}` : ""}`;
  const fields = [
    ...field(d.metric, run.score === null ? "–" : scoreText(run, 6) + (run.score_n ? " (measured: mean ± std across episodes, n)" : ""),
      "details-score"),
    ...(Number.isFinite(run.info?.predicted_score_std)
      ? field("predicted", `${fmt(run.info.predicted_score)} ± ${fmt(run.info.predicted_score_std)} (model, 1 std)`, "details-predicted")
      : []),
    ...field("cost", cost, "details-cost"),
    ...field("runtime", run.recorded_at && run.claimed_at ? fmtDuration(run.recorded_at - run.claimed_at) : "–"),
    ...field("phase", run.phase || "–", "details-phase"),
    ...field("worker", run.worker || "–", "details-worker"),
    ...field("claimed", stamp(run.claimed_at)),
    ...field("recorded", stamp(run.recorded_at)),
  ];
  if (run.status === "running" || run.status === "abandoned") fields.push(...field("heartbeat", stamp(run.heartbeat_at)));
  if (run.reason) fields.push(...field("reason", run.reason, "details-reason"));
  const order = d.parameters.map((p) => p.name).filter((n) => n in run.params);
  for (const n of Object.keys(run.params)) if (!order.includes(n)) order.push(n);
  const params = el("table", { id: "details-params", class: "kv" }, ...order.map((n) =>
    el("tr", { "data-param": n }, el("th", {}, ...breakable(n)), el("td", { title: String(run.params[n]) }, exact(run.params[n])))));
  const overrides = order.map((n) => `++${n}=${run.params[n]}`).join("\n");
  const copy = el("button", { type: "button", class: "small", id: "details-copy" }, "copy");
  copy.addEventListener("click", () => navigator.clipboard?.writeText(overrides).then(() => { copy.textContent = "copied"; }));
  const metrics = Object.keys(run.metrics).sort();
  box.replaceChildren(...[
    el("div", { class: "details-head" },
      el("h2", { id: "details-title" }, run.run_id),
      el("button", { type: "button", id: "details-close", "aria-label": "close details", title: "close (Esc)" }, "×")),
    el("div", { class: "badges" },
      el("span", { class: `status status-${run.status}`, id: "details-status" }, run.status),
      state.front.has(run.run_id) ? el("span", { class: "tag pareto-tag" }, "on the Pareto front") : null),
    el("dl", { class: "fields" }, ...fields),
    el("h3", {}, `Parameters (${order.length})`),
    order.length ? params : el("p", { class: "muted" }, "No suggestion recorded yet."),
    order.length ? el("div", { class: "subhead" }, el("h3", {}, "As overrides"), copy) : null,
    order.length ? el("pre", { id: "details-overrides" }, overrides) : null,
    el("h3", {}, "Training curve and replay"),
    el("div", { class: "run-links" },
      el("a", { id: "details-curves-link", href: run.links.curves, target: "_blank" }, "curves (JSON)"),
      el("a", { id: "details-replay-link", href: run.links.replay, target: "_blank" }, "replay (opens MettaScope)"),
      el("a", { id: "details-replay-download", href: run.links.replay + "?download=1" }, "download .json.z")),
    svgEl("svg", { id: "details-curve", class: "curve", viewBox: "0 0 300 90", preserveAspectRatio: "none" }),
    el("div", { id: "details-curve-note", class: "muted" }, "loading…"),
    metrics.length ? el("h3", {}, `Metrics (${metrics.length})`) : null,
    metrics.length ? el("table", { id: "details-metrics", class: "kv" }, ...metrics.map((k) =>
      el("tr", {}, el("th", {}, ...breakable(k)), el("td", {}, typeof run.metrics[k] === "number" ? fmt(run.metrics[k], 5) : String(run.metrics[k]))))) : null,
    Object.keys(run.info).length ? el("details", {}, el("summary", {}, "Suggestion info"),
      el("pre", {}, JSON.stringify(run.info, null, 1))) : null,
  ].filter(Boolean));
  drawCurve(run);
}

/** The selected run's reward curve from /runs/<id>/curves, y from 0 when never negative. */
async function drawCurve(run) {
  const note = $("details-curve-note"), svg = $("details-curve");
  let data;
  try {
    const response = await fetch(run.links.curves);
    data = await response.json();
    if (!response.ok) throw new Error(data.error ?? `HTTP ${response.status}`);
  } catch (error) {
    if (dashboard.selectedRun === run) note.textContent = `no curve: ${error.message}`;
    return;
  }
  if (dashboard.selectedRun !== run) return;
  const values = data.series["overview/reward"] ?? [];
  const points = data.agent_steps.map((x, i) => [x, values[i]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (!points.length) { note.textContent = "no episode finished yet"; return; }
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(0, ...ys), y1 = Math.max(...ys, y0 + 1e-9);
  const sx = (x) => 2 + 296 * (x - x0) / (x1 - x0), sy = (y) => 88 - 86 * (y - y0) / (y1 - y0);
  svg.replaceChildren(svgEl("polyline", { points: points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" "),
    fill: "none", stroke: "#3b6fb6", "stroke-width": 1.5, "data-points": points.length }));
  note.textContent = `reward ${fmt(y0)} to ${fmt(y1)} over ${fmt(x1, 6)} agent steps (${points.length} points)`;
}

function tipText(node) {
  if (node.dataset.tip) return node.dataset.tip;
  const run = state.byId.get(node.dataset.run);
  if (!run) return "";
  const lines = [`${run.run_id} · ${run.status}`];
  if (run.score !== null) lines.push(`${state.data.metric} ${fmt(run.score, 4)}`);
  if (run.cost !== null) lines.push(`cost ${fmtDuration(run.cost)}`);
  if (run.reason) lines.push(run.reason);
  const names = shortNames(state.order);
  const shown = node.dataset.param ? [node.dataset.param] : state.order.slice(0, 3);
  for (const p of shown) if (p in run.params) lines.push(`${names.get(p) || p} = ${fmt(run.params[p], 4)}`);
  return lines.join("\n");
}

function wireEvents() {
  const tip = $("tooltip");
  const target = (e) => e.target.closest?.("svg [data-run], svg [data-tip]");
  document.addEventListener("mouseover", (e) => {
    const node = target(e);
    if (!node) return;
    tip.textContent = tipText(node);
    tip.classList.add("shown");
  });
  document.addEventListener("mousemove", (e) => {
    if (!tip.classList.contains("shown")) return;
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = e.clientY + 16 + tip.offsetHeight > window.innerHeight ? e.clientY - tip.offsetHeight - 10 : e.clientY + 16;
    tip.style.transform = `translate(${x}px, ${y}px)`;
  });
  document.addEventListener("mouseout", (e) => {
    if (target(e) && !e.relatedTarget?.closest?.("svg [data-run], svg [data-tip]")) tip.classList.remove("shown");
  });
  document.addEventListener("click", (e) => {
    const run = e.target.closest("[data-run]");
    if (run && run.dataset.run) return void selectRun(run.dataset.run);
    if (e.target.closest("#details-close")) return void selectRun(null);
    const sort = e.target.closest("th[data-sort]");
    if (sort) {
      const key = sort.dataset.sort;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "score" ? -sign() : 1 };
      drawTable(state.runs.filter(passes));
      markSelected();
      return;
    }
    const bar = e.target.closest(".bar-row[data-param]");
    if (bar) {
      const plot = $(`param-${bar.dataset.param.replace(/[^A-Za-z0-9_-]/g, "-")}`);
      plot?.scrollIntoView({ behavior: "smooth", block: "center" });
      plot?.classList.remove("flash");
      void plot?.offsetWidth;  // restart the animation
      plot?.classList.add("flash");
    }
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") selectRun(null); });
  for (const name of Object.keys(FILTERS)) {
    $(`filter-${name}-min`).addEventListener("input", () => onSlide(name, "min"));
    $(`filter-${name}-max`).addEventListener("input", () => onSlide(name, "max"));
  }
  $("filter-reset").addEventListener("click", () => setFilter({ scoreMin: null, scoreMax: null, costMin: null, costMax: null }));
  $("timeline-x").addEventListener("change", (e) => {
    state.timelineX = e.target.value;
    if (!state.data) return;
    render();
  });
}

wireEvents();
load();
