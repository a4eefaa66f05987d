// A small canvas line chart: fills its card, smoothing, hover readout of every series,
// log/linear y, y from 0 for non-negative data, one number format (fmt).
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#7f7f7f", "#bcbd22"];

function fmt(v) {
  if (v === null || v === undefined || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toPrecision(3) + "G";
  if (a >= 1e6) return (v / 1e6).toPrecision(3) + "M";
  if (a >= 1e4) return (v / 1e3).toPrecision(3) + "k";
  if (a === 0) return "0";
  if (a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));  // 4 significant digits everywhere: axes, readouts, tables
}

// Exponential moving average with bias correction, so the first points are not pulled to 0.
function smooth(ys, weight) {
  if (!weight) return ys;
  const out = new Array(ys.length);
  let acc = 0, norm = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y === null || !isFinite(y)) { out[i] = null; continue; }
    acc = acc * weight + (1 - weight) * y;
    norm = norm * weight + (1 - weight);
    out[i] = acc / norm;
  }
  return out;
}

class LineChart {
  constructor(card, title) {
    this.card = card;
    this.title = title;
    this.series = [];
    this.options = { smoothing: 0, log: false, xLabel: "agent steps" };
    card.classList.add("chart-card");
    card.innerHTML = "";
    const head = document.createElement("div");
    head.className = "chart-title";
    head.textContent = title;
    this.canvas = document.createElement("canvas");
    this.readout = document.createElement("div");
    this.readout.className = "readout";
    card.append(head, this.canvas, this.readout);
    this.canvas.addEventListener("mousemove", (e) => this.hover(e));
    this.canvas.addEventListener("mouseleave", () => { this.hoverX = null; this.draw(); });
    new ResizeObserver(() => this.draw()).observe(card);
  }

  set(series, options) {
    this.series = series;  // [{name, color, x: [], y: []}]
    Object.assign(this.options, options || {});
    this.draw();
  }

  layout() {
    const width = Math.max(200, this.card.clientWidth - 16);
    const height = 220;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== width * dpr || this.canvas.height !== height * dpr) {
      this.canvas.width = width * dpr;
      this.canvas.height = height * dpr;
      this.canvas.style.width = width + "px";
      this.canvas.style.height = height + "px";
    }
    return { width, height, dpr, left: 56, right: 10, top: 8, bottom: 26 };
  }

  ranges() {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const log = this.options.log;
    this.drawn = this.series.map((s) => ({ ...s, ys: smooth(s.y, this.options.smoothing) }));
    for (const s of this.drawn) {
      for (let i = 0; i < s.x.length; i++) {
        const y = s.ys[i];
        if (y === null || !isFinite(y) || (log && y <= 0)) continue;
        if (s.x[i] < x0) x0 = s.x[i];
        if (s.x[i] > x1) x1 = s.x[i];
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    if (!isFinite(x0)) return null;
    if (!log && y0 >= 0) y0 = 0;  // counts, rewards >= 0, rates: the axis starts at zero
    if (y1 === y0) { y1 = y0 + (Math.abs(y0) || 1); }
    if (x1 === x0) x1 = x0 + 1;
    return { x0, x1, y0, y1 };
  }

  draw() {
    const L = this.layout();
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(L.dpr, 0, 0, L.dpr, 0, 0);
    ctx.clearRect(0, 0, L.width, L.height);
    const r = this.ranges();
    this.scale = null;
    if (!r) { ctx.fillStyle = "#888"; ctx.fillText("no data yet", L.width / 2 - 30, L.height / 2); this.readout.textContent = ""; return; }
    const log = this.options.log;
    const ty = (v) => (log ? Math.log10(v) : v);
    const [yl, yh] = [ty(r.y0), ty(r.y1)];
    const px = (x) => L.left + ((x - r.x0) / (r.x1 - r.x0)) * (L.width - L.left - L.right);
    const py = (y) => L.top + (1 - (ty(y) - yl) / (yh - yl)) * (L.height - L.top - L.bottom);
    this.scale = { r, px, L };
    ctx.strokeStyle = "#ddd"; ctx.fillStyle = "#555"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
    for (const t of ticks(yl, yh, log)) {
      const v = log ? Math.pow(10, t) : t;
      const y = py(v);
      ctx.beginPath(); ctx.moveTo(L.left, y); ctx.lineTo(L.width - L.right, y); ctx.stroke();
      ctx.fillText(fmt(v), 4, y + 4);
    }
    for (const v of ticks(r.x0, r.x1, false)) ctx.fillText(fmt(v), Math.min(px(v) - 10, L.width - 40), L.height - 8);
    ctx.fillText(this.options.xLabel, L.width - L.right - 80, L.height - 8 - 12);
    for (const s of this.drawn) {
      ctx.strokeStyle = s.color; ctx.lineWidth = 1.5; ctx.beginPath();
      let pen = false, lastPx = -1;
      for (let i = 0; i < s.x.length; i++) {
        const y = s.ys[i];
        if (y === null || !isFinite(y) || (log && y <= 0)) { pen = false; continue; }
        const X = px(s.x[i]);
        if (pen && X - lastPx < 0.5 && i < s.x.length - 1) continue;  // many points per pixel: draw one
        if (pen) ctx.lineTo(X, py(y)); else ctx.moveTo(X, py(y));
        pen = true; lastPx = X;
      }
      ctx.stroke();
    }
    if (this.hoverX !== null && this.hoverX !== undefined) this.showReadout(ctx, py);
  }

  hover(event) {
    const box = this.canvas.getBoundingClientRect();
    this.hoverX = event.clientX - box.left;
    this.draw();
  }

  showReadout(ctx, py) {
    const { r, L } = this.scale;
    const x = r.x0 + ((this.hoverX - L.left) / (L.width - L.left - L.right)) * (r.x1 - r.x0);
    ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(this.hoverX, L.top); ctx.lineTo(this.hoverX, L.height - L.bottom); ctx.stroke();
    const rows = [];
    for (const s of this.drawn) {
      const i = nearest(s.x, x);
      if (i < 0 || s.y[i] === null) continue;
      const smoothed = this.options.smoothing ? ` (smoothed ${fmt(s.ys[i])})` : "";
      rows.push(`<div class="row" data-series="${esc(s.name)}" data-x="${s.x[i]}" data-value="${s.y[i]}">` +
        `<span class="swatch" style="background:${s.color}"></span>${esc(s.name)}: <b>${fmt(s.y[i])}</b>${smoothed}` +
        ` <span class="muted">at ${fmt(s.x[i])}</span></div>`);
      if (s.ys[i] !== null && (!this.options.log || s.ys[i] > 0)) {
        ctx.fillStyle = s.color; ctx.beginPath(); ctx.arc(this.scale.px(s.x[i]), py(s.ys[i]), 3, 0, 7); ctx.fill();
      }
    }
    this.readout.innerHTML = rows.join("");
  }
}

// Round-numbered ticks (1, 2, 5 x 10^k) inside [lo, hi]; on a log axis, the decades (t is log10 v).
function ticks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let t = Math.ceil(lo); t <= Math.floor(hi); t++) out.push(t);
    return out.length >= 2 ? out : [lo, hi];
  }
  const raw = (hi - lo) / 4, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function nearest(xs, x) {
  if (!xs.length) return -1;
  let lo = 0, hi = xs.length - 1;
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (xs[mid] < x) lo = mid; else hi = mid; }
  return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
}

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
