// The selected agent's action timeline: one column per step coloured by the action taken at that
// step, failed actions darkened with a red mark underneath, frozen steps marked in light blue on
// top, and the current step as a cursor. The strip is rendered once into an image (one pixel per
// step) when the agent or the replay changes and stretched onto the canvas each frame.

import { COLORS, actionColor, hexToRgb } from "./palette.js";

const MAX_COLUMNS = 8192;
const ROWS = 24;          // image rows: 0-3 frozen band, 4-19 action band, 20-23 failure band
const BG = "#12161c";

function pack(r, g, b) {
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

export class Timeline {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.model = null;
    this.agent = null;
    this.image = document.createElement("canvas");
    this.dirty = true;
    this.dpr = 1;
    this.width = 0;
    this.height = 0;
  }

  setModel(model) {
    this.model = model;
    this.agent = null;
    this.colors = model.actionNames.map((name) => {
      const [r, g, b] = hexToRgb(actionColor(name));
      return [pack(r, g, b), pack(Math.round(r * 0.4), Math.round(g * 0.4), Math.round(b * 0.4))];
    });
    this.dirty = true;
  }

  setAgent(agent) {
    if (agent !== this.agent) {
      this.agent = agent;
      this.dirty = true;
    }
  }

  invalidate() {
    this.dirty = true;
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(rect.width * dpr)), h = Math.max(1, Math.round(rect.height * dpr));
    if (w === this.canvas.width && h === this.canvas.height && dpr === this.dpr) return false;
    this.canvas.width = w;
    this.canvas.height = h;
    this.dpr = dpr;
    this.width = rect.width;
    this.height = rect.height;
    return true;
  }

  /** The step under CSS x of the canvas. */
  stepAtX(x) {
    if (!this.model || this.width <= 0) return 0;
    const n = this.model.numSteps;
    return Math.max(0, Math.min(n - 1, Math.floor((x / this.width) * n)));
  }

  build() {
    this.dirty = false;
    const m = this.model;
    const n = m.numSteps;
    const w = Math.min(n, MAX_COLUMNS);
    const image = this.image;
    image.width = w;
    image.height = ROWS;
    const ctx = image.getContext("2d");
    const data = ctx.createImageData(w, ROWS);
    const px = new Uint32Array(data.data.buffer);
    const [br, bg, bb] = hexToRgb(BG);
    px.fill(pack(br, bg, bb));
    const agent = this.agent;
    if (agent) {
      const [fr, fg, fb] = hexToRgb(COLORS.frozen);
      const [xr, xg, xb] = hexToRgb(COLORS.failed);
      const frozenColor = pack(fr, fg, fb), failedColor = pack(xr, xg, xb);
      const unknown = [pack(120, 120, 120), pack(50, 50, 50)];
      const action = agent.action, success = agent.actionSuccess, frozen = agent.frozen;
      let ai = 0, si = 0, fi = 0;
      for (let t = 1; t < n; t++) {  // step 0 has no action
        while (ai + 1 < action.count && action.steps[ai + 1] <= t) ai++;
        while (si + 1 < success.count && success.steps[si + 1] <= t) si++;
        while (fi + 1 < frozen.count && frozen.steps[fi + 1] <= t) fi++;
        const value = action.values[ai];
        const id = value ? value[0] : 0;
        const ok = success.values[si] !== 0;
        const isFrozen = frozen.values[fi] > 0;
        const colors = this.colors[id] ?? unknown;
        const x = w === n ? t : Math.floor((t * w) / n);
        const c = ok ? colors[0] : colors[1];
        for (let y = 4; y < 20; y++) px[y * w + x] = c;
        if (!ok) for (let y = 20; y < ROWS; y++) px[y * w + x] = failedColor;
        if (isFrozen) for (let y = 0; y < 4; y++) px[y * w + x] = frozenColor;
      }
    }
    ctx.putImageData(data, 0, 0);
  }

  draw(step) {
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = BG;
    ctx.fillRect(0, 0, this.width, this.height);
    if (!this.model) return;
    if (this.dirty) this.build();
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.image, 0, 0, this.width, this.height);
    if (!this.agent) {
      ctx.fillStyle = "#8b949e";
      ctx.font = "12px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("select an agent to see its actions", this.width / 2, this.height / 2);
    }
    const n = this.model.numSteps;
    const x = ((step + 0.5) / n) * this.width;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(Math.round(x) - 1, 0, 2, this.height);
    ctx.beginPath();
    ctx.moveTo(x - 5, 0);
    ctx.lineTo(x + 5, 0);
    ctx.lineTo(x, 6);
    ctx.closePath();
    ctx.fill();
  }
}
