// Kitchen display for one station (?station=kitchen|bar, remembered). Tickets oldest first,
// coloured by age, modifiers and notes prominent; bump, recall last, all-day counts; a sound
// on new tickets. State = tickets snapshot (HTTP) + live events after the snapshot's cursor,
// applied as upserts by ticket id, so a reconnect or an edge restart converges to exactly the
// right set without ever stepping back (no event the snapshot already holds is replayed).
import { client, describeError } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { edgeNow } from "../common/clock.js";
import { ensurePaired } from "../common/device.js";
import { addStrings, makeI18n } from "../common/i18n.js";
import { whenReleased } from "../common/press.js";
import { LiveStream } from "../common/stream.js";

const params = new URLSearchParams(location.search);
// Age thresholds in minutes (?warn=&late= to suit the kitchen).
const minutesParam = (name, fallback) => {
  const v = Number.parseFloat(params.get(name) ?? "");
  return Number.isFinite(v) && v >= 0 ? v : fallback;
};
const WARN_MIN = minutesParam("warn", 5);
const LATE_MIN = minutesParam("late", 10);
const STATION_KEY = "pos.kds.station";
if (params.get("station")) localStorage.setItem(STATION_KEY, params.get("station"));
const station = localStorage.getItem(STATION_KEY) || "kitchen";

// Table service: the ticket's table, round and fired course; bump/recall feedback; sound.
addStrings({
  en: { "kds.table": "Table {t}", "kds.round": "Round {n}", "kds.fire": "FIRE · {course}",
        "course.minuman": "Drinks", "course.makanan": "Mains", "course.pencuci_mulut": "Dessert",
        "kds.bumped": "#{n} done – Recall last brings it back", "kds.recalled_n": "#{n} recalled",
        "kds.sound_tap": "Sound on – tap the screen once" },
  id: { "kds.table": "Meja {t}", "kds.round": "Ronde {n}", "kds.fire": "KIRIM · {course}",
        "course.minuman": "Minuman", "course.makanan": "Makanan", "course.pencuci_mulut": "Pencuci mulut",
        "kds.bumped": "#{n} selesai – Panggil ulang untuk mengembalikan", "kds.recalled_n": "#{n} dipanggil ulang",
        "kds.sound_tap": "Suara aktif – sentuh layar sekali" },
});
const i18n = makeI18n("kds", "id");
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
// Every drawing waits for a finger on the screen to lift (common/press.js): a ticket arriving
// under a cook's finger must not swallow the tap.
const render = whenReleased(draw);
const tickets = new Map(); // id -> KitchenTicket (pending only)
const recalled = new Set();
const seen = new Set(); // every ticket id this screen has shown: new ones chime once
// What the screen knows is newer than an answer to a bump or recall sent before it: a
// response is applied only if neither a snapshot nor a live event touched the ticket since.
let snapshots = 0, changes = 0;
const touched = new Map(); // ticket id -> value of `changes` when an event last touched it
let firstSnapshot = true;
let api, allDay = [], showAllDay = false, message = "", audio = null;
// Sound is remembered per screen (station): a reload keeps it on. Browsers start audio only
// after a touch, so a remembered "on" waits for the first tap anywhere (the button says so).
const SOUND_KEY = `pos.kds.sound.${station}`;
let soundOn = localStorage.getItem(SOUND_KEY) === "on";
if (soundOn) makeAudio();
document.addEventListener("pointerdown", () => { if (soundOn && audio?.state === "suspended") audio.resume(); },
  { capture: true, passive: true });

function makeAudio() {
  audio ??= new AudioContext();
  audio.onstatechange = () => scheduleRender();
  return audio;
}

// Short feedback after a bump or a recall (the ticket itself moves or comes back too).
const toast = document.createElement("div");
toast.className = "toast";
toast.setAttribute("role", "status");
toast.dataset.testid = "kds-toast";
toast.hidden = true;
document.body.append(toast);
let toastTimer = null;
function say(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 4000);
}

boot({ getLang: () => i18n.lang() });
i18n.onChange(render);

async function start() {
  const { token } = await ensurePaired("kds", ["kds"], root, t);
  api = client(() => token);
  new LiveStream({
    token, topics: ["kitchen"], station, after: 0,
    prepare: loadSnapshot,
    onEvent: onLiveEvent,
  }).start();
  setInterval(renderAges, 15000);
}

async function loadSnapshot() {
  const res = await api.get(`/api/v1/kitchen/tickets?station=${encodeURIComponent(station)}&status=pending&limit=1000`, { retries: 0 });
  tickets.clear();
  touched.clear();
  snapshots += 1;
  let arrived = false;
  for (const tk of res.items) {
    tickets.set(tk.id, tk);
    // Tickets that came in while we were disconnected chime now (not on the first load).
    if (!seen.has(tk.id) && !firstSnapshot && freshlyCreated(tk)) arrived = true;
    seen.add(tk.id);
  }
  firstSnapshot = false;
  if (arrived) beep();
  await loadAllDay();
  render();
  return res.live_id; // the stream resumes after the last event this snapshot holds
}

async function loadAllDay() {
  try {
    allDay = (await api.get(`/api/v1/kitchen/all-day?station=${encodeURIComponent(station)}`, { retries: 0 })).items;
  } catch { /* keep the last counts */ }
}

let allDayTimer = null;
function onLiveEvent(ev) {
  if (ev.topic !== "kitchen" || !ev.data?.id) return;
  const tk = ev.data;
  if (tk.station && tk.station !== station) return;
  const isNew = !seen.has(tk.id);
  seen.add(tk.id);
  touched.set(tk.id, ++changes);
  // A voided order's tickets are withdrawn: the event carries the ticket as it was.
  const open = tk.status === "pending" && ev.type !== "ticket.withdrawn";
  if (open) tickets.set(tk.id, tk); else { tickets.delete(tk.id); recalled.delete(tk.id); }
  if (ev.type === "ticket.recalled" || ev.type === "ticket.undone") recalled.add(tk.id);
  if (ev.type === "ticket.created" && isNew && tk.status === "pending" && freshlyCreated(tk)) beep();
  scheduleRender();
  clearTimeout(allDayTimer);
  allDayTimer = setTimeout(async () => { await loadAllDay(); scheduleRender(); }, 300);
}

// Replayed history after a reconnect must not ring: only tickets from the last minute do.
function freshlyCreated(tk) { return edgeNow() - Date.parse(tk.created_at) < 60000; }

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function ageOf(tk) {
  // On the edge's clock (clock.js), known to about a second (its Date header's resolution): a
  // ticket made a moment ago may read a little "in the future", which is age 0.
  const minutes = Math.max(0, edgeNow() - Date.parse(tk.created_at)) / 60000;
  return { minutes, level: minutes >= LATE_MIN ? "late" : minutes >= WARN_MIN ? "warn" : "fresh" };
}

function fmtAge(minutes) {
  const total = Math.max(0, Math.floor(minutes * 60));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

// The catalog's translation for the screen's language (tickets carry them), else the base name.
function local(names, base) { return names?.[i18n.lang()] || base; }

function ticketHtml(tk) {
  const { minutes, level } = ageOf(tk);
  const lines = tk.lines.map((l) => `<li><span class="qty">${l.qty}×</span>${esc(local(l.names, l.name))}
      ${l.modifiers?.length ? `<span class="mods">${l.modifiers.map((m, i) => esc(local(l.modifier_names?.[i], m))).join(" · ")}</span>` : ""}
      ${l.note ? `<span class="note">${t("kds.note")}: ${esc(l.note)}</span>` : ""}</li>`).join("");
  return `<article class="ticket" data-age="${level}" data-id="${esc(tk.id)}" data-testid="ticket" aria-labelledby="tk-${esc(tk.id)}"${flashing.has(tk.id) ? " data-flash" : ""}${tk.course ? ` data-course="${esc(tk.course)}"` : ""}>
      <div class="head"><span class="num" id="tk-${esc(tk.id)}">#${tk.order_number}</span>
        <span class="kind">${t(`type.short.${tk.order_type}`)}</span>
        <span class="age" data-created="${esc(tk.created_at)}">${fmtAge(minutes)}</span></div>
      ${serviceHtml(tk)}
      ${recalled.has(tk.id) ? `<div style="padding:.3rem .8rem"><span class="recalled">${t("kds.recalled")}</span></div>` : ""}
      <ul>${lines}</ul>
      ${tk.note ? `<p class="note" style="margin:.4rem .8rem">${t("kds.note")}: ${esc(tk.note)}</p>` : ""}
      <button class="bump" data-action="bump" data-id="${esc(tk.id)}" data-testid="bump">${t("kds.bump")} #${tk.order_number}</button>
    </article>`;
}

// Table service: which table, which round, and a fired course as a band nobody can miss.
function courseName(c) { const k = `course.${c}`; return t(k) === k ? c : t(k); }
function serviceHtml(tk) {
  if (!tk.table && !tk.course) return "";
  return `<div class="service">${tk.table ? `<span class="table" data-testid="ticket-table">${esc(t("kds.table", { t: tk.table }))}</span>` : ""}
      ${tk.round ? `<span class="round" data-testid="ticket-round">${t("kds.round", { n: tk.round })}</span>` : ""}</div>
    ${tk.course ? `<div class="course" data-testid="ticket-course" data-course="${esc(tk.course)}">${esc(t("kds.fire", { course: courseName(tk.course) }))}</div>` : ""}`;
}

function draw() {
  const sorted = [...tickets.values()].sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || (a.order_number - b.order_number));
  document.title = `KDS ${station} (${sorted.length})`;
  root.innerHTML = `<header>
      <h1>${t("kds.title")} · <span data-testid="station">${esc(station)}</span></h1>
      <span aria-live="polite" data-testid="ticket-count">${sorted.length}</span>
      <span class="spacer"></span>
      <edge-status lang="${i18n.lang()}"></edge-status>
      <button data-action="sound" data-testid="sound" aria-pressed="${soundOn}">${!soundOn ? t("kds.sound_off")
        : audio?.state === "running" ? t("kds.sound_on") : t("kds.sound_tap")}</button>
      <button data-action="allday" aria-pressed="${showAllDay}">${t("kds.allday")}</button>
      <button data-action="recall" data-testid="recall">${t("kds.recall")}</button>
      <button data-action="lang">${t("lang.switch")}</button>
    </header>
    ${message ? `<p class="error" role="alert" style="padding:0 1rem">${esc(message)}</p>` : ""}
    <section class="board" aria-label="${t("kds.title")}">
      ${sorted.map(ticketHtml).join("") || `<p class="empty">${t("kds.none")}</p>`}
    </section>
    ${showAllDay ? `<section class="allday" aria-label="${t("kds.allday")}" data-testid="allday"><ul>
      ${allDay.map((r) => `<li><strong>${r.qty}</strong> ${esc(local(r.names, r.name))}</li>`).join("")}</ul></section>` : ""}`;
}

function renderAges() {
  for (const el of root.querySelectorAll(".ticket")) {
    const tk = tickets.get(el.dataset.id);
    if (!tk) continue;
    const { minutes, level } = ageOf(tk);
    el.dataset.age = level;
    el.querySelector(".age").textContent = fmtAge(minutes);
  }
}

// A short two-tone chime made with WebAudio (no audio file to load). Browsers allow sound
// only after a tap, hence the "Enable sound" button.
function beep() {
  if (!soundOn || !audio) return;
  const now = audio.currentTime;
  for (const [i, freq] of [880, 1320].entries()) {
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.4, now + i * 0.18 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + i * 0.18); osc.stop(now + i * 0.18 + 0.18);
  }
  document.body.dataset.lastBeep = String(Date.now()); // observable by tests
}

// A ticket just recalled is outlined for a few seconds (kept across re-renders).
const flashing = new Set();
function highlight(id) {
  flashing.add(id);
  setTimeout(() => { flashing.delete(id); scheduleRender(); }, 3000);
}
root.addEventListener("click", async (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn || btn.disabled) return;
  message = "";
  const asked = { snapshots, changes };
  // The stream may have brought a newer state of this ticket (bumped on another screen,
  // recalled...) while the request was on its way: then the answer is stale.
  const current = (id) => snapshots === asked.snapshots && (touched.get(id) ?? 0) <= asked.changes;
  try {
    switch (btn.dataset.action) {
      case "bump": {
        btn.disabled = true;
        btn.closest(".ticket")?.setAttribute("data-bumping", ""); // greyed at once, gone on the answer
        const tk = await api.post(`/api/v1/kitchen/tickets/${encodeURIComponent(btn.dataset.id)}/bump`, undefined, { retries: 0 });
        if (tk?.id && tk.status !== "pending" && current(tk.id)) { tickets.delete(tk.id); recalled.delete(tk.id); }
        if (tk?.order_number) say(t("kds.bumped", { n: tk.order_number }));
        break;
      }
      case "recall": {
        const tk = await api.post(`/api/v1/kitchen/recall?station=${encodeURIComponent(station)}`, undefined, { retries: 0 });
        if (tk?.id && current(tk.id)) { tickets.set(tk.id, tk); recalled.add(tk.id); }
        if (tk?.id) { say(t("kds.recalled_n", { n: tk.order_number })); highlight(tk.id); }
        break;
      }
      case "allday": showAllDay = !showAllDay; await loadAllDay(); break;
      case "sound":
        await makeAudio().resume();
        soundOn = !soundOn;
        localStorage.setItem(SOUND_KEY, soundOn ? "on" : "off");
        break;
      case "lang": i18n.toggle(); return;
    }
  } catch (err) {
    message = describeError(err, t);
  }
  render();
  for (const id of flashing) root.querySelector(`.ticket[data-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: "nearest" });
});

start();
