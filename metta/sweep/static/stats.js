// Pure numbers for the sweep dashboard: the Pareto front, rank correlation, moving averages,
// histogram bins. No DOM here, so each function reads on its own.

// `sign` turns the sweep's goal into "higher is better": +1 to maximize, -1 to minimize.
export function goalSign(goal) {
  return goal === "minimize" ? -1 : 1;
}

// The runs no other run beats on both counts: a run is on the front when every run that costs
// the same or less scores strictly worse. Walk from cheapest to dearest (best score first among
// equal costs) keeping each run that beats the best score so far. Returns runs, cheapest first.
// A run without a recorded cost counts as free.
export function paretoFront(runs, goal) {
  const sign = goalSign(goal);
  const sorted = [...runs].sort((a, b) => ((a.cost ?? 0) - (b.cost ?? 0)) || (sign * b.score - sign * a.score));
  const front = [];
  let best = -Infinity;
  for (const run of sorted) {
    if (sign * run.score > best) {
      front.push(run);
      best = sign * run.score;
    }
  }
  return front;
}

// Ranks 1..n, ties sharing the average of the ranks they span.
export function ranks(values) {
  const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++;
    for (let k = i; k <= j; k++) out[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

export function pearson(xs, ys) {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

// Spearman's rank correlation: Pearson's on the ranks. Null with fewer than 3 pairs or when
// either side is constant (no order to correlate).
export function spearman(xs, ys) {
  return xs.length < 3 ? null : pearson(ranks(xs), ranks(ys));
}

// For each parameter, Spearman's rho between its value and the score over `runs` (successful
// ones), sorted by |rho|, largest first; parameters without a rho come last, in their order.
export function importance(runs, parameters) {
  const rows = parameters.map((p) => {
    const pairs = runs.filter((r) => typeof r.params[p.name] === "number");
    const rho = spearman(pairs.map((r) => r.params[p.name]), pairs.map((r) => r.score));
    return { param: p.name, rho, n: pairs.length };
  });
  const magnitude = (row) => (row.rho === null ? -1 : Math.abs(row.rho));
  return rows.sort((a, b) => magnitude(b) - magnitude(a));  // stable: ties keep the sweep file's order
}

// The mean of each value and the `window - 1` before it (fewer at the start).
export function movingAverage(values, window) {
  const out = [];
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out.push(sum / Math.min(i + 1, window));
  }
  return out;
}

// The best value seen so far at each position.
export function bestSoFar(values, goal) {
  const sign = goalSign(goal);
  const out = [];
  for (const v of values) out.push(out.length && sign * out[out.length - 1] >= sign * v ? out[out.length - 1] : v);
  return out;
}

// Equal-width bins over [min, max]: Sturges' count (log2 n + 1), 4 to 20 bins.
export function histogram(values, bins) {
  if (!values.length) return [];
  let lo = Math.min(...values), hi = Math.max(...values);
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const count = bins || Math.max(4, Math.min(20, Math.ceil(Math.log2(values.length)) + 1));
  const width = (hi - lo) / count;
  const out = Array.from({ length: count }, (_, i) => ({ lo: lo + i * width, hi: lo + (i + 1) * width, count: 0 }));
  for (const v of values) out[Math.min(count - 1, Math.floor((v - lo) / width))].count++;
  return out;
}
