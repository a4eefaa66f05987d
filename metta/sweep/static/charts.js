// A small SVG plotting kit for the sweep dashboard: scales (linear and log), axes with tidy
// ticks, and marks (points, crosses, lines, rectangles). Each chart is an <svg> with a viewBox,
// so it scales with its panel. Marks that stand for a run carry `data-run` (main.js gives them
// tooltips and clicks); nothing here knows about runs.

const SVG_NS = "http://www.w3.org/2000/svg";

export function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// Short numbers for ticks and cards: 3 significant digits, k/M for large, exponent for tiny.
export function fmt(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  const trim = (s) => (s.includes("e") ? s : s.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, ""));
  if (a === 0) return "0";
  if (a >= 1e6) return trim((v / 1e6).toPrecision(digits)) + "M";
  if (a >= 1e4) return trim((v / 1e3).toPrecision(digits)) + "k";
  if (a < 1e-3) return v.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, "e");
  return trim(v.toPrecision(digits));
}

// Seconds as the unit that reads best: s, min or h.
export function costUnit(maxSeconds) {
  if (maxSeconds >= 2 * 3600) return { name: "h", factor: 3600 };
  if (maxSeconds >= 120) return { name: "min", factor: 60 };
  return { name: "s", factor: 1 };
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  if (seconds < 1) return seconds > 0 ? "< 1 s" : "0 s";
  const unit = costUnit(seconds);
  return `${fmt(seconds / unit.factor)} ${unit.name}`;
}

function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
}

function linearTicks(lo, hi, count) {
  const step = niceStep(hi - lo, count);
  const ticks = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let i = first; i * step <= hi + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

function logTicks(lo, hi, base, count) {
  const ticks = [];
  if (base === 2) {
    for (let k = Math.ceil(Math.log2(lo) - 1e-9); 2 ** k <= hi * (1 + 1e-9); k++) ticks.push(2 ** k);
  } else {
    for (let k = Math.floor(Math.log10(lo)); 10 ** k <= hi * (1 + 1e-9); k++) {
      const multiples = Math.log10(hi / lo) < 1.5 ? [1, 2, 5] : [1];
      for (const m of multiples) if (m * 10 ** k >= lo * (1 - 1e-9) && m * 10 ** k <= hi * (1 + 1e-9)) ticks.push(m * 10 ** k);
    }
  }
  if (ticks.length < 2) return linearTicks(lo, hi, count);
  const every = Math.ceil(ticks.length / count);
  return ticks.filter((_, i) => i % every === 0);
}

// A scale from data to pixels. `log` works in log space; a domain of one value is widened;
// `pad` adds that fraction of the span on each side so marks do not sit on the frame.
// (Axis options also take `label`, `format` for tick labels and `integer` for whole ticks only.)
// `zero`: a count axis whose domain starts at 0 is not padded below 0 (issue #20: y from 0).
export function makeScale({ domain, range, log = false, base = 10, pad = 0.05, zero = false }) {
  let [lo, hi] = domain;
  if (log && !(lo > 0)) log = false;  // non-positive data cannot go on a log axis
  const to = log ? Math.log : (v) => v;
  const from = log ? Math.exp : (v) => v;
  let a = to(lo), b = to(hi);
  if (!(b > a)) {  // one value: a little either side of it ([0, 1] for zero, so costs stay positive)
    const w = a === 0 ? 1 : Math.abs(a) * 0.1;
    if (a !== 0) a -= w;
    b += w;
  }
  const span = b - a;
  if (!(zero && !log && a === 0)) a -= span * pad;
  b += span * pad;
  const [r0, r1] = range;
  const map = (v) => r0 + ((to(v) - a) / (b - a)) * (r1 - r0);
  return { map, log, lo: from(a), hi: from(b), ticks: (count = 5) => (log ? logTicks(from(a), from(b), base, count) : linearTicks(from(a), from(b), count)) };
}

// One chart: an <svg> with a plotting area inside margins, an x and a y scale, and marks.
export class Plot {
  constructor(container, { width = 560, height = 300, margin = {}, x, y, title }) {
    this.width = width;
    this.height = height;
    this.m = { top: 14, right: 18, bottom: 44, left: 58, ...margin };
    this.svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title || "" });
    container.append(this.svg);
    this.grid = this.svg.appendChild(svgEl("g", { class: "grid" }));
    this.marks = this.svg.appendChild(svgEl("g", { class: "marks" }));
    this.x = x ? makeScale({ ...x, range: [this.m.left, width - this.m.right] }) : null;
    this.y = y ? makeScale({ ...y, range: [height - this.m.bottom, this.m.top] }) : null;
    this.xOpts = x || {};
    this.yOpts = y || {};
  }

  get bottom() { return this.height - this.m.bottom; }

  // Frame, grid lines, tick labels and axis titles.
  axes({ xTicks = 6, yTicks = 5 } = {}) {
    const { m, width, height } = this;
    const g = this.grid;
    g.append(svgEl("rect", { class: "frame", x: m.left, y: m.top, width: width - m.left - m.right, height: height - m.top - m.bottom }));
    if (this.x) {
      const format = this.xOpts.format || fmt;
      for (const t of this.x.ticks(xTicks).filter((v) => !this.xOpts.integer || Number.isInteger(v))) {
        const px = this.x.map(t);
        g.append(svgEl("line", { class: "gridline", x1: px, x2: px, y1: m.top, y2: height - m.bottom }));
        g.append(svgEl("text", { class: "tick", x: px, y: height - m.bottom + 15, "text-anchor": "middle" }, format(t)));
      }
      if (this.xOpts.label) {
        g.append(svgEl("text", { class: "axis-label", x: (m.left + width - m.right) / 2, y: height - 8, "text-anchor": "middle" }, this.xOpts.label));
      }
    }
    if (this.y) {
      const format = this.yOpts.format || fmt;
      for (const t of this.y.ticks(yTicks).filter((v) => !this.yOpts.integer || Number.isInteger(v))) {
        const py = this.y.map(t);
        g.append(svgEl("line", { class: "gridline", x1: m.left, x2: width - m.right, y1: py, y2: py }));
        g.append(svgEl("text", { class: "tick", x: m.left - 6, y: py + 4, "text-anchor": "end" }, format(t)));
      }
      if (this.yOpts.label) {
        const cy = (m.top + height - m.bottom) / 2;
        g.append(svgEl("text", { class: "axis-label", x: 14, y: cy, "text-anchor": "middle", transform: `rotate(-90 14 ${cy})` }, this.yOpts.label));
      }
    }
    return this;
  }

  line(points, cls) {
    if (points.length < 2) return null;
    const d = points.map(([x, y], i) => `${i ? "L" : "M"}${this.x.map(x).toFixed(1)},${this.y.map(y).toFixed(1)}`).join("");
    return this.marks.appendChild(svgEl("path", { class: cls, d }));
  }

  point(x, y, { r = 4.5, cls = "point", ...attrs } = {}) {
    return this.marks.appendChild(svgEl("circle", { cx: this.x.map(x).toFixed(1), cy: this.y.map(y).toFixed(1), r, class: cls, ...attrs }));
  }

  // An x mark at pixel height `py` (failed runs sit on the axis); a clear disc makes it easy to hit.
  cross(x, py, { size = 4.5, cls = "point failed", ...attrs } = {}) {
    const px = this.x.map(x);
    const g = svgEl("g", { class: cls, transform: `translate(${px.toFixed(1)},${py.toFixed(1)})`, ...attrs });
    g.append(svgEl("circle", { r: size + 2, class: "hit" }));
    g.append(svgEl("path", { d: `M${-size},${-size}L${size},${size}M${-size},${size}L${size},${-size}` }));
    return this.marks.appendChild(g);
  }

  rect(x0, x1, y0, y1, attrs = {}) {
    const [a, b] = [this.x.map(x0), this.x.map(x1)];
    const [c, d] = [this.y.map(y0), this.y.map(y1)];
    return this.marks.appendChild(svgEl("rect", { x: Math.min(a, b), y: Math.min(c, d), width: Math.abs(b - a), height: Math.abs(d - c), ...attrs }));
  }

  note(text) {
    this.svg.append(svgEl("text", { class: "empty", x: this.width / 2, y: this.height / 2, "text-anchor": "middle" }, text));
  }
}

// A row of swatches under a chart title: [[label, cls, shape], ...] where shape is dot|cross|line.
export function legend(items) {
  const box = document.createElement("div");
  box.className = "legend";
  for (const [label, cls, shape] of items) {
    const key = svgEl("svg", { viewBox: "0 0 16 12", width: 16, height: 12 });
    if (shape === "cross") key.append(svgEl("path", { class: cls, d: "M4,2L12,10M4,10L12,2" }));
    else if (shape === "line") key.append(svgEl("path", { class: cls, d: "M1,6L15,6" }));
    else key.append(svgEl("circle", { class: cls, cx: 8, cy: 6, r: 4.5 }));
    const item = document.createElement("span");
    item.append(key, label);
    box.append(item);
  }
  return box;
}
