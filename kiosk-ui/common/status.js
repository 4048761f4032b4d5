// Edge reachability: one shared state fed by a /api/health poll and by every API call and
// WebSocket (report()), shown by the <edge-status> badge and, when the edge has been gone
// for a moment, by a full-screen "reconnecting" notice that clears itself.
import { learnEdgeClock } from "./clock.js";

class Reachability extends EventTarget {
  constructor() {
    super();
    this.online = null; // unknown until the first answer
    this.since = Date.now();
  }
  report(online) {
    if (online === this.online) return;
    this.online = online;
    this.since = Date.now();
    this.dispatchEvent(new CustomEvent("change", { detail: { online } }));
  }
  /** Resolve once the edge answers again (used by screens that must wait). */
  whenOnline() {
    if (this.online) return Promise.resolve();
    return new Promise((resolve) => {
      const on = () => { if (this.online) { this.removeEventListener("change", on); resolve(); } };
      this.addEventListener("change", on);
    });
  }
}

export const reachability = new Reachability();

let pollTimer = null;
/** Poll /api/health: every `everyMs` while online, every second while offline. */
export function startHealthPoll(everyMs = 5000) {
  if (pollTimer) return;
  let polling = false;
  // A failed API call says "offline" between two polls: ask again within a second, not at
  // the next online tick (up to `everyMs` later), since screens wait for the edge to answer.
  reachability.addEventListener("change", () => {
    if (reachability.online !== false || polling) return;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(tick, 1000);
  });
  const tick = async () => {
    polling = true;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), 2500);
    try {
      const sentAt = Date.now();
      const res = await fetch("/api/health", { cache: "no-store", signal: ctrl.signal });
      learnEdgeClock(res, sentAt);
      // The service worker answers 503 with {"offline":true} when the network failed.
      reachability.report(res.ok);
    } catch {
      reachability.report(false);
    } finally {
      clearTimeout(timer);
      polling = false;
    }
    pollTimer = setTimeout(tick, reachability.online ? everyMs : 1000);
  };
  tick();
}

const LABELS = {
  en: { online: "Edge connected", offline: "Edge offline", reconnecting: "Reconnecting to the outlet server…",
        detail: "Orders are safe. This screen resumes by itself." },
  id: { online: "Server outlet terhubung", offline: "Server outlet terputus",
        reconnecting: "Menghubungkan ulang ke server outlet…",
        detail: "Pesanan aman. Layar ini akan lanjut sendiri." },
};

/** <edge-status lang="en"> – a small badge: green dot when reachable, red when not. */
class EdgeStatus extends HTMLElement {
  static observedAttributes = ["lang"];
  connectedCallback() {
    this.setAttribute("role", "status");
    this.setAttribute("aria-live", "polite");
    this._on = () => this.render();
    reachability.addEventListener("change", this._on);
    this.render();
  }
  disconnectedCallback() { reachability.removeEventListener("change", this._on); }
  attributeChangedCallback() { this.render(); }
  render() {
    const l = LABELS[this.getAttribute("lang")] ?? LABELS.en;
    const state = reachability.online === false ? "offline" : reachability.online ? "online" : "unknown";
    this.dataset.state = state;
    this.textContent = state === "offline" ? l.offline : state === "online" ? l.online : "…";
    this.title = this.textContent;
  }
}
customElements.define("edge-status", EdgeStatus);

/**
 * A full-screen notice shown after the edge has been unreachable for `graceMs`, hidden as
 * soon as it answers. Screens keep their state underneath; nothing is reloaded.
 */
export function installReconnectOverlay(getLang = () => "en", graceMs = 1200) {
  const el = document.createElement("div");
  el.className = "reconnect-overlay";
  el.hidden = true;
  el.setAttribute("role", "alertdialog");
  el.setAttribute("aria-live", "assertive");
  el.dataset.testid = "reconnecting";
  document.body.append(el);
  let timer = null;
  const update = () => {
    clearTimeout(timer);
    if (reachability.online === false) {
      timer = setTimeout(() => {
        const l = LABELS[getLang()] ?? LABELS.en;
        el.innerHTML = `<div><div class="spinner" aria-hidden="true"></div><h2>${l.reconnecting}</h2><p>${l.detail}</p></div>`;
        el.hidden = false;
      }, graceMs);
    } else {
      el.hidden = true;
    }
  };
  reachability.addEventListener("change", update);
  update();
  return el;
}
