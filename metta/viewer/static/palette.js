// Colours shared by the map, the timeline and the panel. All colours are "#rrggbb" so that tests
// can compare drawn pixels with them exactly.

export const COLORS = {
  outside: "#0b0e13",   // canvas area around the map
  floor: "#1a1f27",
  grid: "#20262f",
  wall: "#56606f",
  wallEdge: "#3a414d",
  wallLight: "#6b7687",
  block: "#8b6b43",
  blockEdge: "#5e4527",
  selection: "#ffffff",
  hover: "#ffe066",
  frozen: "#a5e4ff",
  frozenEdge: "#e7f8ff",
  converting: "#ffd43b",
  failed: "#ff3b3b",
};

// Agent body colour by group id (group 0 is the solo "agent" group).
export const GROUP_COLORS = [
  "#3fa7ff", "#ff6b6b", "#ffd43b", "#51cf66", "#cc5de8",
  "#ff922b", "#22d3c5", "#f783ac", "#94d82d", "#a5b4fc",
];

export function groupColor(group) {
  const n = GROUP_COLORS.length;
  return GROUP_COLORS[((group % n) + n) % n];
}

const ITEM_COLORS = {
  ore_red: "#e03131", ore_blue: "#1c7ed6", ore_green: "#2f9e44",
  battery_red: "#ff8787", battery_blue: "#74c0fc", battery_green: "#8ce99a",
  heart: "#f06595", armor: "#ced4da", laser: "#ff922b", blueprint: "#66d9e8",
};

const ACTION_COLORS = {
  noop: "#5c6370", move: "#40c057", rotate: "#15aabf", put_items: "#fd7e14", get_items: "#fab005",
  attack: "#be4bdb", swap: "#748ffc", change_color: "#f783ac", change_glyph: "#a9744f",
};

// Buildings: a body colour and an icon per family; unknown names get a hashed colour and their
// first letter.
const TINTS = { red: "#d9480f", blue: "#1971c2", green: "#2b8a3e" };
const BUILDINGS = {
  mine: { body: "#4a4139", icon: "mine" },
  generator: { body: "#2c333d", icon: "generator" },
  altar: { body: "#a61e4d", icon: "heart", accent: "#ffdeeb" },
  armory: { body: "#495057", icon: "shield", accent: "#dee2e6" },
  lasery: { body: "#7a3a05", icon: "laser", accent: "#ffa94d" },
  lab: { body: "#5f3dc4", icon: "flask", accent: "#e5dbff" },
  factory: { body: "#7c4a26", icon: "factory", accent: "#ffe8cc" },
  temple: { body: "#8f6b00", icon: "temple", accent: "#fff3bf" },
};

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

export function hashedColor(name, saturation = 55, lightness = 55) {
  return hslToHex(hashString(String(name)) % 360, saturation, lightness);
}

export function itemColor(name) {
  return ITEM_COLORS[name] ?? hashedColor(name, 65, 62);
}

export function actionColor(name) {
  return ACTION_COLORS[name] ?? hashedColor(name, 60, 55);
}

/** The `color` field of an agent (0..255) as a hue for its ring. */
export function agentColorRing(value) {
  return hslToHex(((value & 255) / 256) * 360, 90, 62);
}

export function buildingStyle(typeName) {
  const name = String(typeName ?? "?");
  const [family, tint] = name.split("_");
  const base = BUILDINGS[family];
  if (base) {
    const accent = TINTS[tint] ?? base.accent ?? hashedColor(name, 70, 60);
    return { body: base.body, accent, icon: base.icon, letter: name[0].toUpperCase() };
  }
  return { body: hashedColor(name, 45, 32), accent: hashedColor(name, 70, 72), icon: "letter",
           letter: (name.match(/[A-Za-z0-9]/)?.[0] ?? "?").toUpperCase() };
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

export const ORIENTATION_NAMES = ["up", "down", "left", "right"];
