// Colours and sprite rules shared by the map, the timeline and the panel. They live in
// sprites.json, which mettagrid/renderer/image.py also reads, so that map images drawn with
// Pillow look like the viewer. All colours are "#rrggbb" so that tests can compare drawn pixels
// with them exactly.

async function loadSprites() {
  const url = new URL("./sprites.json", import.meta.url);
  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`could not fetch ${url}: ${error.message}`);
  }
  if (!response.ok) throw new Error(`could not fetch ${url}: HTTP ${response.status}`);
  return await response.json();
}

/** The parsed sprites.json (read-only by convention). */
export const SPRITES = await loadSprites();

export const COLORS = SPRITES.colors;

// Agent body colour by group id (group 0 is the solo "agent" group).
export const GROUP_COLORS = SPRITES.group_colors;

const ITEM_COLORS = SPRITES.item_colors;
const ACTION_COLORS = SPRITES.action_colors;
const TINTS = SPRITES.tints;
const BUILDINGS = SPRITES.buildings;
const HASHED = SPRITES.hashed;
// The one glyph table (char, terminal symbol, colour per object type) that the terminal and
// Pillow renderers read too; a building's accent and letter come from it when it has a row.
export const GLYPHS = SPRITES.glyphs;

/** table[key] for the table's own keys only (so "constructor" is not a building). */
function own(table, key) {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

export function groupColor(group) {
  const n = GROUP_COLORS.length;
  return GROUP_COLORS[((group % n) + n) % n];
}

/** FNV-1a over the UTF-16 code units of `text`, as an unsigned 32-bit integer. */
export function hashString(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

function hslToHex(h, s, l) {
  s /= 100; l /= 100;
  const k = (n) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  const hex = (x) => Math.round(x * 255).toString(16).padStart(2, "0");
  return `#${hex(f(0))}${hex(f(8))}${hex(f(4))}`;
}

export function hashedColor(name, saturation = HASHED.default[0], lightness = HASHED.default[1]) {
  return hslToHex(hashString(String(name)) % 360, saturation, lightness);
}

export function itemColor(name) {
  return own(ITEM_COLORS, name) ?? hashedColor(name, ...HASHED.item);
}

export function actionColor(name) {
  return own(ACTION_COLORS, name) ?? hashedColor(name, ...HASHED.action);
}

/** The `color` field of an agent (0..255) as a hue for its ring. */
export function agentColorRing(value) {
  return hslToHex(((value & 255) / 256) * 360, ...HASHED.agent_ring);
}

/** Body and accent colours and icon of a building type: its family is the name up to the first
 * "_", its tint (red, blue, green) the part after it. Unknown families get hashed colours and
 * their first letter or digit. */
export function buildingStyle(typeName) {
  const name = String(typeName ?? "?");
  const [family, tint] = name.split("_");
  const base = own(BUILDINGS, family);
  const glyph = own(GLYPHS, name);
  if (base) {
    const accent = glyph?.color ?? own(TINTS, tint) ?? base.accent ?? hashedColor(name, ...HASHED.building_accent);
    return { body: base.body, accent, icon: base.icon, letter: glyph?.char ?? name[0].toUpperCase() };
  }
  return { body: hashedColor(name, ...HASHED.unknown_body),
           accent: glyph?.color ?? hashedColor(name, ...HASHED.unknown_accent), icon: "letter",
           letter: glyph?.char ?? (name.match(/[A-Za-z0-9]/)?.[0] ?? "?").toUpperCase() };
}

export function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

export function shade(hex, factor) {
  const [r, g, b] = hexToRgb(hex);
  const c = (x) => Math.max(0, Math.min(255, Math.round(x * factor))).toString(16).padStart(2, "0");
  return `#${c(r)}${c(g)}${c(b)}`;
}

/** A sprite colour reference as "#rrggbb": a literal, a name (from `named`, then COLORS) or
 * "name*factor" for a shade of it. */
export function resolveColor(ref, named = {}) {
  if (ref.startsWith("#")) return ref;
  const star = ref.indexOf("*");
  const name = star < 0 ? ref : ref.slice(0, star);
  const color = own(named, name) ?? own(COLORS, name);
  if (color === undefined) throw new Error(`sprites.json: unknown colour ${JSON.stringify(ref)}`);
  return star < 0 ? color : shade(color, Number(ref.slice(star + 1)));
}

export const ORIENTATION_NAMES = ["up", "down", "left", "right"];
