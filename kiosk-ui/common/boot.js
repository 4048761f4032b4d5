// What every screen does first: register the service worker, start the reachability poll,
// put the edge-status badge and the reconnect overlay in place (a screen that marks its own
// state as stale instead, like the order board, passes overlay: false).
import { startHealthPoll, installReconnectOverlay } from "./status.js";

export function boot({ getLang, overlay = true }) {
  if ("serviceWorker" in navigator && (location.protocol === "https:" || isLocalhost())) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) =>
      console.warn("service worker not registered", err));
  }
  startHealthPoll();
  if (overlay) installReconnectOverlay(getLang);
}

// Service workers need a secure context; on the shop LAN (plain http to the edge's IP) the
// kiosk browser must be started with --unsafely-treat-insecure-origin-as-secure=<edge url>
// (see docs/ui.md). The browser simply refuses registration otherwise, which we tolerate.
function isLocalhost() {
  return ["localhost", "127.0.0.1", "[::1]"].includes(location.hostname) || window.isSecureContext;
}

/** Escape text for innerHTML templates. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
