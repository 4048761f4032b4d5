// Cashier app shell: device pairing, staff PIN login, the three views (open orders, new
// counter order, shift) and the live order feed. Each view lives in its own module and
// gets one context object (api, translations, helpers), so there is no shared global state.
import { client, request, describeError } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { ensurePaired } from "../common/device.js";
import { makeI18n } from "../common/i18n.js";
import { formatMoney } from "../common/money.js";
import { LiveStream } from "../common/stream.js";
import { ordersView } from "./orders.js";
import { counterView } from "./counter.js";
import { shiftView } from "./shift.js";

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
  describe(err) {
    // The staff session ended on the edge (expired, staff removed): back to the PIN pad.
    if (err?.status === 401 && ctx.session) setTimeout(logout, 0);
    return describeError(err, t);
  },
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
};

const views = { orders: ordersView(ctx), counter: counterView(ctx), shift: shiftView(ctx) };
ctx.showOrder = (id) => views.orders.show(id);

boot({ getLang: () => i18n.lang() });
i18n.setLang(i18n.lang());
i18n.onChange(() => render());

async function start() {
  const { token } = await ensurePaired("cashier", ["cashier"], root, t);
  ctx.deviceToken = token;
  ctx.session = readSession();
  new LiveStream({
    token, topics: ["orders", "menu"], after: 0,
    prepare: async () => { if (ctx.session) await views[ctx.view].refresh?.(); },
    onEvent: (ev) => { if (ctx.session) Object.values(views).forEach((v) => v.onLiveEvent?.(ev)); },
  }).start();
  render();
}

function readSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return s && s.expires_at > Date.now() ? s : null;
  } catch { return null; }
}

function logout() {
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
      pin = ""; loginError = describeError(err, t);
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
  root.innerHTML = `<header>
      <nav aria-label="Cashier">${tab("orders", t("orders.open"))}${tab("counter", t("orders.new"))}${tab("shift", t("shift.title"))}</nav>
      <span class="spacer"></span>
      <span data-testid="staff">${esc(staff.name)} · ${esc(staff.role)}</span>
      <edge-status lang="${i18n.lang()}"></edge-status>
      <button data-action="lang">${t("lang.switch")}</button>
      <button data-action="logout">${t("logout")}</button>
    </header><div id="view" class="view-${ctx.view}" style="flex:1;display:flex;flex-direction:column;min-height:0"></div>`;
  views[ctx.view].mount(root.querySelector("#view"));
}

root.addEventListener("click", (ev) => {
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
  if (ev.reason?.status === 401) { logout(); ev.preventDefault(); }
});

start();
