// Order-ready board for customers: numbers in preparation and numbers ready to collect.
// Snapshot from GET /api/v1/board, then order.status live events applied by order id.
import { client } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { ensurePaired } from "../common/device.js";
import { makeI18n } from "../common/i18n.js";
import { LiveStream } from "../common/stream.js";

const i18n = makeI18n("board", "id");
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
const PREPARING = new Set(["placed", "in_kitchen"]);
// number -> "preparing" | "ready"; numbers are unique within the outlet's business day.
const board = new Map();
let api;

boot({ getLang: () => "id" });

async function start() {
  const { token } = await ensurePaired("board", ["board", "kds", "cashier"], root, t);
  api = client(() => token);
  new LiveStream({ token, topics: ["orders"], after: 0, prepare: loadSnapshot, onEvent }).start();
}

async function loadSnapshot() {
  const res = await api.get("/api/v1/board", { retries: 0 });
  board.clear();
  for (const n of res.preparing) board.set(n, "preparing");
  for (const n of res.ready) board.set(n, "ready");
  render();
}

function onEvent(ev) {
  if (ev.type !== "order.status") return;
  const { number, status } = ev.data;
  if (PREPARING.has(status)) board.set(number, "preparing");
  else if (status === "ready") board.set(number, "ready");
  else board.delete(number);
  render();
}

function render() {
  const pick = (s) => [...board].filter(([, v]) => v === s).map(([n]) => n).sort((a, b) => a - b);
  const list = (nums) => nums.map((n) => `<li>${esc(n)}</li>`).join("");
  // Both languages at once: customers should not need to switch anything.
  root.innerHTML = `
    <section class="preparing" aria-labelledby="prep-h" data-testid="preparing">
      <h1 id="prep-h">${i18n.t("board.preparing")}<small lang="en">Preparing</small></h1>
      <ol aria-live="polite">${list(pick("preparing"))}</ol></section>
    <section class="ready" aria-labelledby="ready-h" data-testid="ready">
      <h1 id="ready-h">${i18n.t("board.ready")}<small lang="en">Ready – please collect</small></h1>
      <ol aria-live="polite">${list(pick("ready"))}</ol></section>
    <footer><edge-status lang="id"></edge-status></footer>`;
}

start();
