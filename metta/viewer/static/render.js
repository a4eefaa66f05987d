// Map drawing for MettaScope: a camera (pan/zoom in CSS pixels), a pre-rendered background layer
// (floor, grid and the walls that never move), sprites per building type, and agents drawn as
// vector shapes; a building a team owns gets the team's overlay (sprites.json "team") in the
// owner's group colour. Walls, blocks, buildings and agents are the primitives of sprites.json (see
// `drawShape`), the same rules mettagrid/renderer/image.py draws map images with. `draw`
// allocates nothing in the steady state.

import {
  COLORS, ORIENTATION_NAMES, SPRITES, agentColorRing, buildingStyle, groupColor, itemColor, resolveColor,
} from "./palette.js";

const TAU = Math.PI * 2;
const MAX_LAYER_PIXELS = 4_000_000;
const MAX_SCALE = 160;

const RING_COLORS = Array.from({ length: 256 }, (_, i) => agentColorRing(i));

// ---------------------------------------------------------------------------------------------
// sprite primitives (sprites.json)

const SHAPE_KEYS = ["rect", "polygon", "circle", "line", "text"];
const SIDE_BITS = { up: 1, down: 2, left: 4, right: 8 };
const ALL_OPEN = 15;

/** The primitives of sprites.json with their colours resolved against `named` (body, accent,
 * group, ring, letter), ready for `drawShape`. */
function compileShape(primitives, named = {}) {
  return primitives.map((p) => {
    const shape = SHAPE_KEYS.find((key) => key in p);
    if (!shape) throw new Error(`sprites.json: a primitive without a shape: ${JSON.stringify(p)}`);
    return {
      shape,
      coords: shape === "text" ? p.at : p[shape],
      text: shape === "text" ? String(named[p.text] ?? p.text) : "",
      size: p.size ?? 0,
      radius: p.radius ?? 0,
      fill: p.fill && shape !== "line" ? resolveColor(p.fill, named) : null,
      stroke: p.stroke ? resolveColor(p.stroke, named) : null,
      width: p.width ?? 0,
      minWidth: p.min_width ?? 0,
      alpha: p.alpha ?? 1,
      minCell: p.min_cell ?? 0,
      openBit: p.open ? SIDE_BITS[p.open] : 0,
    };
  });
}

/** Draw compiled primitives into the `s`-pixel square at (x, y). `open` has a bit per side
 * (up 1, down 2, left 4, right 8) whose neighbour is not the same tile; `snap` puts rectangle
 * edges on whole pixels (at least one pixel thick) for the background layer. */
function drawShape(ctx, shape, x, y, s, open = ALL_OPEN, snap = false) {
  for (let i = 0; i < shape.length; i++) {
    const p = shape[i];
    if (s < p.minCell || (p.openBit !== 0 && (open & p.openBit) === 0)) continue;
    const c = p.coords;
    ctx.globalAlpha = p.alpha;
    if (p.shape === "text") {
      ctx.font = `700 ${Math.round(p.size * s)}px system-ui, sans-serif`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillStyle = p.fill;
      ctx.fillText(p.text, x + c[0] * s, y + c[1] * s);
      continue;
    }
    ctx.beginPath();
    switch (p.shape) {
      case "rect":
        if (snap) snappedRect(ctx, x, y, s, c);
        else if (p.radius > 0) roundRect(ctx, x + c[0] * s, y + c[1] * s, c[2] * s, c[3] * s, p.radius * s);
        else ctx.rect(x + c[0] * s, y + c[1] * s, c[2] * s, c[3] * s);
        break;
      case "polygon":
      case "line":
        ctx.moveTo(x + c[0] * s, y + c[1] * s);
        for (let k = 2; k < c.length; k += 2) ctx.lineTo(x + c[k] * s, y + c[k + 1] * s);
        if (p.shape === "polygon") ctx.closePath();
        break;
      case "circle":
        ctx.arc(x + c[0] * s, y + c[1] * s, c[2] * s, 0, TAU);
        break;
    }
    if (p.fill) {
      ctx.fillStyle = p.fill;
      ctx.fill();
    }
    if (p.stroke) {
      ctx.strokeStyle = p.stroke;
      ctx.lineWidth = Math.max(p.minWidth, p.width * s);
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      ctx.stroke();
    }
  }
  ctx.globalAlpha = 1;
  ctx.lineJoin = "miter";
  ctx.lineCap = "butt";
}

function snappedRect(ctx, x, y, s, c) {
  let x0 = Math.round(x + c[0] * s), x1 = Math.round(x + (c[0] + c[2]) * s);
  let y0 = Math.round(y + c[1] * s), y1 = Math.round(y + (c[1] + c[3]) * s);
  if (x1 - x0 < 1) { if (x0 >= Math.round(x + s)) x0 = x1 - 1; else x1 = x0 + 1; }
  if (y1 - y0 < 1) { if (y0 >= Math.round(y + s)) y0 = y1 - 1; else y1 = y0 + 1; }
  ctx.rect(x0, y0, x1 - x0, y1 - y0);
}

const WALL = compileShape(SPRITES.wall);
const BLOCK = compileShape(SPRITES.block);
const COOLING = compileShape(SPRITES.converter.cooling);
const CONVERTING = compileShape(SPRITES.converter.converting);
const FACING = ORIENTATION_NAMES.map((name) => compileShape(SPRITES.agent.facing[name]));
const FROZEN = compileShape(SPRITES.agent.frozen);
const THING_INSET = SPRITES.thing_inset;

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
    this.sprites = [];      // by object type: neutral buildings, blocks, moving walls
    this.teamSprites = [];  // by owner group id, then object type
    this.spriteRes = 0;
    this.hoverRow = -1;
    this.hoverCol = -1;
    this.fitted = false;
  }

  setModel(model) {
    this.model = model;
    this.itemColors = model.itemNames.map(itemColor);
    this.groupShapes = [];  // compiled agent body per group id
    this.ringShapes = [];   // compiled colour ring per `color` value
    this.sprites = [];
    this.teamSprites = [];
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
    for (let r = 0; r < m.height; r++) {
      for (let c = 0; c < m.width; c++) {
        if (!solid[r * m.width + c]) continue;
        const open = (wallAt(r - 1, c) ? 0 : 1) | (wallAt(r + 1, c) ? 0 : 2) |
                     (wallAt(r, c - 1) ? 0 : 4) | (wallAt(r, c + 1) ? 0 : 8);
        drawShape(ctx, WALL, c * cell, r * cell, cell, open, true);
      }
    }
    this.layer = layer;
    this.layerCell = cell;
  }

  // -------------------------------------------------------------------------------------------
  // sprites (buildings, blocks, anything that is not an agent), one per object type

  sprite(obj, team = 0) {
    if (team > 0) {
      const byType = this.teamSprites[team] ?? (this.teamSprites[team] = []);
      return byType[obj.type] ?? (byType[obj.type] = makeSprite(obj, this.spriteRes, team));
    }
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
      this.teamSprites = [];
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
    const inset = s * THING_INSET;
    const team = obj.kind === "converter" ? obj.team.at(step) : 0;
    ctx.drawImage(this.sprite(obj, team), x + inset, y + inset, s - 2 * inset, s - 2 * inset);
    if (obj.kind !== "converter") return;
    if (obj.coolingDown.at(step) > 0) drawShape(ctx, COOLING, x, y, s);
    if (obj.converting.at(step) > 0) drawShape(ctx, CONVERTING, x, y, s);
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
    const group = agent.group.at(step);
    let body = this.groupShapes[group];
    if (!body) body = this.groupShapes[group] = compileShape(SPRITES.agent.body, { group: groupColor(group) });
    drawShape(ctx, body, x, y, s);

    const color = agent.color.at(step) & 255;
    if (color !== 0) {
      let ring = this.ringShapes[color];
      if (!ring) ring = this.ringShapes[color] = compileShape(SPRITES.agent.ring, { ring: RING_COLORS[color] });
      drawShape(ctx, ring, x, y, s);
    }

    // Facing marker: a triangle from the rim outwards (the centre keeps the group colour).
    drawShape(ctx, FACING[agent.orientation.at(step) & 3], x, y, s);
    if (agent.frozen.at(step) > 0) drawShape(ctx, FROZEN, x, y, s);

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

function makeSprite(obj, res, team = 0) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = res;
  const ctx = canvas.getContext("2d");
  drawShape(ctx, spriteShape(obj, team), 0, 0, res);
  return canvas;
}

/** A building's primitives: body, the owner's team overlay when `team` > 0, icon. */
function spriteShape(obj, team = 0) {
  if (obj.kind === "block") return BLOCK;
  if (obj.kind === "wall") return WALL;
  const style = buildingStyle(obj.typeName);
  const icon = SPRITES.icons[style.icon] ?? SPRITES.icons.letter;
  if (team > 0) return compileShape([...SPRITES.building, ...SPRITES.team, ...icon], { ...style, team: groupColor(team) });
  return compileShape([...SPRITES.building, ...icon], style);
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}
