// Order-ready board for customers: numbers in preparation and numbers ready to collect,
// sized to fill the screen (a 1080p TV read from across the room).
// Snapshot from GET /api/v1/board, then order.status live events applied by order number.
//
// * Ready numbers expire: a number is shown as ready for ?expire= seconds (default 600;
//   0 = until handed over) after it became ready. The time comes from the edge's event
//   (`at` of the order.status event, replayed on every connection), so a reload does not
//   restart the clock; a number whose event is no longer kept counts from when this screen
//   first saw it.
// * During a blip the last state stays on screen, marked stale (a banner with the time of the
//   last update, numbers dimmed), instead of hiding behind the reconnect overlay; the stream
//   reloads the snapshot when it comes back.
import { client } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { edgeNow, outletTime } from "../common/clock.js";
import { ensurePaired } from "../common/device.js";
import { makeI18n } from "../common/i18n.js";
import { reachability } from "../common/status.js";
import { LiveStream } from "../common/stream.js";

const i18n = makeI18n("board", "id");
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
const params = new URLSearchParams(location.search);
const EXPIRE_MS = Math.max(0, Number(params.get("expire") ?? 600) || 0) * 1000;
const STALE_AFTER_MS = 1200; // as the reconnect overlay of the other screens
const PREPARING = new Set(["placed", "in_kitchen"]);
// number -> "preparing" | "ready"; numbers are unique within the outlet's business day.
const board = new Map();
const readyAt = new Map(); // number -> ms (edge time, capped at now) it became ready
const fresh = new Set(); // numbers that turned ready since the last render (animated once)
let api;
let live = false; // stream open on top of a fresh snapshot
let lastUpdate = null; // when the screen last knew it matched the edge
let staleTimer = null;

boot({ getLang: () => "id", overlay: false });

async function start() {
  const { token } = await ensurePaired("board", ["board", "kds", "cashier"], root, t);
  api = client(() => token);
  render();
  new LiveStream({ token, topics: ["orders"], after: 0, prepare: loadSnapshot, onEvent,
                   onOpen: () => { live = true; lastUpdate = edgeNow(); updateStale(); } }).start();
  reachability.addEventListener("change", () => {
    if (reachability.online === false && live) { live = false; lastUpdate = edgeNow(); }
    updateStale();
  });
  setInterval(expire, 1000);
  window.addEventListener("resize", fit);
}

async function loadSnapshot() {
  const res = await api.get("/api/v1/board", { retries: 0 });
  board.clear();
  for (const n of res.preparing) board.set(n, "preparing");
  for (const n of res.ready) {
    board.set(n, "ready");
    if (!readyAt.has(n)) readyAt.set(n, edgeNow());
  }
  for (const n of [...readyAt.keys()]) if (board.get(n) !== "ready") readyAt.delete(n);
  for (const n of [...board.keys()]) if (expired(n)) board.delete(n);
  render();
}

function onEvent(ev) {
  if (ev.type !== "order.status") return;
  const { number, status } = ev.data;
  if (PREPARING.has(status)) {
    board.set(number, "preparing");
    readyAt.delete(number);
  } else if (status === "ready") {
    const now = edgeNow(); // ev.at is the edge's time: compared on its clock (clock.js)
    const at = Math.min(Date.parse(ev.at) || now, now);
    if (board.get(number) !== "ready" && now - at < 5000) fresh.add(number);
    board.set(number, "ready");
    readyAt.set(number, at);
  } else {
    board.delete(number);
    readyAt.delete(number);
  }
  lastUpdate = edgeNow();
  if (expired(number)) board.delete(number);
  scheduleRender();
}

// One render per frame, not per event: a reconnect replays the day's events (thousands at a
// lunch peak), and each render lays the screen out again; a TV stick would stall on them.
let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  const run = () => { if (renderPending) { renderPending = false; render(); } };
  requestAnimationFrame(run);
  setTimeout(run, 100); // requestAnimationFrame does not run while the tab is hidden
}

function expired(number) {
  return EXPIRE_MS > 0 && board.get(number) === "ready" &&
    edgeNow() - (readyAt.get(number) ?? edgeNow()) >= EXPIRE_MS;
}

function expire() {
  const gone = [...board.keys()].filter(expired);
  for (const n of gone) board.delete(n);
  if (gone.length) scheduleRender();
}

function render() {
  renderPending = false;
  const pick = (s) => [...board].filter(([, v]) => v === s).map(([n]) => n).sort((a, b) => a - b);
  const list = (nums) => nums.map((n) =>
    `<li${fresh.has(n) ? ' class="new"' : ""}>${esc(n)}</li>`).join("");
  fresh.clear();
  // Both languages at once: customers should not need to switch anything.
  root.innerHTML = `
    <section class="preparing" aria-labelledby="prep-h" data-testid="preparing">
      <h1 id="prep-h">${i18n.t("board.preparing")}<small lang="en">Preparing</small></h1>
      <ol aria-live="polite">${list(pick("preparing"))}</ol></section>
    <section class="ready" aria-labelledby="ready-h" data-testid="ready">
      <h1 id="ready-h">${i18n.t("board.ready")}<small lang="en">Ready – please collect</small></h1>
      <ol aria-live="polite">${list(pick("ready"))}</ol></section>
    <footer><p class="stale-note" role="status" data-testid="stale" hidden></p>
      <edge-status lang="id"></edge-status></footer>`;
  updateStale(true);
  fit();
}

// Stale after the edge has been unreachable for a moment, until the stream is back on a
// fresh snapshot; the numbers stay, dimmed, under a banner saying since when.
function updateStale(now = false) {
  clearTimeout(staleTimer);
  const show = () => {
    const stale = !live && reachability.online === false;
    root.classList.toggle("stale", stale);
    const note = root.querySelector(".stale-note");
    if (!note) return;
    note.hidden = !stale;
    if (stale) {
      const time = outletTime(lastUpdate ?? edgeNow(), "id-ID", { hour: "2-digit", minute: "2-digit" });
      note.innerHTML = `Koneksi terputus – nomor mungkin belum terbaru (terakhir ${esc(time)})` +
        `<small lang="en">Connection lost – numbers may be out of date (last update ${esc(time)})</small>`;
    }
  };
  if (now || live || reachability.online !== false) show();
  else staleTimer = setTimeout(show, STALE_AFTER_MS);
}

// The largest number size at which every number of a column fits its area: few numbers
// fill the screen, a lunch rush still fits (down to a floor readable across a room).
let digitRatio = 0;
function fit() {
  if (!digitRatio) {
    const probe = document.createElement("span");
    probe.className = "digit-probe";
    probe.textContent = "0000000000";
    root.append(probe);
    digitRatio = probe.getBoundingClientRect().width / 1000 || 0.6;
    probe.remove();
  }
  for (const ol of root.querySelectorAll("ol")) {
    const items = [...ol.children];
    const ready = ol.closest(".ready") !== null;
    const digits = Math.max(2, ...items.map((li) => li.textContent.length));
    const box = ol.getBoundingClientRect();
    const width = box.width;
    const height = window.innerHeight - box.top - (root.querySelector("footer")?.offsetHeight ?? 0) - 16;
    const max = Math.min(window.innerHeight * (ready ? 0.3 : 0.2), ready ? 320 : 220);
    const min = 56;
    let size = max;
    for (; size > min; size -= 4) {
      const gap = size * 0.25;
      const cellW = size * (digitRatio * digits + 0.3) + gap;
      const cellH = size * 1.1 + gap;
      const cols = Math.max(1, Math.floor((width + gap) / cellW));
      const rows = Math.max(1, Math.floor((height + gap) / cellH));
      if (cols * rows >= items.length) break;
    }
    ol.style.setProperty("--num", `${Math.round(size)}px`);
    ol.style.setProperty("--digits", String(digits));
  }
}

start();
