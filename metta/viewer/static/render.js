// Map drawing for MettaScope: a camera (pan/zoom in CSS pixels), a pre-rendered background layer
// (floor, grid and the walls that never move), sprites per building type, and agents drawn as
// vector shapes. `draw` allocates nothing in the steady state.

import { COLORS, agentColorRing, buildingStyle, groupColor, itemColor, shade } from "./palette.js";

const TAU = Math.PI * 2;
const DR = [-1, 1, 0, 0];  // orientation 0 up, 1 down, 2 left, 3 right
const DC = [0, 0, -1, 1];
const MAX_LAYER_PIXELS = 4_000_000;
const MAX_SCALE = 160;

const RING_COLORS = Array.from({ length: 256 }, (_, i) => agentColorRing(i));

export class MapRenderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.model = null;
    this.dpr = 1;
    this.width = 0;   // CSS pixels
    this.height = 0;
    this.scale = 16;  // CSS pixels per cell
    this.ox = 0;      // CSS position of the map's top-left corner
    this.oy = 0;
    this.layer = null;
    this.sprites = [];
    this.spriteRes = 0;
    this.hoverRow = -1;
    this.hoverCol = -1;
    this.fitted = false;
  }

  setModel(model) {
    this.model = model;
    this.itemColors = model.itemNames.map(itemColor);
    this.groupStroke = [];
    this.sprites = [];
    this.buildLayer();
    this.resize();
    this.fit();
  }

  clear() {
    this.model = null;
    this.layer = null;
  }

  itemColor(index) {
    return this.itemColors[index] ?? itemColor(`item_${index}`);
  }

  /** Match the canvas backing store to its CSS size; true when it changed. */
  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(rect.width * dpr));
    const h = Math.max(1, Math.round(rect.height * dpr));
    const changed = w !== this.canvas.width || h !== this.canvas.height || dpr !== this.dpr;
    if (changed) {
      const oldW = this.width, oldH = this.height;
      this.canvas.width = w;
      this.canvas.height = h;
      this.dpr = dpr;
      this.width = rect.width;
      this.height = rect.height;
      if (oldW > 0 && oldH > 0) {  // keep the view centred
        this.ox += (this.width - oldW) / 2;
        this.oy += (this.height - oldH) / 2;
      }
    }
    return changed;
  }

  get minScale() {
    if (!this.model) return 1;
    return Math.min(2, 0.5 * Math.min(this.width / this.model.width, this.height / this.model.height));
  }

  fit() {
    const m = this.model;
    if (!m || this.width <= 0 || this.height <= 0) return;
    const pad = 0.98;
    this.scale = Math.min(MAX_SCALE, Math.max(0.5, Math.min(this.width / m.width, this.height / m.height) * pad));
    this.ox = (this.width - m.width * this.scale) / 2;
    this.oy = (this.height - m.height * this.scale) / 2;
    this.fitted = true;
  }

  centerOn(row, col) {
    this.ox = this.width / 2 - (col + 0.5) * this.scale;
    this.oy = this.height / 2 - (row + 0.5) * this.scale;
  }

  panBy(dx, dy) {
    this.ox += dx;
    this.oy += dy;
  }

  zoomAt(x, y, factor) {
    const scale = Math.min(MAX_SCALE, Math.max(this.minScale, this.scale * factor));
    const k = scale / this.scale;
    this.ox = x - (x - this.ox) * k;
    this.oy = y - (y - this.oy) * k;
    this.scale = scale;
  }

  /** The cell under CSS point (x, y) of the canvas, or null outside the map. */
  cellAt(x, y) {
    if (!this.model) return null;
    const col = Math.floor((x - this.ox) / this.scale);
    const row = Math.floor((y - this.oy) / this.scale);
    if (row < 0 || col < 0 || row >= this.model.height || col >= this.model.width) return null;
    return { row, col };
  }

  /** Centre of cell (row, col) in CSS pixels relative to the canvas, and the cell size. */
  cellToCanvas(row, col) {
    return { x: this.ox + (col + 0.5) * this.scale, y: this.oy + (row + 0.5) * this.scale, size: this.scale };
  }

  // -------------------------------------------------------------------------------------------
  // static layer

  buildLayer() {
    const m = this.model;
    const cell = Math.max(2, Math.min(32, Math.floor(Math.sqrt(MAX_LAYER_PIXELS / (m.width * m.height)))));
    const layer = document.createElement("canvas");
    layer.width = m.width * cell;
    layer.height = m.height * cell;
    const ctx = layer.getContext("2d", { alpha: false });
    ctx.fillStyle = COLORS.floor;
    ctx.fillRect(0, 0, layer.width, layer.height);
    if (cell >= 6) {
      ctx.fillStyle = COLORS.grid;
      for (let c = 0; c <= m.width; c++) ctx.fillRect(c * cell, 0, 1, layer.height);
      for (let r = 0; r <= m.height; r++) ctx.fillRect(0, r * cell, layer.width, 1);
    }
    const solid = new Uint8Array(m.width * m.height);
    const inside = (r, c) => r >= 0 && c >= 0 && r < m.height && c < m.width;
    for (const wall of m.walls) {
      const r = wall.row.at(0), c = wall.col.at(0);
      if (inside(r, c)) solid[r * m.width + c] = 1;
    }
    const wallAt = (r, c) => inside(r, c) && solid[r * m.width + c] === 1;
    const edge = Math.max(1, Math.floor(cell / 8));
    for (let r = 0; r < m.height; r++) {
      for (let c = 0; c < m.width; c++) {
        if (!solid[r * m.width + c]) continue;
        const x = c * cell, y = r * cell;
        ctx.fillStyle = COLORS.wall;
        ctx.fillRect(x, y, cell, cell);
        if (cell < 4) continue;
        ctx.fillStyle = COLORS.wallLight;
        if (!wallAt(r - 1, c)) ctx.fillRect(x, y, cell, edge);
        ctx.fillStyle = COLORS.wallEdge;
        if (!wallAt(r + 1, c)) ctx.fillRect(x, y + cell - edge, cell, edge);
        if (!wallAt(r, c - 1)) ctx.fillRect(x, y, edge, cell);
        if (!wallAt(r, c + 1)) ctx.fillRect(x + cell - edge, y, edge, cell);
      }
    }
    this.layer = layer;
    this.layerCell = cell;
  }

  // -------------------------------------------------------------------------------------------
  // sprites (buildings, blocks, anything that is not an agent), one per object type

  sprite(obj) {
    let sprite = this.sprites[obj.type];
    if (!sprite) sprite = this.sprites[obj.type] = makeSprite(obj, this.spriteRes);
    return sprite;
  }

  updateSpriteResolution() {
    const px = this.scale * this.dpr;
    const res = px <= 40 ? 48 : px <= 96 ? 112 : 224;
    if (res !== this.spriteRes) {
      this.spriteRes = res;
      this.sprites = [];
    }
  }

  // -------------------------------------------------------------------------------------------
  // frame

  draw(step, selectedId, selectedObjectId = -1) {
    const ctx = this.ctx;
    const m = this.model;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = COLORS.outside;
    ctx.fillRect(0, 0, this.width, this.height);
    if (!m || !this.layer) return;
    const s = this.scale, ox = this.ox, oy = this.oy;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.layer, ox, oy, m.width * s, m.height * s);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    this.updateSpriteResolution();

    const c0 = Math.floor(-ox / s) - 1, c1 = Math.ceil((this.width - ox) / s);
    const r0 = Math.floor(-oy / s) - 1, r1 = Math.ceil((this.height - oy) / s);
    const detail = s >= 36;
    if (detail && s !== this.fontScale) {  // font strings only change with the zoom
      this.fontScale = s;
      this.labelFont = `600 ${Math.max(9, Math.round(s * 0.2))}px system-ui, sans-serif`;
      this.countFont = `700 ${Math.max(8, Math.round(s * 0.17))}px system-ui, sans-serif`;
    }

    const things = m.things;
    for (let i = 0; i < things.length; i++) {
      const obj = things[i];
      const r = obj.row.at(step), c = obj.col.at(step);
      if (r < r0 || r > r1 || c < c0 || c > c1) continue;
      this.drawThing(obj, step, ox + c * s, oy + r * s, s, detail);
    }

    let selected = null;
    const agents = m.agentList;
    for (let i = 0; i < agents.length; i++) {
      const agent = agents[i];
      const r = agent.row.at(step), c = agent.col.at(step);
      if (r < r0 || r > r1 || c < c0 || c > c1) continue;
      this.drawAgent(agent, step, ox + c * s, oy + r * s, s, detail);
      if (agent.agentId === selectedId) selected = agent;
    }

    if (this.hoverRow >= 0) {
      ctx.strokeStyle = COLORS.hover;
      ctx.globalAlpha = 0.8;
      ctx.lineWidth = 1;
      ctx.strokeRect(ox + this.hoverCol * s + 0.5, oy + this.hoverRow * s + 0.5, s - 1, s - 1);
      ctx.globalAlpha = 1;
    }
    const building = selectedObjectId >= 0 ? m.byId[selectedObjectId] : null;
    if (building) {
      ctx.strokeStyle = COLORS.hover;
      ctx.lineWidth = Math.max(2, s * 0.08);
      ctx.strokeRect(ox + building.col.at(step) * s - 2, oy + building.row.at(step) * s - 2, s + 4, s + 4);
    }
    if (selected) {
      const x = ox + selected.col.at(step) * s, y = oy + selected.row.at(step) * s;
      const cx = x + s / 2, cy = y + s / 2;
      ctx.lineWidth = Math.max(2, s * 0.08);
      ctx.strokeStyle = COLORS.selection;
      ctx.beginPath();
      ctx.arc(cx, cy, s * 0.52 + 1, 0, TAU);
      ctx.stroke();
      ctx.globalAlpha = 0.35;
      ctx.lineWidth = Math.max(3, s * 0.18);
      ctx.beginPath();
      ctx.arc(cx, cy, s * 0.62 + 3, 0, TAU);
      ctx.stroke();
      ctx.globalAlpha = 1;
    }
  }

  drawThing(obj, step, x, y, s, detail) {
    const ctx = this.ctx;
    const inset = s * 0.04;
    ctx.drawImage(this.sprite(obj), x + inset, y + inset, s - 2 * inset, s - 2 * inset);
    if (obj.kind !== "converter") return;
    if (obj.coolingDown.at(step) > 0) {
      ctx.fillStyle = "rgba(5, 8, 12, 0.38)";
      ctx.fillRect(x + inset, y + inset, s - 2 * inset, s - 2 * inset);
    }
    if (obj.converting.at(step) > 0) {
      ctx.strokeStyle = COLORS.converting;
      ctx.lineWidth = Math.max(1.5, s * 0.09);
      ctx.beginPath();
      ctx.arc(x + s / 2, y + s / 2, s * 0.5, 0, TAU);
      ctx.stroke();
    }
    this.drawPips(obj.inventory.at(step), x, y + s * 0.02, s, detail, false);
    this.drawPips(obj.input.at(step), x, y + s * 0.8, s, detail, true);
  }

  /** A row of item pips (one per item kind) at the top `y` of a cell-wide strip. */
  drawPips(items, x, y, s, detail, hollow) {
    const n = items ? items.length : 0;
    if (n === 0) return;
    const ctx = this.ctx;
    const counts = s >= 52;
    const p = Math.max(2, s * (counts ? 0.2 : 0.17));
    const gap = p * 0.15;
    const total = n * p + (n - 1) * gap;
    let px = x + (s - total) / 2;
    for (let i = 0; i < n; i++) {
      const item = items[i];
      ctx.fillStyle = this.itemColor(item[0]);
      ctx.fillRect(px, y, p, p);
      if (p >= 4) {
        ctx.strokeStyle = hollow ? "#f8f9fa" : "#0b0e13";
        ctx.lineWidth = hollow ? Math.max(1, p * 0.14) : 1;
        ctx.strokeRect(px, y, p, p);
      }
      if (counts && item[1] > 1) {
        ctx.font = this.countFont;
        ctx.fillStyle = "#0b0e13";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(item[1] > 99 ? "99+" : String(item[1]), px + p / 2, y + p / 2 + 0.5, p * 1.4);
      }
      px += p + gap;
    }
  }

  drawAgent(agent, step, x, y, s, detail) {
    const ctx = this.ctx;
    const cx = x + s / 2, cy = y + s / 2;
    const R = s * 0.38;
    const group = agent.group.at(step);
    const body = groupColor(group);
    let stroke = this.groupStroke[group];
    if (!stroke) stroke = this.groupStroke[group] = shade(body, 0.45);

    ctx.fillStyle = body;
    ctx.beginPath();
    ctx.arc(cx, cy, R, 0, TAU);
    ctx.fill();
    ctx.lineWidth = Math.max(1, s * 0.05);
    ctx.strokeStyle = stroke;
    ctx.stroke();

    const color = agent.color.at(step);
    if (color !== 0) {
      ctx.strokeStyle = RING_COLORS[color & 255];
      ctx.lineWidth = Math.max(1.5, s * 0.08);
      ctx.beginPath();
      ctx.arc(cx, cy, R + Math.max(1.5, s * 0.07), 0, TAU);
      ctx.stroke();
    }

    // Facing marker: a triangle from the rim outwards (the centre keeps the group colour).
    const o = agent.orientation.at(step) & 3;
    const dx = DC[o], dy = DR[o];
    ctx.fillStyle = "#f8f9fa";
    ctx.strokeStyle = "#0b0e13";
    ctx.lineWidth = Math.max(0.75, s * 0.025);
    ctx.beginPath();
    ctx.moveTo(cx + dx * R * 1.32, cy + dy * R * 1.32);
    ctx.lineTo(cx + dx * R * 0.5 - dy * R * 0.5, cy + dy * R * 0.5 + dx * R * 0.5);
    ctx.lineTo(cx + dx * R * 0.5 + dy * R * 0.5, cy + dy * R * 0.5 - dx * R * 0.5);
    ctx.closePath();
    ctx.fill();
    if (s >= 12) ctx.stroke();

    if (agent.frozen.at(step) > 0) {
      ctx.fillStyle = "rgba(165, 228, 255, 0.7)";
      ctx.beginPath();
      ctx.arc(cx, cy, R * 1.12, 0, TAU);
      ctx.fill();
      ctx.strokeStyle = COLORS.frozenEdge;
      ctx.lineWidth = Math.max(1.5, s * 0.07);
      ctx.stroke();
      if (s >= 10) {  // a snowflake
        ctx.strokeStyle = "#3b8fc4";
        ctx.lineWidth = Math.max(1, s * 0.04);
        ctx.beginPath();
        for (let k = 0; k < 3; k++) {
          const a = (k * Math.PI) / 3;
          const ex = Math.cos(a) * R * 0.6, ey = Math.sin(a) * R * 0.6;
          ctx.moveTo(cx - ex, cy - ey);
          ctx.lineTo(cx + ex, cy + ey);
        }
        ctx.stroke();
      }
    }

    this.drawPips(agent.inventory.at(step), x, y + s * 0.8, s, detail, false);

    if (detail) {
      ctx.font = this.labelFont;
      ctx.fillStyle = "#e9ecef";
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      ctx.fillText(String(agent.agentId), x + 2, y + 1);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// sprites

function makeSprite(obj, res) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = res;
  const ctx = canvas.getContext("2d");
  ctx.scale(res, res);
  ctx.lineJoin = "round";
  ctx.lineCap = "round";
  if (obj.kind === "block") drawBlock(ctx);
  else if (obj.kind === "wall") drawWallTile(ctx);
  else drawBuilding(ctx, buildingStyle(obj.typeName));
  return canvas;
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

function polygon(ctx, points) {
  ctx.beginPath();
  ctx.moveTo(points[0], points[1]);
  for (let i = 2; i < points.length; i += 2) ctx.lineTo(points[i], points[i + 1]);
  ctx.closePath();
}

function drawWallTile(ctx) {
  ctx.fillStyle = COLORS.wall;
  ctx.fillRect(0, 0, 1, 1);
  ctx.fillStyle = COLORS.wallLight;
  ctx.fillRect(0, 0, 1, 0.12);
  ctx.fillStyle = COLORS.wallEdge;
  ctx.fillRect(0, 0.88, 1, 0.12);
}

function drawBlock(ctx) {
  roundRect(ctx, 0.06, 0.06, 0.88, 0.88, 0.08);
  ctx.fillStyle = COLORS.block;
  ctx.fill();
  ctx.lineWidth = 0.07;
  ctx.strokeStyle = COLORS.blockEdge;
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(0.2, 0.2); ctx.lineTo(0.8, 0.8);
  ctx.moveTo(0.8, 0.2); ctx.lineTo(0.2, 0.8);
  ctx.lineWidth = 0.06;
  ctx.stroke();
}

function drawBuilding(ctx, style) {
  roundRect(ctx, 0.04, 0.04, 0.92, 0.92, 0.16);
  ctx.fillStyle = style.body;
  ctx.fill();
  ctx.lineWidth = 0.06;
  ctx.strokeStyle = shade(style.accent, 0.8);
  ctx.stroke();
  const accent = style.accent;
  ctx.fillStyle = accent;
  ctx.strokeStyle = accent;
  switch (style.icon) {
    case "mine":
      polygon(ctx, [0.14, 0.8, 0.4, 0.28, 0.54, 0.48, 0.66, 0.34, 0.86, 0.8]);
      ctx.fillStyle = shade(style.body, 1.9);
      ctx.fill();
      polygon(ctx, [0.5, 0.44, 0.64, 0.6, 0.5, 0.76, 0.36, 0.6]);
      ctx.fillStyle = accent;
      ctx.fill();
      ctx.lineWidth = 0.03;
      ctx.strokeStyle = "#f8f9fa";
      ctx.stroke();
      break;
    case "generator":
      ctx.beginPath();
      ctx.arc(0.5, 0.5, 0.3, 0, TAU);
      ctx.fill();
      polygon(ctx, [0.54, 0.26, 0.36, 0.54, 0.5, 0.54, 0.45, 0.76, 0.65, 0.44, 0.51, 0.44]);
      ctx.fillStyle = "#fff9db";
      ctx.fill();
      break;
    case "heart":
      ctx.beginPath();
      ctx.moveTo(0.5, 0.78);
      ctx.bezierCurveTo(0.16, 0.56, 0.18, 0.24, 0.38, 0.26);
      ctx.bezierCurveTo(0.45, 0.27, 0.5, 0.33, 0.5, 0.38);
      ctx.bezierCurveTo(0.5, 0.33, 0.55, 0.27, 0.62, 0.26);
      ctx.bezierCurveTo(0.82, 0.24, 0.84, 0.56, 0.5, 0.78);
      ctx.fill();
      break;
    case "shield":
      ctx.beginPath();
      ctx.moveTo(0.5, 0.2);
      ctx.lineTo(0.78, 0.3);
      ctx.quadraticCurveTo(0.78, 0.66, 0.5, 0.82);
      ctx.quadraticCurveTo(0.22, 0.66, 0.22, 0.3);
      ctx.closePath();
      ctx.fill();
      ctx.strokeStyle = style.body;
      ctx.lineWidth = 0.06;
      ctx.beginPath();
      ctx.moveTo(0.5, 0.3); ctx.lineTo(0.5, 0.7);
      ctx.stroke();
      break;
    case "laser":
      ctx.lineWidth = 0.1;
      ctx.beginPath();
      ctx.moveTo(0.24, 0.76); ctx.lineTo(0.78, 0.22);
      ctx.stroke();
      ctx.beginPath();
      ctx.arc(0.28, 0.72, 0.13, 0, TAU);
      ctx.fillStyle = "#fff4e6";
      ctx.fill();
      break;
    case "flask":
      polygon(ctx, [0.42, 0.2, 0.58, 0.2, 0.58, 0.42, 0.78, 0.78, 0.22, 0.78, 0.42, 0.42]);
      ctx.fill();
      ctx.fillStyle = style.body;
      polygon(ctx, [0.33, 0.62, 0.67, 0.62, 0.72, 0.72, 0.28, 0.72]);
      ctx.fill();
      break;
    case "factory":
      polygon(ctx, [0.16, 0.8, 0.16, 0.46, 0.36, 0.34, 0.36, 0.46, 0.56, 0.34, 0.56, 0.46, 0.7, 0.38,
                    0.7, 0.18, 0.82, 0.18, 0.82, 0.8]);
      ctx.fill();
      break;
    case "temple":
      polygon(ctx, [0.5, 0.16, 0.84, 0.36, 0.16, 0.36]);
      ctx.fill();
      ctx.fillRect(0.18, 0.74, 0.64, 0.08);
      for (const x of [0.24, 0.44, 0.64]) ctx.fillRect(x, 0.4, 0.1, 0.32);
      break;
    default:
      ctx.setTransform(1, 0, 0, 1, 0, 0);  // real pixel font sizes
      ctx.font = `700 ${Math.round(ctx.canvas.width * 0.58)}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(style.letter, ctx.canvas.width * 0.5, ctx.canvas.height * 0.54);
  }
}
