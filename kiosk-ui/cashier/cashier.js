// Cashier app shell: device pairing, staff PIN login, the three views (open orders, new
// counter order, shift) and the live order feed. Each view lives in its own module and
// gets one context object (api, translations, helpers), so there is no shared global state.
// The shell also owns what every view shares: the cached menu (names in the screen's
// language for order lines), error texts in the screen's language (cashier/strings.js), the
// outlet server's reachability banner and the head-office link status, which are different
// things: without the hub the till works as before; without the edge nothing is recorded.
// The first screen (PIN pad, then the open orders) loads only its own modules: the counter
// and shift views and the QR and refund dialogs are fetched with import() on first use, and
// warmed while the till is idle once a cashier is in. sw.js precaches them all (offline too).
import "./strings.js";
import { client, request, ApiError } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { ensurePaired, storedToken } from "../common/device.js";
import { makeI18n } from "../common/i18n.js";
import { Menu } from "../common/menu.js";
import { formatMoney } from "../common/money.js";
import { reachability } from "../common/status.js";
import { LiveStream } from "../common/stream.js";
import { sentence } from "./strings.js";
import { ordersView } from "./orders.js";

const SESSION_KEY = "pos.cashier.session";
const i18n = makeI18n("cashier", "id");
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
const dialog = document.getElementById("dialog");

const ctx = {
  t, i18n, esc, root, dialog,
  deviceToken: null, session: null, currency: "IDR", view: "orders",
  money: (n) => formatMoney(n, ctx.currency),
  api: client(() => ctx.session?.access_token ?? ctx.deviceToken),
  /** What went wrong, as a sentence in the screen's language (never the server's English). */
  describe(err) {
    // The staff session ended on the edge (expired, staff removed): back to the PIN pad. A
    // wrong PIN typed for a manager's approval is not the session ending.
    if (err?.status === 401 && ctx.session && err.details?.reason !== "wrong_pin") setTimeout(() => logout(true), 0);
    return sentence(reason(err));
  },
  /** "<action> NOT done: <why>" for an action that failed (network or refused). */
  failed: (actionKey, err) => t("out.not_done", { action: t(actionKey), why: ctx.describe(err) }),
  reason: (err) => reason(err),
  menu: null,
  menuEtag: null,
  async loadMenu() {
    const res = await ctx.api.get("/api/v1/menu", { etag: ctx.menuEtag });
    if (res.notModified && ctx.menu) return ctx.menu;
    ctx.menu = new Menu(res); ctx.menuEtag = res._etag;
    ctx.currency = ctx.menu.currency;
    return ctx.menu;
  },
  /** An order line's item and option names in the screen's language: the order keeps the
   * base name only, so the product and option ids are looked up in the cached menu (the
   * snapshot's name when the menu no longer has them). */
  lineName: (line) => ctx.i18n.name(ctx.menu?.products.get(line.product_id)) || line.name,
  modName: (m) => ctx.i18n.name(ctx.menu?.options.get(m.option_id)) || m.name,
  roundingUnit: () => ctx.menu?.tax?.rounding_unit ?? 1,
  toast(text) {
    const el = document.createElement("div");
    el.className = "toast"; el.setAttribute("role", "status"); el.textContent = text;
    document.body.append(el);
    setTimeout(() => el.remove(), 3500);
  },
  /** Log in with a PIN on this device without touching the current session (manager PIN). */
  pinLogin: (pin) => request("POST", "/api/v1/auth/login", { body: { pin }, token: ctx.deviceToken, retries: 0 }),
  go(view) { ctx.view = view; render(); },
  render: () => render(),
  /** A module fetched on first use: `load()` once; a failed fetch reads as the outlet server
   * being unreachable (in the screen's language) and is tried again on the next use. */
  lazy(load) {
    let loading = null;
    return () => (loading ??= load().catch((err) => {
      loading = null;
      throw new ApiError(0, "network", String(err?.message ?? err));
    }));
  },
};

const views = { orders: ordersView(ctx) }; // the others once first shown
const later = {
  counter: ctx.lazy(() => import("./counter.js").then((m) => m.counterView)),
  shift: ctx.lazy(() => import("./shift.js").then((m) => m.shiftView)),
  qr: ctx.lazy(() => import("./qr.js")),
  refund: ctx.lazy(() => import("./refund.js")),
};
ctx.showOrder = (id) => views.orders.show(id);
let warmed = false;

/** Once a cashier is in, fetch the rest while the till is idle: the first New order, Shift,
 * QR or refund then waits for nothing, even with the outlet server gone meanwhile. */
function warm() {
  if (warmed) return;
  warmed = true;
  const idle = window.requestIdleCallback ?? ((fn) => setTimeout(fn, 500));
  idle(() => Object.values(later).forEach((load) => load().catch(() => { warmed = false; })));
}

// No full-screen overlay on the till: the cashier must still read what happened to the
// action that failed; a banner says the outlet server is unreachable instead.
boot({ getLang: () => i18n.lang(), overlay: false });
i18n.setLang(i18n.lang());
i18n.onChange(() => render());

function reason(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  const params = { code: err.code, s: err.details?.retry_after_seconds ?? "…" };
  const known = (key) => { const s = t(key, params); return s === key ? null : s; };
  return (err.details?.reason && known(`error.reason.${err.details.reason}`))
    ?? known(`error.code.${err.code}`) ?? known(`error.${err.code}`)
    ?? (i18n.lang() === "en" ? err.message : t("error.code.other", params));
}

// ------------------------------------------------------------------ outlet server and hub

const banner = document.createElement("div");
banner.className = "net-banner"; banner.hidden = true;
banner.setAttribute("role", "alert"); banner.dataset.testid = "edge-down";
document.body.prepend(banner);
let bannerTimer = null;
reachability.addEventListener("change", () => {
  clearTimeout(bannerTimer);
  if (reachability.online === false) {
    bannerTimer = setTimeout(() => { banner.textContent = t("net.edge_down"); banner.className = "net-banner down"; banner.hidden = false; }, 1200);
  } else if (!banner.hidden) {
    banner.textContent = t("net.edge_back"); banner.className = "net-banner back";
    bannerTimer = setTimeout(() => { banner.hidden = true; }, 4000);
  }
  pollHub();
});

let hub = null; // GET /api/v1/sync/status (as the device: sync:read)
let hubTimer = null;
async function pollHub() {
  clearTimeout(hubTimer);
  if (ctx.deviceToken && reachability.online !== false) {
    try { hub = await request("GET", "/api/v1/sync/status", { token: ctx.deviceToken, retries: 0, timeoutMs: 4000 }); }
    catch { /* the edge's own reachability is shown by the badge and the banner */ }
  }
  drawHub();
  hubTimer = setTimeout(pollHub, 15000);
}

function hubHtml() {
  if (!hub || reachability.online === false) return "";
  const state = !hub.provisioned ? "unlinked" : hub.hub_reachable && !hub.refused ? "online" : "offline";
  const backlog = hub.backlog > 0 && state !== "online" ? ` · ${t("hub.backlog", { n: hub.backlog })}` : "";
  return `<span class="hub-status" data-state="${state}" data-testid="hub-status" title="${esc(t("hub.title"))}">${t(`hub.${state}`)}${backlog}</span>`;
}

function drawHub() {
  const slot = root.querySelector("[data-slot=hub]");
  if (slot) slot.innerHTML = hubHtml();
}

async function start() {
  const { token } = await ensurePaired("cashier", ["cashier"], root, t);
  ctx.deviceToken = token;
  ctx.session = readSession();
  pollHub();
  new LiveStream({
    token, topics: ["orders", "menu"], after: 0,
    prepare: async () => { if (ctx.session) await views[ctx.view]?.refresh?.(); },
    onEvent: (ev) => {
      if (ev.topic === "menu" && ctx.menu) {
        if (ev.type === "product.availability") ctx.menu.setAvailable(ev.data.product_id, ev.data.available);
        else ctx.menuEtag = null; // a new catalog: read it again
      }
      if (ctx.session) Object.values(views).forEach((v) => v.onLiveEvent?.(ev));
    },
  }).start();
  render();
}

function readSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return s && s.expires_at > Date.now() ? s : null;
  } catch { return null; }
}

function logout(ended = false) {
  if (ended && ctx.session) loginError = t("session.ended");
  ctx.session = null;
  sessionStorage.removeItem(SESSION_KEY);
  render();
}

// ------------------------------------------------------------------ login

let pin = "", loginError = "";

function renderLogin() {
  root.innerHTML = `<header><h1 style="margin:0;font-size:1.3rem">${t("login.title")}</h1><span class="spacer"></span>
      <edge-status lang="${i18n.lang()}"></edge-status><button data-action="lang">${t("lang.switch")}</button></header>
    <form class="login card" data-testid="login">
      <h2>${t("login.title")}</h2>
      <label for="pin">${t("login.pin")}</label>
      <input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="12" value="${esc(pin)}" style="font-size:2rem;text-align:center;letter-spacing:.4em">
      <div class="pinpad" role="group" aria-label="${t("login.pin")}">
        ${[1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => `<button type="button" data-digit="${d}">${d}</button>`).join("")}
        <button type="button" data-action="pin-clear" aria-label="${t("login.clear")}">C</button>
        <button type="button" data-digit="0">0</button>
        <button type="button" data-action="pin-back" aria-label="${t("login.delete")}">⌫</button>
      </div>
      <p class="error" role="alert">${esc(loginError)}</p>
      <button class="primary big" type="submit" style="width:100%">${t("login.submit")}</button>
    </form>`;
  const input = root.querySelector("#pin");
  input.focus();
  input.addEventListener("input", () => { pin = input.value.replace(/\D/g, ""); });
  root.querySelector("form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    pin = input.value.replace(/\D/g, "");
    if (!pin) return;
    try {
      const res = await ctx.pinLogin(pin);
      ctx.session = { ...res, expires_at: Date.now() + (res.expires_in ?? 3600) * 1000 };
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(ctx.session));
      pin = ""; loginError = "";
      ctx.view = "orders";
      render();
    } catch (err) {
      // 401 here is a wrong PIN, not an expired session; 429 says how long to wait.
      pin = "";
      loginError = err.status === 401 ? t("login.wrong_pin")
        : err.status === 429 ? t("login.locked", { s: err.details?.retry_after_seconds ?? "…" })
        : sentence(reason(err));
      renderLogin();
    }
  });
}

// ------------------------------------------------------------------ shell

function render() {
  if (!ctx.deviceToken) return;
  if (!ctx.session || ctx.session.expires_at <= Date.now()) { ctx.session = null; renderLogin(); return; }
  const staff = ctx.session.staff ?? {};
  const tab = (v, label) => `<button data-action="go" data-view="${v}" aria-current="${ctx.view === v ? "page" : "false"}">${label}</button>`;
  const title = t({ orders: "orders.open", counter: "orders.new", shift: "shift.title" }[ctx.view]);
  warm();
  root.innerHTML = `<header><h1 class="visually-hidden">${title}</h1>
      <nav aria-label="Cashier">${tab("orders", t("orders.open"))}${tab("counter", t("orders.new"))}${tab("shift", t("shift.title"))}
        <a class="navlink" href="/waiter/" data-action="tables" data-testid="tables-link" title="${esc(t("c.tables_hint"))}">${t("c.tables")}</a></nav>
      <span class="spacer"></span>
      <span data-testid="staff">${esc(staff.name)} · ${esc(staff.role)}</span>
      <edge-status lang="${i18n.lang()}"></edge-status><span data-slot="hub">${hubHtml()}</span>
      <button data-action="lang">${t("lang.switch")}</button>
      <button data-action="logout">${t("logout")}</button>
    </header><div id="view" class="view-${ctx.view}" style="flex:1;display:flex;flex-direction:column;min-height:0"></div>`;
  mountView(ctx.view, root.querySelector("#view"));
}

async function mountView(name, target) {
  if (!views[name]) {
    try {
      const make = await later[name]();
      views[name] ??= make(ctx);
    } catch (err) {
      if (target.isConnected) target.innerHTML = `<p class="error" role="alert">${esc(ctx.describe(err))}</p>`;
      return;
    }
  }
  // Still what the screen shows (no other tab, logout or redraw while it was fetched)?
  if (target.isConnected && ctx.view === name) views[name].mount(target);
}

root.addEventListener("click", (ev) => {
  const link = ev.target.closest("a[data-action=tables]");
  if (link && !storedToken("waiter") && ctx.deviceToken) {
    // The waiter app pairs as a cashier device: this tablet's token pairs it on first use.
    ev.preventDefault();
    location.href = `/waiter/?token=${encodeURIComponent(ctx.deviceToken)}`;
    return;
  }
  const btn = ev.target.closest("button");
  if (!btn) return;
  if (btn.dataset.digit !== undefined) {
    const input = root.querySelector("#pin");
    if (input && input.value.length < 12) { input.value += btn.dataset.digit; pin = input.value; }
    return;
  }
  switch (btn.dataset.action) {
    case "pin-clear": root.querySelector("#pin").value = ""; pin = ""; break;
    case "pin-back": { const i = root.querySelector("#pin"); i.value = i.value.slice(0, -1); pin = i.value; break; }
    case "lang": i18n.toggle(); break;
    case "logout": logout(); break;
    case "go": ctx.go(btn.dataset.view); break;
  }
});

// A staff session that the edge no longer accepts sends the user back to the PIN pad.
window.addEventListener("unhandledrejection", (ev) => {
  if (ev.reason?.status === 401) { logout(true); ev.preventDefault(); }
});

start();
