// Kiosk: customer self-order on a portrait touch screen.
// attract → menu (categories, products) → product sheet (modifiers, qty) → cart → order type
// → (when the outlet has a QRIS gateway) pay here with QRIS or at the counter → submit →
// [QR until paid: kiosk/pay.js] → order number → back to attract. Idle customers are
// returned to attract, except on the QR screen: a customer paying on their phone touches
// nothing, and the QR's own countdown ends an abandoned one.
// A checkout gets one idempotency key, saved with its body before the first send, so a
// retry after a timeout, a double tap or even a reload while the edge restarts re-sends the
// same key and can never create a second order.
import { client, newKey, ApiError, describeError } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { ensurePaired } from "../common/device.js";
import { makeI18n } from "../common/i18n.js";
import { Menu, groupHint, toggleOption, toOrderLine } from "../common/menu.js";
import { formatMoney } from "../common/money.js";
import { LiveStream } from "../common/stream.js";
import { kioskPayment, readPaying } from "./pay.js";

const params = new URLSearchParams(location.search);
const IDLE_MS = Number(params.get("idle") || 90) * 1000;
const IDLE_COUNTDOWN_MS = Math.min(15000, IDLE_MS);
const NUMBER_SCREEN_MS = Number(params.get("done") || 20) * 1000;
const PENDING_KEY = "pos.kiosk.pending";

const i18n = makeI18n("kiosk", "id");
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
const sheet = document.getElementById("sheet");
const idleDialog = document.getElementById("idle");

const state = {
  token: null, api: null, menu: null, menuEtag: null,
  screen: "attract", category: null, cart: [], lastOrder: null, submitNote: "", error: "",
  orderType: null, qrisHere: false, payNote: "",
};
let payment = null; // kiosk/pay.js, once paired

boot({ getLang: () => i18n.lang() });
i18n.setLang(i18n.lang());
i18n.onChange(() => { render(); if (sheet.open) renderSheet(); });

const money = (n) => formatMoney(n, state.menu?.currency ?? "IDR");

// ------------------------------------------------------------------ start-up

async function start() {
  const { token } = await ensurePaired("kiosk", ["kiosk"], root, t);
  state.token = token;
  state.api = client(() => state.token);
  payment = kioskPayment({
    api: state.api, token, t, money, redraw: () => { if (state.screen === "paying") render(); },
    paid: (order) => { state.lastOrder = order; state.payNote = ""; show("number"); armNumberTimeout(); },
    expired: (order) => { state.lastOrder = order; show("expired"); armNumberTimeout(); },
    counter: (order, note) => { state.lastOrder = order; state.payNote = note; show("number"); armNumberTimeout(); },
  });
  await loadMenu();
  loadPaySettings();
  const pending = readPending(), paying = readPaying();
  if (pending) submit(pending); // a checkout was in flight when the page went away
  else if (paying?.order) { show("paying"); payment.start(paying.order, paying.key); } // its QR, again
  else show("attract");
  new LiveStream({
    token, topics: ["menu"], after: 0,
    prepare: () => loadMenu(), // anything missed while disconnected is in the fresh menu
    onEvent: onLiveEvent,
  }).start();
  setInterval(loadMenu, 60000); // belt and braces: the ETag makes this nearly free
}

async function loadMenu() {
  for (;;) {
    try {
      const res = await state.api.get("/api/v1/menu", { etag: state.menuEtag, retries: 1 });
      if (res.notModified) return;
      state.menu = new Menu(res);
      state.menuEtag = res._etag;
      if (!state.category || !state.menu.categories.some((c) => c.id === state.category)) {
        state.category = state.menu.categories[0]?.id ?? null;
      }
      dropUnavailable();
      if (state.screen !== "attract") render();
      if (sheet.open) renderSheet();
      return;
    } catch (err) {
      if (state.menu) return; // keep selling from the menu we have; retried later
      root.innerHTML = `<div class="center-screen"><p>${t("menu.loading")}</p></div>`;
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
}

// The kiosk offers "pay here with QRIS" only with a gateway: a static QR needs a cashier.
async function loadPaySettings() {
  try { state.qrisHere = (await state.api.get("/api/v1/payments/settings", { retries: 1 })).provider !== "none"; }
  catch { /* keep what we knew */ }
}

function onLiveEvent(ev) {
  if (!state.menu) return;
  if (ev.type === "product.availability") {
    state.menu.setAvailable(ev.data.product_id, ev.data.available);
    dropUnavailable();
    if (state.screen === "menu" || state.screen === "cart") render();
    if (sheet.open) renderSheet();
  } else if (ev.topic === "menu") {
    loadMenu();
  }
}

// A product sold out while it sat in a cart is removed, and the customer is told.
function dropUnavailable() {
  const gone = state.menu.unavailableLines(state.cart);
  if (!gone.length) return;
  state.cart = state.cart.filter((l) => !gone.includes(l));
  state.error = gone.map((l) => `${i18n.name(state.menu.products.get(l.product_id))}: ${t("menu.soldout")}`).join(" · ");
}

// ------------------------------------------------------------------ rendering

function show(screen) {
  state.screen = screen;
  render();
  if (!IDLE_SCREENS.includes(screen) && idleDialog.open) { clearTimeout(countdownTimer); idleDialog.close(); }
  noteActivity(); // a screen reached without a touch is idle-timed too
  // Move focus to the new screen's heading so keyboard and screen-reader users follow along.
  const focusable = root.querySelector("[autofocus], #cart-title, h1, button");
  focusable?.focus?.({ preventScroll: true });
}

function header() {
  return `<header class="bar">
    <h1 tabindex="-1">${t("menu.title")}</h1><span class="spacer"></span>
    <edge-status lang="${i18n.lang()}"></edge-status>
    <button data-action="lang" lang="${i18n.lang() === "id" ? "en" : "id"}">${t("lang.switch")}</button>
    <button data-action="reset">${t("start_over")}</button>
  </header>`;
}

function render() {
  document.title = `Kiosk – ${t(`${state.screen === "attract" ? "attract.title" : "menu.title"}`)}`;
  const views = { attract: viewAttract, menu: viewMenu, cart: viewCart, type: viewType,
    paychoice: viewPayChoice, submitting: viewSubmitting, paying: () => header() + payment.view(),
    number: viewNumber, expired: viewExpired };
  root.innerHTML = views[state.screen]();
  root.dataset.screen = state.screen;
}

function viewAttract() {
  return `<button class="attract" data-action="begin" data-testid="attract">
      <span><span class="attract-title">${t("attract.title")}</span><span class="attract-tap">${t("attract.tap")}</span></span>
    </button>
    <div class="attract-lang"><edge-status lang="${i18n.lang()}"></edge-status>
      <button data-action="lang">${t("lang.switch")}</button></div>`;
}

function tile(product, cls = "tile") {
  if (product.image_url) return `<img class="${cls}" src="${esc(product.image_url)}" alt="" loading="lazy">`;
  const initials = i18n.name(product).split(/\s+/).slice(0, 2).map((w) => w[0]).join("").toUpperCase();
  return `<span class="${cls}" style="background:${esc(product.color || colourFor(product.id))}" aria-hidden="true">${esc(initials)}</span>`;
}

function colourFor(id) {
  const palette = ["#8d4e2a", "#2e6b4f", "#7a3b69", "#1f5f8b", "#8a6d1d", "#5b4a8a", "#a1402e"];
  let h = 0; for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return palette[h % palette.length];
}

function viewMenu() {
  const m = state.menu;
  const cats = m.categories.map((c) => `<button data-action="category" data-id="${esc(c.id)}"
      aria-current="${c.id === state.category}">${esc(i18n.name(c))}</button>`).join("");
  const products = m.productsIn(state.category).map((p) => {
    const soldOut = p.available === false;
    return `<button class="product card" data-action="product" data-id="${esc(p.id)}" data-testid="product"
        ${soldOut ? 'aria-disabled="true" disabled' : ""}>
        ${tile(p)}<span class="pname">${esc(i18n.name(p))}</span>
        <span class="pprice money">${money(p.price)}</span>
        ${soldOut ? `<span class="soldout">${t("menu.soldout")}</span>` : ""}
      </button>`;
  }).join("") || `<p class="muted">${t("menu.empty")}</p>`;
  return `${header()}
    <div class="menu-body">
      <nav class="cats" aria-label="${t("menu.categories")}">${cats}</nav>
      <section class="products" aria-label="${esc(i18n.name(m.catalog.categories.find((c) => c.id === state.category)))}">${products}</section>
    </div>
    ${state.error ? `<p class="error" role="alert" style="padding:0 1rem">${esc(state.error)}</p>` : ""}
    ${cartBar()}`;
}

function cartBar() {
  const count = state.cart.reduce((a, l) => a + l.qty, 0);
  const totals = state.menu.totals(state.cart);
  return `<footer class="cartbar">
      <button class="primary big" data-action="cart" ${count ? "" : "disabled"} data-testid="view-cart">
        <span>${t("cart.view")} · ${t("cart.items", { n: count })}</span><span class="money">${money(totals.total)}</span>
      </button>
    </footer>`;
}

function modifierNames(line) {
  return line.modifiers.map((id) => i18n.name(state.menu.options.get(id))).filter(Boolean).join(", ");
}

function totalsBlock(tot) {
  const rows = [["total.subtotal", tot.subtotal]];
  if (tot.discount) rows.push(["total.discount", -tot.discount]);
  if (tot.serviceCharge) rows.push(["total.service", tot.serviceCharge]);
  if (tot.tax) rows.push(["total.tax", tot.tax]);
  if (tot.rounding) rows.push(["total.rounding", tot.rounding]);
  return `<div class="totals" data-testid="totals">${rows.map(([k, v]) =>
    `<span>${t(k)}</span><span class="money">${money(v)}</span>`).join("")}
    <span class="grand">${t("total.total")}</span><span class="grand money" data-testid="cart-total">${money(tot.total)}</span></div>`;
}

function viewCart() {
  const m = state.menu;
  const tot = m.totals(state.cart);
  const lines = state.cart.map((l, i) => {
    const p = m.products.get(l.product_id);
    return `<div class="cart-line" data-testid="cart-line">
      <div><strong>${l.qty} × ${esc(i18n.name(p))}</strong>
        <div class="mods muted">${esc(modifierNames(l))}</div></div>
      <div class="money">${money(m.unitPrice(l) * l.qty)}</div>
      <div class="actions">
        <span class="stepper">
          <button data-action="line-less" data-i="${i}" aria-label="${t("qty.less")}">−</button>
          <output aria-live="polite">${l.qty}</output>
          <button data-action="line-more" data-i="${i}" aria-label="${t("qty.more")}">+</button>
        </span>
        <span class="spacer"></span>
        <button data-action="line-edit" data-i="${i}">${t("cart.edit")}</button>
        <button data-action="line-remove" data-i="${i}">${t("cart.remove")}</button>
      </div></div>`;
  }).join("");
  return `${header()}
    <section class="cart" aria-labelledby="cart-title">
      <h2 id="cart-title" tabindex="-1">${t("cart.title")}</h2>
      ${state.error ? `<p class="error" role="alert">${esc(state.error)}</p>` : ""}
      ${lines || `<p class="muted">${t("cart.empty")}</p>`}
    </section>
    <footer class="cart-foot">${totalsBlock(tot)}
      <div class="row"><button class="big" data-action="menu">${t("cart.continue")}</button>
      <button class="primary big" data-action="checkout" data-testid="checkout" ${state.cart.length ? "" : "disabled"}>${t("cart.checkout")}</button></div>
    </footer>`;
}

function viewType() {
  return `${header()}<section class="center-screen"><div>
      <h1 tabindex="-1">${t("type.title")}</h1>
      <div class="types">
        <button class="primary" data-action="order-type" data-type="dine_in" data-testid="type-dine_in">${t("type.dine_in")}</button>
        <button class="primary" data-action="order-type" data-type="takeaway" data-testid="type-takeaway">${t("type.takeaway")}</button>
      </div>
      <p><button class="big" data-action="cart">${t("back")}</button></p></div></section>`;
}

function viewPayChoice() {
  return `${header()}<section class="center-screen"><div>
      <h1 tabindex="-1">${t("kpay.title")}</h1>
      <div class="types pay-choice">
        <button class="primary" data-action="pay-here" data-testid="pay-here"><span>${t("kpay.here")}</span><small>${t("kpay.here_hint")}</small></button>
        <button class="primary" data-action="pay-counter" data-testid="pay-counter"><span>${t("kpay.counter")}</span><small>${t("kpay.counter_hint")}</small></button>
      </div>
      <p><button class="big" data-action="back-type">${t("back")}</button></p></div></section>`;
}

function viewExpired() {
  return `<section class="center-screen" data-testid="kiosk-expired"><div>
      <h1 tabindex="-1">${t("kpay.expired_title")}</h1>
      <p style="font-size:1.6rem">${t("kpay.expired_text")}</p>
      <button class="primary big" data-action="reset">${t("start_over")}</button></div></section>`;
}

function viewSubmitting() {
  return `<section class="center-screen" aria-busy="true"><div>
      <div class="spinner" style="border-color:#0002;border-top-color:var(--brand)"></div>
      <h1>${state.submitNote || t("submit.sending")}</h1>
      <edge-status lang="${i18n.lang()}"></edge-status></div></section>`;
}

function viewNumber() {
  const o = state.lastOrder;
  const unpaid = o.total > (o.paid ?? 0);
  return `<section class="center-screen" data-testid="number-screen"><div>
      <h1 tabindex="-1">${t("number.title")}</h1>
      <div class="number" data-testid="order-number">${o.number}</div>
      ${state.payNote ? `<p class="error" role="alert">${esc(state.payNote)}</p>` : ""}
      ${unpaid ? `<p style="font-size:1.6rem">${t("number.pay", { total: `<strong class="money">${money(o.total - (o.paid ?? 0))}</strong>` })}</p>`
        : `<p style="font-size:1.6rem" data-testid="number-paid">${t("number.paid")}</p>`}
      <p>${t("number.watch")}</p>
      <button class="primary big" data-action="reset">${t("number.done")}</button></div></section>`;
}

// ------------------------------------------------------------------ product sheet

let draft = null; // {product_id, qty, modifiers, editing: index|null}

function openSheet(productId, editing = null) {
  const line = editing === null ? null : state.cart[editing];
  draft = { product_id: productId, qty: line?.qty ?? 1, modifiers: [...(line?.modifiers ?? defaultOptions(productId))], editing };
  renderSheet();
  sheet.showModal();
}

// Required single-choice groups with exactly one available option are pre-selected.
function defaultOptions(productId) {
  const p = state.menu.products.get(productId);
  return state.menu.groupsOf(p).flatMap((g) => {
    const avail = (g.options || []).filter((o) => o.available !== false);
    return g.min_choices >= 1 && avail.length === 1 ? [avail[0].id] : [];
  });
}

function renderSheet() {
  if (!draft) return;
  const m = state.menu;
  const p = m.products.get(draft.product_id);
  const unmet = m.unmetGroups(p, draft.modifiers);
  const soldOut = p.available === false;
  const groups = m.groupsOf(p).map((g) => {
    const chosen = draft.modifiers.filter((id) => m.options.get(id)?.group_id === g.id).length;
    const full = (g.max_choices ?? 1) > 1 && chosen >= g.max_choices;
    const req = (g.min_choices ?? 0) > 0;
    const opts = (g.options || []).map((o) => {
      const on = draft.modifiers.includes(o.id);
      const disabled = o.available === false || (full && !on);
      return `<button type="button" data-action="option" data-id="${esc(o.id)}" aria-pressed="${on}" ${disabled ? "disabled" : ""}>
          <span>${esc(i18n.name(o))}${o.available === false ? ` – ${t("menu.soldout")}` : ""}</span>
          ${o.price_delta ? `<span class="money">${o.price_delta > 0 ? "+" : ""}${money(o.price_delta)}</span>` : ""}</button>`;
    }).join("");
    return `<fieldset class="group" data-testid="modifier-group">
        <legend>${esc(i18n.name(g))}<span class="hint ${req ? "required" : ""}">${req ? t("sheet.required") : t("sheet.optional")} · ${groupHint(g, t)}</span></legend>
        <div class="options" role="group">${opts}</div></fieldset>`;
  }).join("");
  const lineTotal = m.unitPrice(draft) * draft.qty;
  const missing = unmet.map((g) => i18n.name(g)).join(", ");
  sheet.innerHTML = `<form method="dialog" class="sheet" data-testid="product-sheet">
      ${tile(p)}
      <h2 id="sheet-title">${esc(i18n.name(p))} <span class="money muted">${money(p.price)}</span></h2>
      ${p.description ? `<p class="muted">${esc(p.description)}</p>` : ""}
      ${groups}
      <div class="row"><span id="qty-label">${t("sheet.qty")}</span>
        <span class="stepper" role="group" aria-labelledby="qty-label">
          <button type="button" data-action="qty-less" aria-label="${t("qty.less")}" ${draft.qty <= 1 ? "disabled" : ""}>−</button>
          <output aria-live="polite" data-testid="sheet-qty">${draft.qty}</output>
          <button type="button" data-action="qty-more" aria-label="${t("qty.more")}" ${draft.qty >= 99 ? "disabled" : ""}>+</button>
        </span></div>
      <p class="error" role="alert" data-testid="sheet-missing">${soldOut ? t("menu.soldout") : unmet.length ? t("sheet.missing", { groups: esc(missing) }) : ""}</p>
      <div class="sheet-actions">
        <button type="button" class="big" data-action="sheet-cancel">${t("sheet.cancel")}</button>
        <button type="button" class="primary big" data-action="sheet-add" data-testid="sheet-add" ${unmet.length || soldOut ? "disabled" : ""}>
          <span>${draft.editing === null ? t("sheet.add") : t("sheet.update")}</span><span class="money">${money(lineTotal)}</span></button>
      </div></form>`;
}

sheet.addEventListener("click", (ev) => {
  const btn = ev.target.closest("button[data-action]");
  if (!btn || btn.disabled) return;
  const action = btn.dataset.action;
  if (action === "option") draft.modifiers = toggleOption(state.menu, draft.modifiers, btn.dataset.id);
  else if (action === "qty-less") draft.qty = Math.max(1, draft.qty - 1);
  else if (action === "qty-more") draft.qty = Math.min(99, draft.qty + 1);
  else if (action === "sheet-cancel") { sheet.close(); draft = null; return; }
  else if (action === "sheet-add") {
    const line = { product_id: draft.product_id, qty: draft.qty, modifiers: draft.modifiers };
    if (draft.editing === null) mergeIntoCart(line); else state.cart[draft.editing] = line;
    state.error = "";
    sheet.close(); draft = null; render();
    return;
  }
  const focusId = btn.dataset.id, focusAction = action;
  renderSheet();
  // Keep keyboard/switch users where they were after the re-render.
  sheet.querySelector(`button[data-action="${focusAction}"]${focusId ? `[data-id="${CSS.escape(focusId)}"]` : ""}`)?.focus();
});
sheet.addEventListener("close", () => { draft = null; });

function mergeIntoCart(line) {
  const same = state.cart.find((l) => l.product_id === line.product_id &&
    l.modifiers.length === line.modifiers.length && [...l.modifiers].sort().join() === [...line.modifiers].sort().join());
  if (same) same.qty = Math.min(99, same.qty + line.qty); else state.cart.push(line);
}

// ------------------------------------------------------------------ checkout

function readPending() {
  try { return JSON.parse(localStorage.getItem(PENDING_KEY)); } catch { return null; }
}

function checkout(type, payHere = false) {
  // One key per checkout, persisted before the first attempt (and one for its QR).
  const pending = { key: newKey(), body: { type, lines: state.cart.map(toOrderLine) },
    payKey: payHere ? newKey() : null };
  localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  submit(pending);
}

let submitting = false;
async function submit(pending) {
  if (submitting) return; // a double tap lands here and does nothing
  submitting = true;
  state.submitNote = "";
  show("submitting");
  let attempt = 0;
  try {
    for (;;) {
      try {
        const order = await state.api.post("/api/v1/orders", pending.body,
          { idempotencyKey: pending.key, timeoutMs: 8000, retries: 1 });
        state.lastOrder = order;
        state.cart = [];
        state.payNote = "";
        if (pending.payKey && order.total > (order.paid ?? 0)) {
          show("paying");
          payment.start(order, pending.payKey); // saves itself before this checkout is dropped
          localStorage.removeItem(PENDING_KEY);
          return;
        }
        localStorage.removeItem(PENDING_KEY);
        show("number");
        armNumberTimeout();
        return;
      } catch (err) {
        const transient = err instanceof ApiError && (err.isNetwork || err.status >= 500 || err.status === 429);
        if (!transient) {
          localStorage.removeItem(PENDING_KEY);
          state.error = describeError(err, t);
          await loadMenu(); // the likely cause is a change of availability
          show(state.cart.length ? "cart" : "menu");
          return;
        }
        // Keep the same key and body until the edge answers: it is safe to repeat.
        attempt += 1;
        state.submitNote = t("submit.retrying");
        render();
        await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 3000)));
      }
    }
  } finally {
    submitting = false;
  }
}

// ------------------------------------------------------------------ idle handling

let idleTimer = null, numberTimer = null, countdownTimer = null;
// Not the QR screen ("paying"): the customer may be paying on their phone for minutes without
// a touch; the QR's countdown (its expiry at the edge) ends an abandoned one, and the edge
// then cancels the unpaid order.
const IDLE_SCREENS = ["menu", "cart", "type", "paychoice"];

function resetToAttract() {
  // Starting over leaves the QR and its order: the edge cancels an unpaid, uncooked one.
  if (payment?.active()) payment.cancel({ leave: true });
  state.cart = []; state.error = ""; state.lastOrder = null; state.payNote = ""; draft = null;
  if (sheet.open) sheet.close();
  if (idleDialog.open) idleDialog.close();
  clearTimeout(numberTimer); clearTimeout(countdownTimer);
  state.category = state.menu?.categories[0]?.id ?? null;
  show("attract");
}

function armNumberTimeout() {
  clearTimeout(numberTimer);
  numberTimer = setTimeout(() => { if (["number", "expired"].includes(state.screen)) resetToAttract(); }, NUMBER_SCREEN_MS);
}

function noteActivity() {
  clearTimeout(idleTimer);
  if (!IDLE_SCREENS.includes(state.screen)) return;
  idleTimer = setTimeout(askStillThere, IDLE_MS);
}

function askStillThere() {
  if (!IDLE_SCREENS.includes(state.screen)) return;
  idleDialog.innerHTML = `<div class="idle-box"><h2 id="idle-title">${t("idle.title")}</h2>
    <div class="row"><button class="big" data-action="idle-reset">${t("idle.reset")}</button>
    <button class="primary big" data-action="idle-stay" autofocus>${t("idle.stay")}</button></div></div>`;
  idleDialog.showModal();
  countdownTimer = setTimeout(resetToAttract, IDLE_COUNTDOWN_MS);
}

idleDialog.addEventListener("click", (ev) => {
  const a = ev.target.closest("button")?.dataset.action;
  if (a === "idle-stay") { clearTimeout(countdownTimer); idleDialog.close(); noteActivity(); }
  if (a === "idle-reset") resetToAttract();
});
for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, noteActivity, { passive: true });

// ------------------------------------------------------------------ main actions

root.addEventListener("click", (ev) => {
  const btn = ev.target.closest("[data-action]");
  if (!btn || btn.disabled) return;
  const { action, id } = btn.dataset;
  const i = Number(btn.dataset.i);
  switch (action) {
    case "begin": if (state.menu) show("menu"); break;
    case "lang": i18n.toggle(); break;
    case "reset": resetToAttract(); break;
    case "category": state.category = id; render(); break;
    case "product": openSheet(id); break;
    case "cart": state.error = ""; show("cart"); break;
    case "menu": show("menu"); break;
    case "line-less": state.cart[i].qty > 1 ? state.cart[i].qty-- : state.cart.splice(i, 1); render(); break;
    case "line-more": state.cart[i].qty = Math.min(99, state.cart[i].qty + 1); render(); break;
    case "line-remove": state.cart.splice(i, 1); render(); break;
    case "line-edit": openSheet(state.cart[i].product_id, i); break;
    case "checkout": if (state.cart.length) { loadPaySettings(); show("type"); } break;
    case "order-type":
      if (state.qrisHere) { state.orderType = btn.dataset.type; show("paychoice"); }
      else { btn.disabled = true; checkout(btn.dataset.type); }
      break;
    case "pay-here": case "pay-counter":
      btn.disabled = true; checkout(state.orderType, action === "pay-here"); break;
    case "back-type": show("type"); break;
    case "pay-instead":
      payment.cancel().then((order) => { state.lastOrder = order; show("number"); armNumberTimeout(); });
      break;
  }
  noteActivity();
});

start();
