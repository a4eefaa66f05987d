// Replay loading and indexing for MettaScope (replay format version 1, see mettagrid/replay.py).
//
// A replay is one JSON document, usually zlib-compressed (`*.json.z`). Every field of a grid
// object is either a constant or a change list `[[step, value], ...]` sorted by step and
// starting at step 0. On load each field becomes a `Field`: the change steps in an Int32Array
// and the values in a Float64Array (numbers) or a plain array (anything else), so that a value
// at any step is one binary search away and nothing is allocated while drawing. Live mode
// appends changes to the same fields.

export const REPLAY_VERSION = 1;

export class ReplayError extends Error {}

// ---------------------------------------------------------------------------------------------
// bytes -> document

export async function fetchReplayBytes(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ReplayError(`could not fetch ${url}: ${error.message}`);
  }
  if (!response.ok) throw new ReplayError(`could not fetch ${url}: HTTP ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function inflate(bytes, format) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream(format));
  return await new Response(stream).text();
}

/** A validated replay document from the bytes of a `*.json.z` (zlib), gzip or plain JSON file. */
export async function decodeReplayBytes(bytes, name = "replay") {
  if (!bytes || bytes.length === 0) throw new ReplayError(`${name}: the file is empty`);
  let first = 0;
  while (first < bytes.length && first < 64 && (bytes[first] === 0x20 || bytes[first] === 0x0a ||
         bytes[first] === 0x0d || bytes[first] === 0x09)) first++;
  let text;
  if (bytes[first] === 0x7b) {  // "{": plain JSON
    text = new TextDecoder().decode(bytes);
  } else {
    const format = bytes[0] === 0x1f && bytes[1] === 0x8b ? "gzip" : "deflate";
    try {
      text = await inflate(bytes, format);
    } catch (error) {
      throw new ReplayError(`${name}: not a replay file (neither JSON nor zlib-compressed JSON)`);
    }
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new ReplayError(`${name}: not a replay file (${error.message})`);
  }
  validateReplay(doc, name);
  return doc;
}

export function validateReplay(doc, name = "replay") {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ReplayError(`${name}: not a replay file (the JSON is not an object)`);
  }
  if (doc.version !== REPLAY_VERSION) {
    throw new ReplayError(`${name}: replay version ${JSON.stringify(doc.version ?? null)} is not supported ` +
                          `(expected ${REPLAY_VERSION})`);
  }
  const size = doc.map_size;
  if (!Array.isArray(size) || size.length !== 2 || !(size[0] > 0) || !(size[1] > 0)) {
    throw new ReplayError(`${name}: not a replay file (no valid map_size)`);
  }
  if (!Array.isArray(doc.grid_objects)) throw new ReplayError(`${name}: not a replay file (no grid_objects)`);
}

// ---------------------------------------------------------------------------------------------
// fields

export class Field {
  constructor(numeric = true, capacity = 4) {
    this.numeric = numeric;
    this.steps = new Int32Array(Math.max(1, capacity));
    this.values = numeric ? new Float64Array(this.steps.length) : new Array(this.steps.length);
    this.count = 0;
  }

  /** A field from a document value: a constant or a change list. */
  static from(value) {
    if (!Array.isArray(value)) {
      const field = new Field(typeof value === "number", 1);
      field.push(0, value);
      return field;
    }
    let numeric = true;
    for (let i = 0; i < value.length; i++) {
      if (typeof value[i][1] !== "number") { numeric = false; break; }
    }
    const field = new Field(numeric, value.length);
    for (let i = 0; i < value.length; i++) field.push(value[i][0], value[i][1]);
    if (field.count === 0) field.push(0, numeric ? 0 : null);
    return field;
  }

  static constant(value) {
    return Field.from(value);
  }

  _grow() {
    const steps = new Int32Array(this.steps.length * 2);
    steps.set(this.steps);
    this.steps = steps;
    if (this.numeric) {
      const values = new Float64Array(steps.length);
      values.set(this.values);
      this.values = values;
    } else {
      this.values.length = steps.length;
    }
  }

  _toGeneric() {
    this.values = Array.from(this.values);
    this.numeric = false;
  }

  /** Record that the field holds `value` from `step` on (live mode appends this way). */
  push(step, value) {
    if (this.numeric && typeof value !== "number") this._toGeneric();
    const n = this.count;
    if (n > 0 && step <= this.steps[n - 1]) {
      if (step === this.steps[n - 1]) { this.values[n - 1] = value; return; }
      // Out of order (should not happen): insert in place.
      let i = this.indexAt(step);
      if (this.steps[i] === step) { this.values[i] = value; return; }
      if (this.steps[i] < step) i++;
      if (n === this.steps.length) this._grow();
      this.steps.copyWithin(i + 1, i, n);
      if (this.numeric) this.values.copyWithin(i + 1, i, n);
      else this.values.splice(i, 0, value), this.values.length = this.steps.length;
      this.steps[i] = step;
      this.values[i] = value;
      this.count++;
      return;
    }
    if (n === this.steps.length) this._grow();
    this.steps[n] = step;
    this.values[n] = value;
    this.count = n + 1;
  }

  /** Index of the change in force at `step` (the first change when `step` precedes it). */
  indexAt(step) {
    const steps = this.steps;
    let lo = 0, hi = this.count - 1;
    if (hi <= 0 || step < steps[1]) return 0;
    if (step >= steps[hi]) return hi;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (steps[mid] <= step) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  at(step) {
    return this.values[this.indexAt(step)];
  }

  get constant() {
    return this.count <= 1;
  }
}

const ZERO = Field.from(0);
const EMPTY_LIST = Field.from([[0, []]]);

// ---------------------------------------------------------------------------------------------
// objects and the model

const SPECIAL_KEYS = new Set(["id", "type", "stats"]);

export class GameObject {
  constructor(raw, model) {
    this.raw = raw;
    this.id = raw.id;
    this.type = raw.type | 0;
    this.typeName = model.objectTypes[this.type] ?? (this.type === 0 ? "agent" : `type_${this.type}`);
    this.kind = model.objectKinds[this.type] ?? (this.type === 0 ? "agent" : "unknown");
    this.isAgent = this.kind === "agent";
    this.stats = raw.stats && typeof raw.stats === "object" ? raw.stats : null;
    this.fields = Object.create(null);
    for (const key in raw) {
      if (!SPECIAL_KEYS.has(key)) this.fields[key] = Field.from(raw[key]);
    }
    this.bindFields();
  }

  /** Direct references to the fields drawing needs (shared read-only defaults when absent). */
  bindFields() {
    const f = this.fields;
    this.row = f.row ?? ZERO;
    this.col = f.col ?? ZERO;
    this.color = f.color ?? ZERO;
    this.inventory = f.inventory ?? EMPTY_LIST;
    if (this.isAgent) {
      this.agentId = typeof this.raw.agent_id === "number" ? this.raw.agent_id : this.id;
      this.group = f.group ?? ZERO;
      this.orientation = f.orientation ?? ZERO;
      this.frozen = f.frozen ?? ZERO;
      this.glyph = f.glyph ?? ZERO;
      this.action = f.action ?? EMPTY_LIST;
      this.actionSuccess = f.action_success ?? ZERO;
      this.reward = f.reward ?? ZERO;
      this.totalReward = f.total_reward ?? ZERO;
    } else {
      this.input = f.input ?? EMPTY_LIST;
      this.converting = f.converting ?? ZERO;
      this.coolingDown = f.cooling_down ?? ZERO;
      this.conversionsStarted = f.conversions_started ?? ZERO;
      this.team = f.team ?? ZERO;  // owner group id, 0 = neutral (absent: no teams)
    }
  }

  /** The field `name`, created (holding `initial` from step 0) if the object lacks it. */
  ensureField(name, initial) {
    let field = this.fields[name];
    if (!field) {
      field = this.fields[name] = Field.from(Array.isArray(initial) ? [[0, initial]] : initial);
      this.bindFields();
    }
    return field;
  }

  /** Constant position (walls that never move can be pre-rendered). */
  get isStatic() {
    return this.row.constant && this.col.constant;
  }
}

export class ReplayModel {
  constructor(doc, name = "replay") {
    this.doc = doc;
    this.name = name;
    this.actionNames = Array.isArray(doc.action_names) ? doc.action_names.slice() : [];
    this.itemNames = Array.isArray(doc.item_names) ? doc.item_names.slice() : [];
    this.objectTypes = Array.isArray(doc.object_types) ? doc.object_types : ["agent"];
    this.objectKinds = Array.isArray(doc.object_kinds) ? doc.object_kinds : ["agent"];
    this.groupNames = [];
    for (const g of doc.groups ?? []) {
      if (g && typeof g.id === "number") this.groupNames[g.id] = String(g.name ?? `group ${g.id}`);
    }
    this.width = doc.map_size[0] | 0;
    this.height = doc.map_size[1] | 0;
    this.stepLimit = doc.step_limit ?? null;
    this.maxSteps = Math.max(0, doc.max_steps | 0);
    this.actionIndex = new Map(this.actionNames.map((name, i) => [name, i]));

    this.objects = [];   // in document order
    this.byId = [];      // by object id
    this.agents = [];    // by agent id
    this.rebuildIndex(doc.grid_objects.map((raw) => new GameObject(raw, this)));
  }

  rebuildIndex(objects) {
    this.objects = objects;
    this.byId = [];
    this.agents = [];
    this.walls = [];     // static walls: drawn once into the background layer
    this.things = [];    // everything else that is not an agent (blocks, buildings, moving walls)
    this.converters = [];
    for (const obj of objects) {
      this.byId[obj.id] = obj;
      if (obj.isAgent) {
        this.agents[obj.agentId] = obj;
      } else if (obj.kind === "wall" && obj.isStatic) {
        this.walls.push(obj);
      } else {
        this.things.push(obj);
        if (obj.kind === "converter") this.converters.push(obj);
      }
    }
    this.agentList = this.agents.filter(Boolean);
    this.numAgents = this.agentList.length;
  }

  get numSteps() {
    return this.maxSteps + 1;
  }

  groupName(group) {
    return this.groupNames[group] ?? `group ${group}`;
  }

  /** The owner of building `obj` at `step`: {id, name}, or null when neutral or teamless. */
  ownerAt(obj, step) {
    if (!obj || obj.isAgent || !obj.fields.team) return null;
    const team = obj.team.at(step);
    return team > 0 ? { id: team, name: this.groupName(team) } : null;
  }

  itemName(index) {
    return this.itemNames[index] ?? `item_${index}`;
  }

  actionName(index) {
    return this.actionNames[index] ?? `action_${index}`;
  }

  /** A plain snapshot of agent `id` at `step` (for the automation API and the panel). */
  agentAt(step, id) {
    const agent = this.agents[id];
    if (!agent) return null;
    const inventory = {};
    for (const [item, count] of agent.inventory.at(step) ?? []) inventory[this.itemName(item)] = count;
    const action = agent.action.at(step);
    const actionId = action?.[0] ?? 0, actionArg = action?.[1] ?? 0;
    return {
      id: agent.agentId,
      objectId: agent.id,
      group: agent.group.at(step),
      groupName: this.groupName(agent.group.at(step)),
      row: agent.row.at(step),
      col: agent.col.at(step),
      orientation: agent.orientation.at(step),
      frozen: agent.frozen.at(step),
      color: agent.color.at(step),
      glyph: agent.glyph.at(step),
      inventory,
      reward: agent.reward.at(step),
      totalReward: agent.totalReward.at(step),
      action: { id: actionId, name: this.actionName(actionId), arg: actionArg, success: agent.actionSuccess.at(step) !== 0 },
    };
  }

  objectAt(step, id) {
    const obj = this.byId[id];
    if (!obj) return null;
    const out = { id: obj.id, type: obj.typeName, kind: obj.kind, row: obj.row.at(step), col: obj.col.at(step) };
    for (const name in obj.fields) {
      const value = obj.fields[name].at(step);
      if (name === "inventory" || name === "input") {
        const items = {};
        for (const [item, count] of value ?? []) items[this.itemName(item)] = count;
        out[name] = items;
      } else if (name !== "row" && name !== "col") {
        out[name] = value;
      }
    }
    if (obj.fields.team) out.teamName = this.ownerAt(obj, step)?.name ?? null;
    return out;
  }

  /**
   * Apply a live `step` message: `changes` is a list of [object_id, field_name, value]. Both the
   * document (so that `mettascope.replay` stays a valid replay) and the fields are updated.
   * Returns true when the static wall layer must be rebuilt.
   */
  applyStep(step, changes, maxSteps) {
    let staticChanged = false;
    for (const change of changes ?? []) {
      const [id, name, value] = change;
      const obj = this.byId[id];
      if (!obj || typeof name !== "string" || name === "id" || name === "type") continue;
      const raw = obj.raw;
      if (name === "stats") {
        raw.stats = value;
        obj.stats = value && typeof value === "object" ? value : null;
        continue;
      }
      const current = raw[name];
      if (Array.isArray(current)) {
        const last = current[current.length - 1];
        if (last && last[0] === step) last[1] = value; else current.push([step, value]);
      } else if (current === undefined) {
        raw[name] = step === 0 ? (Array.isArray(value) ? [[0, value]] : value) : [[0, value], [step, value]];
      } else {
        raw[name] = [[0, current], [step, value]];
      }
      const wasStatic = obj.kind === "wall" && obj.isStatic;
      obj.ensureField(name, value).push(step, value);
      if (wasStatic && (name === "row" || name === "col")) staticChanged = true;
    }
    this.maxSteps = Math.max(this.maxSteps, typeof maxSteps === "number" ? maxSteps : step);
    this.doc.max_steps = this.maxSteps;
    if (staticChanged) this.rebuildIndex(this.objects);
    return staticChanged;
  }
}

/** A replay model from a document, after validation. */
export function buildModel(doc, name) {
  validateReplay(doc, name);
  return new ReplayModel(doc, name);
}
