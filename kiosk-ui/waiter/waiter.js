// Waiter app shell (phone first, 390x844; a tablet works too): pairing as a "cashier" device,
// staff PIN login (a waiter is a cashier-role staff member, a manager works too), the floor
// (waiter/floor.js) and one table's bill (waiter/bill.js), guest requests from the QR page,
// and the live stream that keeps all of it current. State lives in one ctx object handed to
// each view; no globals beyond this module.
import "./strings.js";
import { client, request, describeError, ApiError } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { ensurePaired } from "../common/device.js";
import { makeI18n } from "../common/i18n.js";
import { formatMoney } from "../common/money.js";
import { LiveStream } from "../common/stream.js";
import { reachability } from "../common/status.js";
import { floorView } from "./floor.js";
import { billView } from "./bill.js";

const SESSION_KEY = "pos.waiter.session";
const PLACE_KEY = "pos.waiter.table";
const DEFAULT_COURSES = ["minuman", "makanan", "pencuci_mulut"];
const i18n = makeI18n("waiter", "id");
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
const dialog = document.getElementById("dialog");

const ctx = {
  t, i18n, esc, root, dialog,
  deviceToken: null, session: null, currency: "IDR", view: "floor",
  tables: new Map(), // id -> TableView, as GET /api/v1/tables and the "tables" topic give them
  courses: [...DEFAULT_COURSES], // the floor plan's, once GET /api/v1/floor answered
  areas: [], // the plan's areas in their order (FloorArea: id, name, names, sort)
  guest: { requests: [] }, // pending guest rounds and calls (waiter, bill) from the QR page
  money: (n) => formatMoney(n ?? 0, ctx.currency),
  api: client(() => ctx.session?.access_token ?? ctx.deviceToken),
  /** Any method (PATCH, DELETE too) with the staff session's token. */
  call: (method, path, body, opts = {}) =>
    request(method, path, { ...opts, body, token: opts.token ?? ctx.session?.access_token ?? ctx.deviceToken }),
  describe(err) {
    if (err?.status === 401 && ctx.session) setTimeout(logout, 0);
    if (err instanceof ApiError && err.isNetwork) return t("w.offline");
    return describeError(err, t);
  },
  toast(text) {
    const el = document.createElement("div");
    el.className = "toast"; el.setAttribute("role", "status"); el.dataset.testid = "toast"; el.textContent = text;
    document.body.append(el);
    setTimeout(() => el.remove(), 3500);
  },
  tableName: (id) => ctx.tables.get(id)?.name ?? "",
  courseName: (c) => t(`course.${c ?? ""}`) === `course.${c}` ? c : t(`course.${c ?? ""}`),
  async loadTables() {
    // The plan says the courses in firing order and the areas' order and names.
    const [res, plan] = await Promise.all([ctx.api.get("/api/v1/tables", { retries: 1 }),
      ctx.api.get("/api/v1/floor", { retries: 1 }).catch(() => null)]);
    if (plan) {
      if (plan.courses?.length) ctx.courses = plan.courses;
      ctx.areas = [...(plan.areas ?? [])].sort((a, b) => (a.sort ?? 0) - (b.sort ?? 0));
    }
    ctx.tables = new Map((res.items ?? []).map((tv) => [tv.id, tv]));
    views.floor.tablesChanged();
  },
  async loadGuest() {
    try {
      const res = await ctx.api.get("/api/v1/guest-requests?status=pending", { retries: 0 });
      ctx.guest.requests = (res.items ?? []).filter((r) => r.status === "pending");
    } catch (err) {
      if (err.status !== 404) throw err; // guest ordering not on this edge: no badge
    }
    drawBadge();
  },
  // The table on screen survives a reload (sessionStorage: this tab only).
  openTable(id) { ctx.view = "bill"; ctx.tableId = id; sessionStorage.setItem(PLACE_KEY, id); render(); },
  showFloor() { ctx.view = "floor"; ctx.tableId = null; sessionStorage.removeItem(PLACE_KEY); render(); },
};

const views = { floor: floorView(ctx), bill: billView(ctx) };

// No full-screen "reconnecting" cover: a waiter walking through the room loses the Wi-Fi
// for a moment often, and must still see the bill and compose the next round (kept on the
// phone). A banner under the header says the edge is unreachable instead.
boot({ getLang: () => i18n.lang(), overlay: false });
reachability.addEventListener("change", () => drawOffline());
i18n.setLang(i18n.lang());
i18n.onChange(() => render());

async function start() {
  const { token } = await ensurePaired("waiter", ["cashier"], root, t);
  ctx.deviceToken = token;
  ctx.session = readSession();
  const place = sessionStorage.getItem(PLACE_KEY);
  if (ctx.session && place) { ctx.view = "bill"; ctx.tableId = place; }
  new LiveStream({
    token, topics: ["tables", "orders"], after: 0, // tables also carries the guest page's requests and calls
    prepare: async () => {
      if (!ctx.session) return undefined;
      await ctx.loadTables();
      await Promise.all([ctx.loadGuest().catch(() => null), views.bill.reload?.()]);
      return undefined;
    },
    onEvent,
  }).start();
  render();
}

let guestTimer = null;
function onEvent(ev) {
  if (!ctx.session) return;
  if (ev.topic === "tables" && ev.type === "table" && ev.data?.id) {
    ctx.tables.set(ev.data.id, ev.data);
    views.floor.tableChanged(ev.data);
    views.bill.onTable?.(ev.data);
  } else if (ev.topic === "tables" && ev.type === "floor") {
    ctx.loadTables().catch(() => null); // head office changed the plan
  } else if (ev.topic === "orders") {
    views.bill.onOrder?.(ev.data);
  }
  if (ev.type === "guest_request" || ev.type === "guest_call") {
    // The event carries the request as staff see it: pending ones are on the list.
    const r = ev.data;
    if (r?.id) {
      ctx.guest.requests = ctx.guest.requests.filter((x) => x.id !== r.id);
      if (r.status === "pending") ctx.guest.requests.unshift(r);
      drawBadge();
      if (dialog.open && dialog.querySelector("[data-testid=requests-dialog]")) drawRequests();
    }
    clearTimeout(guestTimer);
    guestTimer = setTimeout(() => ctx.loadGuest().catch(() => null), 1000);
  }
}

function readSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return s && s.expires_at > Date.now() ? s : null;
  } catch { return null; }
}

function logout() {
  ctx.session = null;
  ctx.view = "floor"; ctx.tableId = null;
  sessionStorage.removeItem(PLACE_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  render();
}

// ------------------------------------------------------------------ login

let loginError = "";

function renderLogin() {
  root.innerHTML = `<header class="bar"><h1>${t("w.title")}</h1><span class="spacer"></span>
      <edge-status lang="${i18n.lang()}"></edge-status><button data-action="lang">${t("lang.switch")}</button></header>
    <form class="login card" data-testid="login">
      <h2>${t("login.title")}</h2>
      <label for="pin">${t("login.pin")}</label>
      <input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="12">
      <div class="pinpad" role="group" aria-label="${t("login.pin")}">
        ${[1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => `<button type="button" data-digit="${d}">${d}</button>`).join("")}
        <button type="button" data-action="pin-clear" aria-label="${t("login.clear")}">C</button>
        <button type="button" data-digit="0">0</button>
        <button type="button" data-action="pin-back" aria-label="${t("login.delete")}">⌫</button>
      </div>
      <p class="error" role="alert">${esc(loginError)}</p>
      <button class="primary big" type="submit">${t("login.submit")}</button>
    </form>`;
  const input = root.querySelector("#pin");
  input.focus();
  root.querySelector("form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pin = input.value.replace(/\D/g, "");
    if (!pin) return;
    try {
      const res = await request("POST", "/api/v1/auth/login", { body: { pin }, token: ctx.deviceToken, retries: 0 });
      ctx.session = { ...res, expires_at: Date.now() + (res.expires_in ?? 3600) * 1000 };
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(ctx.session));
      loginError = "";
      ctx.view = "floor";
      render();
      await ctx.loadTables().catch((err) => ctx.toast(ctx.describe(err)));
      await ctx.loadGuest().catch(() => null);
    } catch (err) {
      loginError = describeError(err, t);
      renderLogin();
    }
  });
}

// ------------------------------------------------------------------ shell

function render() {
  if (!ctx.deviceToken) return;
  if (!ctx.session || ctx.session.expires_at <= Date.now()) { ctx.session = null; renderLogin(); return; }
  const staff = ctx.session.staff ?? {};
  root.innerHTML = `<header class="bar">
      ${ctx.view === "bill" ? `<h1 class="visually-hidden">${t("w.title")}</h1><button data-action="floor" data-testid="back">‹ ${t("w.back")}</button>` : `<h1>${t("w.floor")}</h1>`}
      <span class="spacer"></span>
      <button data-action="requests" data-testid="requests" class="requests" aria-label="${t("w.requests")}" title="${t("w.requests")}"><svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.5-2.5h-5A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.8V3a1.5 1.5 0 0 0-3 0v1.2A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"/></svg><span class="count" data-testid="request-count"></span></button>
      <edge-status lang="${i18n.lang()}"></edge-status>
      <details class="menu-more"><summary aria-label="${esc(staff.name)}">☰</summary><div>
        <span data-testid="staff">${esc(staff.name)} · ${esc(staff.role)}</span>
        <button data-action="lang">${t("lang.switch")}</button>
        <button data-action="logout">${t("logout")}</button></div></details>
    </header><p class="offline" role="alert" data-testid="offline" hidden></p><div id="view" class="view"></div>`;
  drawBadge();
  drawOffline();
  views[ctx.view].mount(root.querySelector("#view"));
}

function drawOffline() {
  const el = root.querySelector("[data-testid=offline]");
  if (!el) return;
  el.hidden = reachability.online !== false;
  el.textContent = t("w.offline_banner");
}

function drawBadge() {
  const el = root.querySelector("[data-testid=request-count]");
  if (!el) return;
  const n = ctx.guest.requests.length;
  el.textContent = n ? String(n) : "";
  el.closest("button").classList.toggle("has", n > 0);
}

function drawRequests(msg = "") {
  const reqs = ctx.guest.requests;
  const where = (r) => esc(r.table || ctx.tableName(r.table_id));
  dialog.innerHTML = `<div class="dlg" data-testid="requests-dialog"><h2 id="dlg-title">${t("w.requests")}</h2>
    <ul class="reqs">${reqs.map((r) => r.kind === "order"
      ? `<li data-testid="guest-request" data-id="${esc(r.id)}"><strong>${where(r)} · ${t("w.request.order")}</strong>
        <span>${(r.lines ?? []).map((l) => `${l.qty} × ${ctx.itemName ? ctx.itemName(l) : esc(l.name)}`).join(", ")} <span class="money">${ctx.money(r.subtotal)}</span></span>
        <span class="row"><button data-req="${esc(r.id)}" data-do="reject">${t("w.reject")}</button>
        <button class="primary" data-req="${esc(r.id)}" data-do="accept" data-testid="accept-request">${t("w.accept")}</button></span></li>`
      : `<li data-testid="guest-call" data-id="${esc(r.id)}"><strong>${where(r)}</strong> ${t(`w.call.${r.kind}`)}
        <button data-req="${esc(r.id)}" data-do="accept">${t("w.dismiss")}</button></li>`).join("")
      || `<li class="muted">${t("w.requests_none")}</li>`}</ul>
    <p class="error" role="alert">${esc(msg)}</p>
    <button data-close>${t("close")}</button></div>`;
}

function requestsDialog() {
  drawRequests();
  dialog.oninput = null; dialog.onsubmit = null;
  dialog.onclick = async (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.hasAttribute("data-close")) { dialog.close(); return; }
    if (!b.dataset.req) return;
    b.disabled = true;
    try {
      await ctx.api.post(`/api/v1/guest-requests/${encodeURIComponent(b.dataset.req)}/${b.dataset.do}`, {});
      ctx.guest.requests = ctx.guest.requests.filter((r) => r.id !== b.dataset.req);
      drawBadge();
      drawRequests();
    } catch (err) {
      await ctx.loadGuest().catch(() => null);
      drawRequests(ctx.describe(err));
    }
  };
  dialog.showModal();
}

root.addEventListener("click", (ev) => {
  const btn = ev.target.closest("button");
  if (!btn) return;
  if (btn.dataset.digit !== undefined) {
    const input = root.querySelector("#pin");
    if (input && input.value.length < 12) input.value += btn.dataset.digit;
    return;
  }
  switch (btn.dataset.action) {
    case "pin-clear": root.querySelector("#pin").value = ""; break;
    case "pin-back": { const i = root.querySelector("#pin"); i.value = i.value.slice(0, -1); break; }
    case "lang": i18n.toggle(); break;
    case "logout": logout(); break;
    case "floor": ctx.showFloor(); break;
    case "requests": requestsDialog(); break;
  }
});

window.addEventListener("unhandledrejection", (ev) => {
  if (ev.reason?.status === 401) { logout(); ev.preventDefault(); }
});

start();
