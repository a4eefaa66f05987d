// Everyone at once: a scoreboard of team totals, team reward over time, a table of every agent
// (click a row to select it) and a timeline with one row per agent. The per-step series are
// computed once per replay (and again when a live replay grows), so scrubbing only moves a cursor.

import { actionColor, groupColor, hexToRgb } from "./palette.js";

const MAX_SAMPLES = 400;        // points per reward line
const MAX_COLUMNS = 4096;       // timeline image columns (steps are binned beyond this)
const SVG = "http://www.w3.org/2000/svg";
const TEXT_INTERVAL_MS = 200;

/** The page's one number format (main.js uses it too): integers as is, else at most 3
 * decimals with trailing zeros dropped. */
export function fmtNumber(value) {
  if (typeof value !== "number") return String(value ?? "–");
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toFixed(3)));
}

/** Per-team totals at `step`: [{group, name, agents, total}], best first. */
export function teamTotals(model, step) {
  const teams = new Map();
  for (const agent of model.agentList) {
    const group = agent.group.at(step);
    const team = teams.get(group) ?? { group, name: model.groupName(group), agents: 0, total: 0 };
    team.agents += 1;
    team.total += agent.totalReward.at(step);
    teams.set(group, team);
  }
  return [...teams.values()].sort((a, b) => b.total - a.total || a.group - b.group);
}

/** Sampled steps and, per team, total reward at each of them. */
export function rewardSeries(model) {
  const last = Math.max(0, model.maxSteps);
  const count = Math.min(MAX_SAMPLES, last + 1);
  const steps = [...Array(count).keys()].map((i) => (count === 1 ? 0 : Math.round((i * last) / (count - 1))));
  const byTeam = new Map();
  steps.forEach((step, i) => {
    for (const team of teamTotals(model, step)) {
      if (!byTeam.has(team.group)) byTeam.set(team.group, new Array(count).fill(0));
      byTeam.get(team.group)[i] = team.total;
    }
  });
  return { steps, byTeam };
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

export class Overview {
  constructor(elements, { onSelect, onSeek }) {
    this.ui = elements;   // scoreboard, chart, agentsTable, timeline (canvas)
    this.onSelect = onSelect;
    this.onSeek = onSeek;
    this.model = null;
    this.builtAt = -1;
    this.textAt = -Infinity;
    this.trailing = 0;
    this.image = document.createElement("canvas");
    this.ui.agentsTable.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-agent]");
      if (row) this.onSelect(Number(row.dataset.agent));
    });
    this.ui.timeline.addEventListener("pointerdown", (event) => {
      if (!this.model || !this.model.numAgents) return;
      const rect = this.ui.timeline.getBoundingClientRect();
      const agent = Math.floor(((event.clientY - rect.top) / rect.height) * this.model.numAgents);
      const step = Math.round(((event.clientX - rect.left) / rect.width) * this.model.maxSteps);
      this.onSelect(this.model.agentList[Math.max(0, Math.min(this.model.numAgents - 1, agent))].agentId);
      this.onSeek(Math.max(0, Math.min(this.model.maxSteps, step)));
    });
  }

  setModel(model) {
    this.model = model;
    this.builtAt = -1;
    this.rows = new Map();
    this.ui.agentsTable.tBodies[0].replaceChildren(...model.agentList.map((agent) => {
      const row = document.createElement("tr");
      row.dataset.agent = String(agent.agentId);
      for (let i = 0; i < 5; i++) row.append(document.createElement("td"));
      row.cells[0].textContent = String(agent.agentId);
      this.rows.set(agent.agentId, row);
      return row;
    }));
    this.lastStep = -1;
    this.selectedShown = undefined;
  }

  /** Rebuild the series and the timeline image when the replay has grown (live mode). */
  ensureBuilt() {
    if (this.builtAt === this.model.maxSteps) return;
    this.builtAt = this.model.maxSteps;
    this.series = rewardSeries(this.model);
    this.buildChart();
    this.buildTimelineImage();
  }

  buildChart() {
    const { steps, byTeam } = this.series;
    const width = 300, height = 120, pad = 4;
    const values = [0, ...[...byTeam.values()].flat()];
    const low = Math.min(...values), high = Math.max(...values, low + 1e-9);
    const x = (i) => pad + ((width - 2 * pad) * (steps.length === 1 ? 0 : i / (steps.length - 1)));
    const y = (v) => pad + (height - 2 * pad) * (high - v) / (high - low);
    const chart = this.ui.chart;
    chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
    chart.replaceChildren(svg("line", { x1: pad, x2: width - pad, y1: y(0), y2: y(0), class: "zero" }));
    for (const [group, totals] of byTeam) {
      chart.append(svg("polyline", {
        points: totals.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
        stroke: groupColor(group), fill: "none", "stroke-width": 1.5, "data-group": group,
        "data-final": totals[totals.length - 1],
      }));
    }
    this.cursor = svg("line", { y1: pad, y2: height - pad, class: "cursor" });
    chart.append(this.cursor);
    this.chartX = (step) => pad + (width - 2 * pad) * (this.model.maxSteps ? step / this.model.maxSteps : 0);
    this.ui.chartRange.textContent = `${fmtNumber(low)} to ${fmtNumber(high)} reward over ${this.model.maxSteps} steps`;
  }

  buildTimelineImage() {
    const model = this.model;
    const columns = Math.max(1, Math.min(MAX_COLUMNS, model.maxSteps + 1));
    const rows = Math.max(1, model.numAgents);
    this.image.width = columns;
    this.image.height = rows;
    const ctx = this.image.getContext("2d");
    const pixels = ctx.createImageData(columns, rows);
    const colors = model.actionNames.map((name) => hexToRgb(actionColor(name)));
    model.agentList.forEach((agent, r) => {
      for (let c = 0; c < columns; c++) {
        const step = Math.round((c * model.maxSteps) / Math.max(1, columns - 1));
        const action = step === 0 ? null : agent.action.at(step);
        const ok = agent.actionSuccess.at(step) !== 0;
        const [red, green, blue] = action ? (colors[action[0]] ?? [90, 90, 90]) : [18, 22, 28];
        const k = action && !ok ? 0.4 : 1;  // failed actions darker, as in the one-agent timeline
        const at = (r * columns + c) * 4;
        pixels.data.set([red * k, green * k, blue * k, 255], at);
      }
    });
    ctx.putImageData(pixels, 0, 0);
  }

  /** Text and cursors for `step`, with `selected` highlighted. While playing (`live` false for a
   * paused page) the tables are rewritten at most every TEXT_INTERVAL_MS: rewriting 100 rows
   * each frame costs more than drawing the map. The cursors move every frame. */
  update(step, selected, playing = false) {
    if (!this.model) return;
    this.ensureBuilt();
    const now = performance.now();
    clearTimeout(this.trailing);
    if (step !== this.lastStep && playing && now - this.textAt < TEXT_INTERVAL_MS) {
      this.trailing = setTimeout(() => this.update(step, selected, false), TEXT_INTERVAL_MS);  // the last step shown
    } else if (step !== this.lastStep) {
      this.lastStep = step;
      this.textAt = now;
      const board = this.ui.scoreboard.tBodies[0];
      board.replaceChildren(...teamTotals(this.model, step).map((team) => {
        const row = document.createElement("tr");
        row.dataset.group = String(team.group);
        row.dataset.total = String(team.total);
        const swatch = document.createElement("i");
        swatch.style.background = groupColor(team.group);
        const name = document.createElement("td");
        name.append(swatch, ` ${team.name}`);
        row.append(name, Object.assign(document.createElement("td"), { textContent: String(team.agents) }),
                   Object.assign(document.createElement("td"), { textContent: fmtNumber(team.total) }));
        return row;
      }));
      for (const agent of this.model.agentList) {
        const row = this.rows.get(agent.agentId);
        const snap = this.model.agentAt(step, agent.agentId);
        row.cells[1].textContent = snap.groupName;
        row.cells[1].style.color = groupColor(snap.group);
        row.cells[2].textContent = fmtNumber(snap.totalReward);
        row.cells[3].textContent = `${snap.row},${snap.col}`;
        row.cells[4].textContent = Object.entries(snap.inventory).map(([k, v]) => `${k}×${v}`).join(" ");
        row.dataset.reward = String(snap.totalReward);
      }
    }
    if (this.cursor) {
      const x = this.chartX(step).toFixed(1);
      this.cursor.setAttribute("x1", x);
      this.cursor.setAttribute("x2", x);
    }
    if (selected !== this.selectedShown) {
      this.selectedShown = selected;
      for (const [id, row] of this.rows) row.classList.toggle("selected", id === selected);
    }
    this.drawTimeline(step, selected);
  }

  drawTimeline(step, selected) {
    const canvas = this.ui.timeline;
    const rows = Math.max(1, this.model.numAgents);
    // A fixed CSS height (viewer.css): a strip that grew with the agent count would shrink the
    // map after it had fitted itself. Rows share the height; the canvas keeps one pixel per pixel.
    const cssWidth = canvas.clientWidth, cssHeight = canvas.clientHeight;
    if (canvas.width !== cssWidth || canvas.height !== cssHeight) {
      canvas.width = cssWidth;
      canvas.height = cssHeight;
    }
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.image, 0, 0, canvas.width, canvas.height);
    const rowHeight = canvas.height / rows;
    const index = this.model.agentList.findIndex((agent) => agent.agentId === selected);
    if (index >= 0) {
      ctx.strokeStyle = "#ffffff";
      ctx.strokeRect(0.5, index * rowHeight + 0.5, canvas.width - 1, Math.max(1, rowHeight - 1));
    }
    const x = this.model.maxSteps ? (step / this.model.maxSteps) * canvas.width : 0;
    ctx.fillStyle = "#ffe066";
    ctx.fillRect(Math.round(x) - 1, 0, 2, canvas.height);
  }
}
