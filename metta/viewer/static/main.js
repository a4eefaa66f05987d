// MettaScope: the page's wiring. Loading (URL, file picker, drag and drop, live WebSocket),
// playback, the agent panel, pointer and keyboard input, the frame loop and the automation API
// on `window.mettascope`.

import { ReplayError, ReplayModel, decodeReplayBytes, fetchReplayBytes, validateReplay } from "./replay.js";
import { MapRenderer } from "./render.js";
import { Timeline } from "./timeline.js";
import { Overview, fmtNumber } from "./overview.js";
import { LiveClient, liveActionForKey, liveSocketUrl, pageLiveToken } from "./live.js";
import {
  COLORS, GROUP_COLORS, ORIENTATION_NAMES, actionColor, agentColorRing, groupColor, hexToRgb, itemColor,
} from "./palette.js";

const $ = (id) => document.getElementById(id);

const ui = {
  body: document.body,
  map: $("map"),
  mapWrap: $("map-wrap"),
  timeline: $("timeline"),
  legend: $("legend"),
  timelineTitle: $("timeline-title"),
  play: $("play-button"),
  back: $("step-back"),
  forward: $("step-forward"),
  scrub: $("scrub"),
  stepLabel: $("step-label"),
  speed: $("speed"),
  follow: $("follow"),
  fit: $("fit-button"),
  zoomIn: $("zoom-in"),
  zoomOut: $("zoom-out"),
  fileInput: $("file-input"),
  replayName: $("replay-name"),
  status: $("status"),
  liveBadge: $("live-badge"),
  error: $("error"),
  errorText: $("error-text"),
  hoverInfo: $("hover-info"),
  help: $("help"),
  helpButton: $("help-button"),
  dropOverlay: $("drop-overlay"),
  agentSelect: $("agent-select"),
  agentPanel: $("agent-panel"),
  agentId: $("agent-id"),
  agentGroup: $("agent-group"),
  agentPosition: $("agent-position"),
  agentOrientation: $("agent-orientation"),
  agentFrozen: $("agent-frozen"),
  agentColor: $("agent-color"),
  agentReward: $("agent-reward"),
  agentTotalReward: $("agent-total-reward"),
  agentAction: $("agent-action"),
  agentInventory: $("agent-inventory"),
  agentStats: $("agent-stats"),
  agentStatsTitle: $("agent-stats-title"),
  statsFilter: $("stats-filter"),
  objectSection: $("object-section"),
  objectPanel: $("object-panel"),
  replayInfo: $("replay-info"),
};

const renderer = new MapRenderer(ui.map);
const timeline = new Timeline(ui.timeline);
const overview = new Overview(
  { scoreboard: $("scoreboard"), chart: $("reward-chart"), chartRange: $("reward-range"),
    agentsTable: $("agents-table"), timeline: $("agents-timeline") },
  { onSelect: (id) => selectAgent(id), onSeek: (step) => { pause(); setStep(step); } });

const state = {
  model: null,
  step: 0,
  playing: false,
  speed: Number(ui.speed.value) || 10,
  selected: -1,        // agent id
  selectedObject: -1,  // building (object id) shown in the building panel
  follow: false,
  live: null,
  controlled: -1,
  mapDirty: true,
  panelDirty: true,
  statsDirty: true,
  needsResize: true,
  accumulator: 0,
  lastTime: 0,
  panelStep: -1,
  panelAgent: -2,
  panelInventory: null,
  hoverRow: -1,
  hoverCol: -1,
  error: null,
  loadMs: 0,
  syncRaster: false,
};

// Draw times cover the map and the timeline (JavaScript time; with `syncRaster` the browser's
// rasterization too). `fps` is the page's animation frame rate over the last second.
const frameStats = { frames: 0, avgDrawMs: 0, maxDrawMs: 0, lastDrawMs: 0, totalDrawMs: 0, fps: 0 };
const fpsWindow = { start: 0, frames: 0 };

// ---------------------------------------------------------------------------------------------
// formatting helpers

const fmt = fmtNumber;  // one number format for the panels and the overview

function setText(el, text) {
  if (el._text !== text) {
    el._text = text;
    el.textContent = text;
  }
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function swatch(color, square = false) {
  return el("i", { class: square ? "swatch square" : "swatch", style: `background:${color}` });
}

function setStatus(text, kind = "") {
  ui.status.textContent = text;
  ui.status.className = kind;
  ui.status.title = text;
}

// ---------------------------------------------------------------------------------------------
// loading

function setBodyState(value) {
  ui.body.dataset.state = value;
}

function showError(message) {
  state.error = message;
  state.model = null;
  pause();
  renderer.clear();
  timeline.model = null;
  state.selected = -1;
  state.selectedObject = -1;
  state.step = 0;
  timeline.setAgent(null);
  ui.agentSelect.replaceChildren(el("option", { value: "-1" }, "none"));
  ui.agentPanel.classList.add("empty");
  ui.objectSection.hidden = true;
  ui.legend.replaceChildren();
  ui.replayInfo.replaceChildren();
  ui.replayName.textContent = "";
  ui.scrub.max = "0";
  ui.scrub.value = "0";
  setText(ui.stepLabel, "step 0 / 0");
  setText(ui.timelineTitle, "Actions");
  document.title = "MettaScope";
  ui.error.hidden = false;
  ui.errorText.textContent = message;
  setStatus(message, "error");
  setBodyState("error");
  state.mapDirty = true;
}

async function loadUrl(url) {
  const name = decodeURIComponent(url.split("?")[0].split("/").pop() || url);
  setBodyState("loading");
  setStatus(`loading ${name}…`);
  try {
    const started = performance.now();
    const bytes = await fetchReplayBytes(url);
    const doc = await decodeReplayBytes(bytes, name);
    loadDocument(doc, name, started);
  } catch (error) {
    showError(error instanceof ReplayError ? error.message : `${name}: ${error.message}`);
  }
}

async function loadFile(file) {
  setBodyState("loading");
  setStatus(`loading ${file.name}…`);
  try {
    const started = performance.now();
    const bytes = new Uint8Array(await file.arrayBuffer());
    const doc = await decodeReplayBytes(bytes, file.name);
    loadDocument(doc, file.name, started);
  } catch (error) {
    showError(error instanceof ReplayError ? error.message : `${file.name}: ${error.message}`);
  }
}

function loadDocument(doc, name = "replay", started = performance.now()) {
  validateReplay(doc, name);
  const model = new ReplayModel(doc, name);
  state.model = model;
  state.error = null;
  state.selectedObject = -1;
  state.panelAgent = -2;
  state.panelStep = -1;
  pause();
  ui.error.hidden = true;
  renderer.setModel(model);
  timeline.setModel(model);
  overview.setModel(model);
  buildAgentSelect(model);
  buildLegend(model);
  buildReplayInfo(model);
  ui.scrub.max = String(model.maxSteps);
  ui.replayName.textContent = name;
  ui.replayName.title = name;
  document.title = `MettaScope — ${name}`;
  state.step = -1;
  setStep(0);
  selectAgent(model.agents[0] ? 0 : -1);
  state.loadMs = performance.now() - started;
  setStatus(`${model.numAgents} agents · ${model.width}×${model.height} · loaded in ${Math.round(state.loadMs)} ms`);
  setBodyState("loaded");
  state.needsResize = true;
  state.mapDirty = true;
  return model;
}

function buildAgentSelect(model) {
  const options = [el("option", { value: "-1" }, "none")];
  for (const agent of model.agentList) {
    const group = model.groupName(agent.group.at(0));
    options.push(el("option", { value: String(agent.agentId) }, `agent ${agent.agentId} · ${group}`));
  }
  ui.agentSelect.replaceChildren(...options);
}

function buildLegend(model) {
  const entries = model.actionNames.map((name) => el("span", {}, swatch(actionColor(name), true), name));
  entries.push(el("span", {}, el("i", { class: "swatch square", style: `background:${COLORS.failed}` }), "failed"));
  entries.push(el("span", {}, el("i", { class: "swatch square", style: `background:${COLORS.frozen}` }), "frozen"));
  ui.legend.replaceChildren(...entries);
}

function buildReplayInfo(model) {
  const doc = model.doc;
  const rows = [
    ["map", `${model.width} × ${model.height}`],
    ["agents", String(model.numAgents)],
    ["steps", stepsText(model)],
    ["objects", String(model.objects.length)],
    ["groups", model.groupNames.filter(Boolean).join(", ") || "–"],
  ];
  if (doc.created_at) rows.push(["created", String(doc.created_at)]);
  if (doc.metadata && typeof doc.metadata === "object") {
    for (const [key, value] of Object.entries(doc.metadata)) {
      rows.push([key, typeof value === "object" ? JSON.stringify(value) : String(value)]);
    }
  }
  ui.replayInfo.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", k === "steps" ? { id: "replay-steps" } : {}, v)]));
}

function stepsText(model) {
  return `${model.maxSteps}${model.stepLimit ? ` (limit ${model.stepLimit})` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// playback and selection

function setStep(t) {
  const model = state.model;
  if (!model) return;
  const step = Math.max(0, Math.min(model.maxSteps, Math.round(Number(t) || 0)));
  if (step === state.step && ui.scrub.max === String(model.maxSteps)) return;
  state.step = step;
  ui.scrub.max = String(model.maxSteps);
  ui.scrub.value = String(step);
  setText(ui.stepLabel, `step ${step} / ${model.maxSteps}`);
  state.mapDirty = true;
  state.panelDirty = true;
}

function play() {
  if (!state.model) return;
  if (state.step >= state.model.maxSteps) setStep(0);
  state.playing = true;
  state.accumulator = 0;
  ui.play.textContent = "❚❚";
  ui.play.classList.add("playing");
}

function pause() {
  state.playing = false;
  ui.play.textContent = "▶";
  ui.play.classList.remove("playing");
}

function togglePlay() {
  if (state.playing) pause(); else play();
}

function setSpeed(value) {
  state.speed = Math.max(0.1, Number(value) || 1);
  const option = [...ui.speed.options].find((o) => Number(o.value) === state.speed);
  if (option) ui.speed.value = option.value;
}

function changeSpeed(direction) {
  const options = [...ui.speed.options].map((o) => Number(o.value));
  let i = options.findIndex((v) => v >= state.speed);
  if (i < 0) i = options.length - 1;
  setSpeed(options[Math.max(0, Math.min(options.length - 1, i + direction))]);
  setStatus(`speed ${state.speed} steps/s`);
}

function selectAgent(id) {
  const model = state.model;
  const agent = model && id !== null && id >= 0 ? model.agents[id] : null;
  state.selected = agent ? agent.agentId : -1;
  ui.agentSelect.value = String(state.selected);
  timeline.setAgent(agent);
  setText(ui.timelineTitle, agent ? `Actions of agent ${agent.agentId}` : "Actions");
  state.statsDirty = true;
  state.panelDirty = true;
  state.mapDirty = true;
  if (agent && state.follow) followSelected();
}

function cycleAgent(direction) {
  const model = state.model;
  if (!model || model.numAgents === 0) return;
  const ids = model.agentList.map((a) => a.agentId);
  const i = ids.indexOf(state.selected);
  const next = i < 0 ? (direction > 0 ? 0 : ids.length - 1) : (i + direction + ids.length) % ids.length;
  selectAgent(ids[next]);
}

function setFollow(on) {
  state.follow = Boolean(on);
  ui.follow.checked = state.follow;
  if (state.follow) followSelected();
}

function followSelected() {
  const model = state.model;
  const agent = model && state.selected >= 0 ? model.agents[state.selected] : null;
  if (!agent) return;
  const ox = renderer.ox, oy = renderer.oy;
  renderer.centerOn(agent.row.at(state.step), agent.col.at(state.step));
  if (renderer.ox !== ox || renderer.oy !== oy) state.mapDirty = true;
}

function agentAtCell(row, col) {
  const model = state.model;
  if (!model) return null;
  for (const agent of model.agentList) {
    if (agent.row.at(state.step) === row && agent.col.at(state.step) === col) return agent;
  }
  return null;
}

function thingAtCell(row, col) {
  const model = state.model;
  if (!model) return null;
  for (const obj of model.things) {
    if (obj.row.at(state.step) === row && obj.col.at(state.step) === col) return obj;
  }
  for (const obj of model.walls) {
    if (obj.row.at(0) === row && obj.col.at(0) === col) return obj;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// panels

function itemList(items, model, emptyText = "empty") {
  if (!items || items.length === 0) return [el("li", { class: "none" }, emptyText)];
  return items.map(([item, count]) => {
    const name = model.itemName(item);
    return el("li", { "data-item": name }, swatch(itemColor(name), true), name, el("span", { class: "count" }, String(count)));
  });
}

function updateAgentPanel() {
  const model = state.model;
  const agent = model && state.selected >= 0 ? model.agents[state.selected] : null;
  ui.agentPanel.classList.toggle("empty", !agent);
  if (!agent) {
    ui.agentPanel.dataset.agent = "";
    return;
  }
  const step = state.step;
  const snap = model.agentAt(step, agent.agentId);
  ui.agentPanel.dataset.agent = String(agent.agentId);
  ui.agentPanel.dataset.step = String(step);
  setText(ui.agentId, String(snap.id));
  if (ui.agentGroup._group !== snap.group) {
    ui.agentGroup._group = snap.group;
    ui.agentGroup.replaceChildren(swatch(groupColor(snap.group)), `${snap.groupName} (${snap.group})`);
  }
  setText(ui.agentPosition, `row ${snap.row}, col ${snap.col}`);
  setText(ui.agentOrientation, ORIENTATION_NAMES[snap.orientation] ?? String(snap.orientation));
  setText(ui.agentFrozen, snap.frozen > 0 ? `frozen, ${snap.frozen} ticks left` : "no");
  ui.agentFrozen.classList.toggle("frozen", snap.frozen > 0);
  if (ui.agentColor._color !== snap.color) {
    ui.agentColor._color = snap.color;
    ui.agentColor.replaceChildren(...(snap.color ? [swatch(agentColorRing(snap.color))] : []), String(snap.color));
  }
  setText(ui.agentReward, fmt(snap.reward));
  setText(ui.agentTotalReward, fmt(snap.totalReward));
  const action = step === 0 ? null : snap.action;  // nothing was done before the first step
  const actionKey = action ? `${action.name}|${action.arg}|${action.success}` : "start";
  if (ui.agentAction._key !== actionKey) {
    ui.agentAction._key = actionKey;
    if (!action) {
      ui.agentAction.replaceChildren("– (episode start)");
    } else {
      ui.agentAction.replaceChildren(
        swatch(actionColor(action.name), true), `${action.name} ${action.arg} `,
        el("span", { class: action.success ? "success" : "failed" }, action.success ? "✓ success" : "✗ failed"));
    }
    ui.agentAction.dataset.action = action ? action.name : "";
  }
  const inventory = agent.inventory.at(step);
  if (state.panelInventory !== inventory || state.panelAgent !== agent.agentId) {
    state.panelInventory = inventory;
    ui.agentInventory.replaceChildren(...itemList(inventory, model));
  }
  if (state.statsDirty || ui.agentStats._stats !== agent.stats) {
    state.statsDirty = false;
    ui.agentStats._stats = agent.stats;
    buildStatsTable(agent.stats);
  }
}

function buildStatsTable(stats) {
  const filter = ui.statsFilter.value.trim().toLowerCase();
  const has = stats && Object.keys(stats).length > 0;
  ui.agentStatsTitle.style.display = has ? "" : "none";
  ui.statsFilter.style.display = has ? "" : "none";
  ui.agentStats.parentElement.style.display = has ? "" : "none";
  if (!has) {
    ui.agentStats.tBodies[0].replaceChildren();
    return;
  }
  const rows = Object.entries(stats)
    .filter(([k]) => !filter || k.toLowerCase().includes(filter))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, fmt(v))));
  ui.agentStats.tBodies[0].replaceChildren(...rows);
}

function describeThing(obj, step) {
  const parts = [];
  if (obj.kind === "converter") {
    if (obj.converting.at(step) > 0) parts.push("converting");
    if (obj.coolingDown.at(step) > 0) parts.push("cooling down");
    if (parts.length === 0) parts.push("idle");
  }
  return parts;
}

function updateObjectPanel() {
  const model = state.model;
  const obj = model && state.selectedObject >= 0 ? model.byId[state.selectedObject] : null;
  ui.objectSection.hidden = !obj;
  if (!obj) return;
  const step = state.step;
  const rows = [
    ["type", obj.typeName],
    ["kind", obj.kind],
    ["position", `row ${obj.row.at(step)}, col ${obj.col.at(step)}`],
  ];
  if (obj.fields.team) {  // a building a team may own (replays of games with teams)
    const owner = model.ownerAt(obj, step);
    const text = owner ? el("span", {}, swatch(groupColor(owner.id)), `${owner.name} (${owner.id})`) : "neutral";
    rows.push(["owner", text, { id: "object-owner", "data-team": String(owner ? owner.id : 0) }]);
  }
  if (obj.kind === "converter") {
    rows.push(["state", describeThing(obj, step).join(", ")]);
    rows.push(["conversions", fmt(obj.conversionsStarted.at(step))]);
  }
  const list = el("dl", { class: "kv" }, ...rows.flatMap(([k, v, props]) => [el("dt", {}, k), el("dd", props ?? {}, v)]));
  const children = [list];
  if (obj.kind === "converter") {
    children.push(el("h3", {}, "Output"), el("ul", { class: "items" }, ...itemList(obj.inventory.at(step), model)));
    children.push(el("h3", {}, "Input"), el("ul", { class: "items" }, ...itemList(obj.input.at(step), model)));
  }
  ui.objectPanel.replaceChildren(...children);
  ui.objectPanel.dataset.object = String(obj.id);
}

function itemsText(items, model) {
  if (!items || items.length === 0) return "";
  return items.map(([i, c]) => `${model.itemName(i)}×${c}`).join(" ");
}

function updateHover() {
  const model = state.model;
  if (!model || state.hoverRow < 0) {
    ui.hoverInfo.hidden = true;
    return;
  }
  const step = state.step;
  const row = state.hoverRow, col = state.hoverCol;
  const agent = agentAtCell(row, col);
  let html = "";
  const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  if (agent) {
    const a = model.agentAt(step, agent.agentId);
    const inv = itemsText(agent.inventory.at(step), model);
    html = `<b>agent ${a.id}</b> · ${esc(a.groupName)} · facing ${ORIENTATION_NAMES[a.orientation] ?? a.orientation}` +
      (a.frozen > 0 ? ` · <span class="frozen">frozen ${a.frozen}</span>` : "") +
      ` · reward ${fmt(a.totalReward)}` + (inv ? ` · ${esc(inv)}` : "");
  } else {
    const obj = thingAtCell(row, col);
    if (obj) {
      html = `<b>${esc(obj.typeName)}</b>`;
      if (obj.fields.team) {
        const owner = model.ownerAt(obj, step);
        html += owner ? ` · <span style="color:${groupColor(owner.id)}">${esc(owner.name)}</span>` : " · neutral";
      }
      if (obj.kind === "converter") {
        const out = itemsText(obj.inventory.at(step), model), input = itemsText(obj.input.at(step), model);
        html += ` · ${describeThing(obj, step).join(", ")}` + (out ? ` · out: ${esc(out)}` : "") +
          (input ? ` · in: ${esc(input)}` : "");
      }
    }
  }
  html = `<span class="muted">(${row}, ${col})</span> ${html}`;
  if (ui.hoverInfo._html !== html) {
    ui.hoverInfo._html = html;
    ui.hoverInfo.innerHTML = html;
  }
  ui.hoverInfo.hidden = false;
}

function updatePanels() {
  state.panelDirty = false;
  updateAgentPanel();
  updateObjectPanel();
  updateHover();
  state.panelStep = state.step;
  state.panelAgent = state.selected;
}

// ---------------------------------------------------------------------------------------------
// frame loop

function drawNow() {
  const t0 = performance.now();
  renderer.draw(state.step, state.selected, state.selectedObject);
  timeline.draw(state.step);
  overview.update(state.step, state.selected, state.playing);
  if (state.syncRaster) {  // benchmarks: make the browser rasterize now so that the time counts it
    renderer.ctx.getImageData(0, 0, 1, 1);
    timeline.ctx.getImageData(0, 0, 1, 1);
  }
  const ms = performance.now() - t0;
  frameStats.frames += 1;
  frameStats.totalDrawMs += ms;
  frameStats.lastDrawMs = ms;
  frameStats.avgDrawMs = frameStats.totalDrawMs / frameStats.frames;
  if (ms > frameStats.maxDrawMs) frameStats.maxDrawMs = ms;
  state.mapDirty = false;
}

function resizeIfNeeded() {
  if (!state.needsResize) return;
  state.needsResize = false;
  const changed = renderer.resize();
  if (timeline.resize()) state.mapDirty = true;
  if (changed) {
    if (state.model && !renderer.fitted) renderer.fit();
    state.mapDirty = true;
  }
}

/** Bring the canvas and the panels up to date now (the API uses it so that reads are exact). */
function flush() {
  resizeIfNeeded();
  if (state.follow) followSelected();
  if (state.panelDirty) updatePanels();
  drawNow();
}

function frame(now) {
  requestAnimationFrame(frame);
  const dt = state.lastTime ? Math.min(250, now - state.lastTime) : 0;
  state.lastTime = now;
  fpsWindow.frames += 1;
  if (now - fpsWindow.start >= 1000) {
    frameStats.fps = Math.round((fpsWindow.frames * 10000) / (now - fpsWindow.start)) / 10;
    fpsWindow.start = now;
    fpsWindow.frames = 0;
  }
  resizeIfNeeded();
  const model = state.model;
  if (state.playing && model) {
    state.accumulator += (dt / 1000) * state.speed;
    if (state.accumulator >= 1) {
      const n = Math.floor(state.accumulator);
      state.accumulator -= n;
      let next = state.step + n;
      if (next >= model.maxSteps) {
        next = model.maxSteps;
        pause();
      }
      setStep(next);
    }
  }
  if (state.follow && model) followSelected();
  if (state.panelDirty) updatePanels();
  if (state.mapDirty) drawNow();
}

// ---------------------------------------------------------------------------------------------
// input: controls

ui.play.addEventListener("click", (e) => { togglePlay(); e.currentTarget.blur(); });
ui.back.addEventListener("click", (e) => { pause(); setStep(state.step - 1); e.currentTarget.blur(); });
ui.forward.addEventListener("click", (e) => { pause(); setStep(state.step + 1); e.currentTarget.blur(); });
ui.scrub.addEventListener("input", () => { pause(); setStep(Number(ui.scrub.value)); });
ui.scrub.addEventListener("change", () => ui.scrub.blur());
ui.speed.addEventListener("change", () => { setSpeed(ui.speed.value); ui.speed.blur(); });
ui.follow.addEventListener("change", () => { setFollow(ui.follow.checked); ui.follow.blur(); });
ui.fit.addEventListener("click", (e) => { setFollow(false); renderer.fit(); state.mapDirty = true; e.currentTarget.blur(); });
ui.zoomIn.addEventListener("click", (e) => { zoomCentre(1.4); e.currentTarget.blur(); });
ui.zoomOut.addEventListener("click", (e) => { zoomCentre(1 / 1.4); e.currentTarget.blur(); });
ui.agentSelect.addEventListener("change", () => { selectAgent(Number(ui.agentSelect.value)); ui.agentSelect.blur(); });
ui.statsFilter.addEventListener("input", () => { state.statsDirty = true; state.panelDirty = true; });
$("object-close").addEventListener("click", () => {
  state.selectedObject = -1;
  state.panelDirty = true;
  state.mapDirty = true;
});
ui.helpButton.addEventListener("click", (e) => { toggleHelp(); e.currentTarget.blur(); });
ui.help.addEventListener("click", (e) => { if (e.target === ui.help) toggleHelp(false); });
ui.fileInput.addEventListener("change", () => {
  const file = ui.fileInput.files && ui.fileInput.files[0];
  if (file) loadFile(file);
  ui.fileInput.value = "";
});

function zoomCentre(factor) {
  renderer.zoomAt(renderer.width / 2, renderer.height / 2, factor);
  state.mapDirty = true;
}

function toggleHelp(show = ui.help.hidden) {
  ui.help.hidden = !show;
}

new ResizeObserver(() => { state.needsResize = true; }).observe(ui.mapWrap);
new ResizeObserver(() => { state.needsResize = true; }).observe(ui.timeline);

// ---------------------------------------------------------------------------------------------
// input: map pointer (drag to pan, click to select, wheel to zoom)

const drag = { active: false, moved: false, x: 0, y: 0, id: -1 };

function canvasPoint(event) {
  const rect = ui.map.getBoundingClientRect();
  return [event.clientX - rect.left, event.clientY - rect.top];
}

ui.map.addEventListener("pointerdown", (event) => {
  if (event.button !== 0) return;
  drag.active = true;
  drag.moved = false;
  drag.x = event.clientX;
  drag.y = event.clientY;
  drag.id = event.pointerId;
  ui.map.setPointerCapture(event.pointerId);
});

ui.map.addEventListener("pointermove", (event) => {
  if (drag.active) {
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) > 4) {
      drag.moved = true;
      ui.map.classList.add("dragging");
      if (state.follow) setFollow(false);
    }
    if (drag.moved) {
      renderer.panBy(dx, dy);
      drag.x = event.clientX;
      drag.y = event.clientY;
      state.mapDirty = true;
    }
    return;
  }
  const [x, y] = canvasPoint(event);
  const cell = renderer.cellAt(x, y);
  const row = cell ? cell.row : -1, col = cell ? cell.col : -1;
  if (row !== state.hoverRow || col !== state.hoverCol) {
    state.hoverRow = renderer.hoverRow = row;
    state.hoverCol = renderer.hoverCol = col;
    state.mapDirty = true;
    updateHover();
  }
});

ui.map.addEventListener("pointerup", (event) => {
  if (!drag.active) return;
  drag.active = false;
  ui.map.classList.remove("dragging");
  if (ui.map.hasPointerCapture(event.pointerId)) ui.map.releasePointerCapture(event.pointerId);
  if (drag.moved) return;
  const [x, y] = canvasPoint(event);
  const cell = renderer.cellAt(x, y);
  if (!cell || !state.model) return;
  const agent = agentAtCell(cell.row, cell.col);
  if (agent) {
    selectAgent(agent.agentId);
    return;
  }
  const obj = thingAtCell(cell.row, cell.col);
  state.selectedObject = obj && obj.kind !== "wall" ? obj.id : -1;
  state.panelDirty = true;
  state.mapDirty = true;
});

ui.map.addEventListener("pointerleave", () => {
  if (drag.active) return;
  state.hoverRow = renderer.hoverRow = -1;
  state.hoverCol = renderer.hoverCol = -1;
  state.mapDirty = true;
  updateHover();
});

ui.map.addEventListener("wheel", (event) => {
  event.preventDefault();
  if (!state.model) return;
  const [x, y] = state.follow ? [renderer.width / 2, renderer.height / 2] : canvasPoint(event);
  const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
  renderer.zoomAt(x, y, Math.exp(-delta * 0.0015));
  state.mapDirty = true;
}, { passive: false });

ui.timeline.addEventListener("pointerdown", (event) => {
  if (!state.model || event.button !== 0) return;
  const seek = (e) => {
    const rect = ui.timeline.getBoundingClientRect();
    pause();
    setStep(timeline.stepAtX(e.clientX - rect.left));
  };
  seek(event);
  ui.timeline.setPointerCapture(event.pointerId);
  const move = (e) => seek(e);
  const up = () => {
    ui.timeline.removeEventListener("pointermove", move);
    ui.timeline.removeEventListener("pointerup", up);
    ui.timeline.removeEventListener("pointercancel", up);
  };
  ui.timeline.addEventListener("pointermove", move);
  ui.timeline.addEventListener("pointerup", up);
  ui.timeline.addEventListener("pointercancel", up);
});

ui.timeline.addEventListener("mousemove", (event) => {
  const model = state.model;
  if (!model) return;
  const rect = ui.timeline.getBoundingClientRect();
  const t = timeline.stepAtX(event.clientX - rect.left);
  let title = `step ${t}`;
  if (state.selected >= 0 && t > 0) {
    const a = model.agentAt(t, state.selected);
    title += `: ${a.action.name} ${a.action.arg}${a.action.success ? "" : " (failed)"}${a.frozen > 0 ? " · frozen" : ""}`;
  }
  ui.timeline.title = title;
});

// ---------------------------------------------------------------------------------------------
// input: drag and drop

let dragDepth = 0;
window.addEventListener("dragenter", (event) => {
  if (!event.dataTransfer || ![...event.dataTransfer.types].includes("Files")) return;
  event.preventDefault();
  dragDepth += 1;
  ui.dropOverlay.hidden = false;
});
window.addEventListener("dragover", (event) => {
  event.preventDefault();
  if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
});
window.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) ui.dropOverlay.hidden = true;
});
window.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  ui.dropOverlay.hidden = true;
  const file = event.dataTransfer && event.dataTransfer.files && event.dataTransfer.files[0];
  if (file) loadFile(file);
});

// ---------------------------------------------------------------------------------------------
// input: keyboard

const NAVIGATION_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);

window.addEventListener("keydown", (event) => {
  const target = event.target;
  const tag = target && target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "range" && target.type !== "checkbox")) return;
  if (tag === "INPUT" && target.type === "range" && NAVIGATION_KEYS.has(event.key)) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;

  if (event.key === "?" || event.code === "KeyH") {
    toggleHelp();
    event.preventDefault();
    return;
  }
  if (event.key === "Escape") {
    if (!ui.help.hidden) toggleHelp(false);
    else if (state.selectedObject >= 0) { state.selectedObject = -1; state.panelDirty = true; state.mapDirty = true; }
    else if (!state.live) selectAgent(-1);
    event.preventDefault();
    return;
  }
  if (!state.model && !state.live) return;
  const handled = state.live ? liveKey(event) : replayKey(event);
  if (handled) event.preventDefault();
});

function replayKey(event) {
  const stride = event.shiftKey ? 10 : 1;
  switch (event.code) {
    case "Space": togglePlay(); return true;
    case "Period": case "ArrowRight": pause(); setStep(state.step + stride); return true;
    case "Comma": case "ArrowLeft": pause(); setStep(state.step - stride); return true;
    case "Home": pause(); setStep(0); return true;
    case "End": pause(); setStep(state.model.maxSteps); return true;
    case "Equal": case "NumpadAdd": changeSpeed(+1); return true;
    case "Minus": case "NumpadSubtract": changeSpeed(-1); return true;
    case "BracketLeft": cycleAgent(-1); return true;
    case "BracketRight": cycleAgent(+1); return true;
    case "KeyF": setFollow(!state.follow); return true;
    case "Digit0": setFollow(false); renderer.fit(); state.mapDirty = true; return true;
    default: return false;
  }
}

function liveKey(event) {
  const model = state.model;
  if (event.code === "Comma") { setStep(state.step - 1); return true; }
  if (event.code === "Slash") { if (model) setStep(model.maxSteps); return true; }
  const controlled = model ? model.agents[state.controlled] : null;
  const facing = controlled ? controlled.orientation.at(model.maxSteps) : -1;
  const wanted = liveActionForKey(event, facing);
  if (!wanted) return false;
  if (event.repeat && wanted.action !== "move" && wanted.action !== "rotate" && wanted.action !== "noop") return true;
  sendAction(wanted.action, wanted.arg);
  return true;
}

function sendAction(action, arg) {
  const model = state.model;
  if (!state.live) return false;
  if (!model || !model.actionIndex.has(action)) {
    setStatus(`this environment has no "${action}" action`, "error");
    return false;
  }
  const sent = state.live.send({ type: "action", action, arg });
  if (sent) setStatus(`sent ${action} ${arg}`);
  else setStatus("not connected", "error");
  return sent;
}

// ---------------------------------------------------------------------------------------------
// live mode

function startLive(value) {
  const url = liveSocketUrl(value, window.location, pageLiveToken());
  ui.liveBadge.hidden = false;
  ui.liveBadge.textContent = "Live: connecting";
  setBodyState("loading");
  const client = new LiveClient(url, {
    onMessage: handleLiveMessage,
    onStatus: (text, kind, connected, closed) => {
      setStatus(text, kind);
      if (closed) {
        ui.liveBadge.classList.add("disconnected");
        if (state.controlled >= 0) ui.liveBadge.textContent = `Live: agent ${state.controlled} (disconnected)`;
        else ui.liveBadge.textContent = "Live: disconnected";
        if (!state.model) showError(text);
      }
    },
  });
  state.live = client;
  client.connect();
}

function handleLiveMessage(message) {
  switch (message && message.type) {
    case "replay": {
      try {
        loadDocument(message.replay, "live");
      } catch (error) {
        showError(error.message);
        return;
      }
      const controlled = typeof message.controlled_agent === "number" ? message.controlled_agent : 0;
      state.controlled = controlled;
      ui.liveBadge.hidden = false;
      ui.liveBadge.classList.remove("disconnected");
      ui.liveBadge.textContent = `Live: controlling agent ${controlled}`;
      selectAgent(controlled);
      setFollow(true);
      setStep(state.model.maxSteps);
      if (message.over) {
        ui.liveBadge.textContent = `Live: agent ${controlled} (episode over)`;
        ui.liveBadge.classList.add("disconnected");
        setStatus("this episode is over", "ok");
      } else {
        setStatus("live — press ? for the controls", "ok");
      }
      break;
    }
    case "step": {
      const model = state.model;
      if (!model) return;
      const step = Number(message.step);
      if (model.applyStep(step, message.changes, message.max_steps)) renderer.buildLayer();
      timeline.invalidate();
      state.panelInventory = null;
      state.statsDirty = true;
      state.step = -1;  // force the labels and panels to refresh
      setStep(Math.min(step, model.maxSteps));
      const steps = $("replay-steps");
      if (steps) steps.textContent = stepsText(model);
      break;
    }
    case "done":
      setStatus(message.message || (message.replay_path ? `episode over — replay saved to ${message.replay_path}` : "episode over"), "ok");
      ui.liveBadge.textContent = `Live: agent ${state.controlled} (episode over)`;
      ui.liveBadge.classList.add("disconnected");
      break;
    case "error":
      setStatus(message.message || "error from the server", "error");
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// automation API

window.mettascope = {
  get loaded() { return state.model !== null; },
  get replay() { return state.model ? state.model.doc : null; },
  get model() { return state.model; },
  get step() { return state.step < 0 ? 0 : state.step; },
  get maxSteps() { return state.model ? state.model.maxSteps : 0; },
  get selectedAgent() { return state.selected; },
  get selectedObject() { return state.selectedObject; },
  get playing() { return state.playing; },
  get speed() { return state.speed; },
  get follow() { return state.follow; },
  get error() { return state.error; },
  get loadMs() { return state.loadMs; },
  get live() { return state.live ? { url: state.live.url, open: state.live.open, controlledAgent: state.controlled } : null; },
  frameStats,
  resetFrameStats() {
    Object.assign(frameStats, { frames: 0, avgDrawMs: 0, maxDrawMs: 0, lastDrawMs: 0, totalDrawMs: 0 });
  },
  setSyncRaster(on) { state.syncRaster = Boolean(on); },
  setStep(t) { pause(); setStep(t); flush(); return state.step; },
  selectAgent(id) { selectAgent(id); flush(); return state.selected; },
  play() { play(); },
  pause() { pause(); },
  setSpeed(v) { setSpeed(v); return state.speed; },
  setFollow(on) { setFollow(on); flush(); },
  fit() { renderer.fit(); flush(); },
  zoom(factor) { zoomCentre(factor); flush(); return renderer.scale; },
  flush,
  agentAt(step, id) { return state.model ? state.model.agentAt(step, id) : null; },
  objectAt(step, id) { return state.model ? state.model.objectAt(step, id) : null; },
  selectObject(id) {
    const obj = state.model ? state.model.byId[id] : null;
    state.selectedObject = obj && !obj.isAgent && obj.kind !== "wall" ? obj.id : -1;
    state.panelDirty = true;
    state.mapDirty = true;
    flush();
    return state.selectedObject;
  },
  cellToCanvas(row, col) { return renderer.cellToCanvas(row, col); },
  canvasToCell(x, y) { return renderer.cellAt(x, y); },
  groupColor(group) { return hexToRgb(groupColor(group)); },
  actionColor(name) { return hexToRgb(actionColor(name)); },
  palette: {
    floor: hexToRgb(COLORS.floor), wall: hexToRgb(COLORS.wall), outside: hexToRgb(COLORS.outside),
    groups: GROUP_COLORS.map(hexToRgb),
  },
  loadUrl(url) { return loadUrl(url); },
  loadDocument(doc, name = "replay") { loadDocument(doc, name); flush(); return true; },
  sendAction(action, arg = 0) { return sendAction(action, arg); },
};

// ---------------------------------------------------------------------------------------------
// start

function start() {
  const params = new URLSearchParams(window.location.search);
  const live = params.get("live");
  const replay = params.get("replay");
  requestAnimationFrame(frame);
  if (live !== null && live !== "0" && live !== "false") {
    startLive(live);
  } else if (replay) {
    const step = params.get("step"), agent = params.get("agent");
    loadUrl(replay).then(() => {
      if (!state.model) return;
      if (agent !== null) selectAgent(Number(agent));
      if (step !== null) setStep(Number(step));
      if (params.get("play") === "1") play();
    });
  } else {
    setBodyState("empty");
  }
}

start();
