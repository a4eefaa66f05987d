// Live mode: a WebSocket to a running environment (play.py). The server sends the replay so far
// ("replay"), then one "step" message per step with the fields that changed, and "done" or
// "error" at the end; the page sends {"type": "action", "action": name, "arg": n} for the agent it
// controls. The socket to the page's own host carries the page's session token (`?token=`).

/**
 * The WebSocket URL for a `live` query value: "1"/"true"/"" mean `/ws` on this host. `token` is
 * the session token the serving page carries (play.py's server refuses a socket without it); it
 * goes only to this page's own host, never to a foreign `ws://` URL.
 */
export function liveSocketUrl(value, location = window.location, token = null) {
  if (value && /^wss?:\/\//i.test(value)) return value;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = value && value.startsWith("/") ? value : "/ws";
  if (!token) return `${scheme}//${location.host}${path}`;
  const joiner = path.includes("?") ? "&" : "?";
  return `${scheme}//${location.host}${path}${joiner}token=${encodeURIComponent(token)}`;
}

/** The session token play.py's server embeds in the page it serves, or null. */
export function pageLiveToken(doc = document) {
  const meta = doc.querySelector('meta[name="metta-live-token"]');
  return meta ? meta.getAttribute("content") : null;
}

export class LiveClient {
  constructor(url, handlers) {
    this.url = url;
    this.shownUrl = url.split("?")[0]; // messages and screenshots leave the token out
    this.handlers = handlers;
    this.socket = null;
    this.open = false;
  }

  connect() {
    const { onMessage, onStatus } = this.handlers;
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      onStatus(`cannot connect to ${this.shownUrl}: ${error.message}`, "error", false);
      return;
    }
    this.socket = socket;
    onStatus(`connecting to ${this.shownUrl}…`, "", false);
    socket.addEventListener("open", () => {
      this.open = true;
      onStatus("connected", "ok", true);
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        onStatus(`bad message from the server: ${error.message}`, "error", this.open);
        return;
      }
      onMessage(message);
    });
    socket.addEventListener("close", () => {
      const wasOpen = this.open;
      this.open = false;
      onStatus(wasOpen ? "disconnected" : `could not connect to ${this.shownUrl}`, wasOpen ? "" : "error", false, true);
    });
  }

  send(message) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }
}

const DIRECTION_KEYS = {
  ArrowUp: 0, KeyW: 0,
  ArrowDown: 1, KeyS: 1,
  ArrowLeft: 2, KeyA: 2,
  ArrowRight: 3, KeyD: 3,
};

/**
 * The action a key press asks for in live mode, or null: {action, arg}. `facing` is the
 * controlled agent's current orientation (0 up, 1 down, 2 left, 3 right).
 */
export function liveActionForKey(event, facing) {
  const code = event.code;
  if (code in DIRECTION_KEYS) {
    const dir = DIRECTION_KEYS[code];
    if (event.shiftKey || dir !== facing) return { action: "rotate", arg: dir };
    return { action: "move", arg: 0 };
  }
  if (/^Digit[1-9]$/.test(code)) return { action: "attack", arg: Number(code.slice(5)) - 1 };
  switch (code) {
    case "KeyQ": return { action: "move", arg: 1 };
    case "KeyE": return { action: "get_items", arg: 0 };
    case "KeyR": return { action: "put_items", arg: 0 };
    case "KeyF": return { action: "attack", arg: 0 };
    case "KeyX": return { action: "swap", arg: 0 };
    case "KeyC": return { action: "change_color", arg: event.shiftKey ? 1 : 0 };
    case "Space":
    case "Period": return { action: "noop", arg: 0 };
    default: return null;
  }
}
