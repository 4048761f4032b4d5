// Kiosk: customer self-order on a portrait touch screen.
// attract → menu (categories, products) → product sheet (modifiers, qty) → cart → order type
// → review (items, total, order type; with a QRIS gateway: pay here or at the counter) →
// submit → [QR until paid: kiosk/pay.js] → order number → back to attract. Idle customers are
// returned to attract, except on the QR screen: a customer paying on their phone touches
// nothing, and the QR's own countdown ends an abandoned one.
// A checkout gets one idempotency key, saved with its body before the first send, so a
// retry after a timeout, a double tap or even a reload while the edge restarts re-sends the
// same key and can never create a second order. It is *held* for a bounded time only
// (?hold= seconds, default 120): while the edge is unreachable the customer is told so and may
// go to the counter; at the deadline, "order at the counter" or the idle reset the held order
// is dropped and never sent, so a customer who walked away gets no ghost order cooked.
// Each customer starts in the outlet's language (?lang=, default Indonesian): a tap on the
// language button lasts until the order is done or the kiosk resets, and is never saved.
import { client, newKey, ApiError, describeError } from "../common/api.js";
import { boot, esc } from "../common/boot.js";
import { reachability } from "../common/status.js";
import { ensurePaired } from "../common/device.js";
import { makeI18n } from "../common/i18n.js";
import { Menu, groupHint, toggleOption, toOrderLine } from "../common/menu.js";
import { formatMoney } from "../common/money.js";
import { LiveStream } from "../common/stream.js";
import { kioskPayment, readPaying } from "./pay.js";
import "./strings.js";

const params = new URLSearchParams(location.search);
const IDLE_MS = Number(params.get("idle") || 90) * 1000;
const IDLE_COUNTDOWN_MS = Math.min(15000, IDLE_MS);
const NUMBER_SCREEN_MS = Number(params.get("done") || 20) * 1000;
const HOLD_MS = Number(params.get("hold") || 120) * 1000; // how long an unsent order is kept
const PENDING_KEY = "pos.kiosk.pending";
const HOME_LANG = params.get("lang") === "en" ? "en" : "id"; // the outlet's language
const LANG_STORE = "pos.lang.kiosk"; // makeI18n remembers per device: not for a customer's tap

localStorage.removeItem(LANG_STORE);
const i18n = makeI18n("kiosk", HOME_LANG);
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
const sheet = document.getElementById("sheet");
const idleDialog = document.getElementById("idle");
const confirmDialog = document.getElementById("confirm");
const offlineBanner = document.getElementById("offline");

const state = {
  token: null, api: null, menu: null, menuEtag: null,
  screen: "attract", category: null, cart: [], lastOrder: null, error: "",
  orderType: null, qrisHere: false, payNote: "",
  removed: [], // lines taken out of the cart because they sold out: {qty, name, mods}
  held: null, // the checkout being sent: {key, body, payKey, until}
  gone: "", // why the last checkout was dropped unsent ("expired" | "counter")
};
let payment = null; // kiosk/pay.js, once paired

// No full-screen "reconnecting" overlay: the kiosk tells the customer itself (a banner, and
// the held-order screen at checkout) and keeps its screen usable.
boot({ getLang: () => i18n.lang(), overlay: false });
i18n.setLang(HOME_LANG);
localStorage.removeItem(LANG_STORE);
i18n.onChange(() => {
  localStorage.removeItem(LANG_STORE);
  render(); if (sheet.open) renderSheet(); renderBanner();
});

// Keyboard focus shows a ring; a tap never leaves one behind (programmatic focus included).
document.addEventListener("pointerdown", () => { document.documentElement.dataset.input = "pointer"; }, { capture: true, passive: true });
document.addEventListener("keydown", () => { delete document.documentElement.dataset.input; }, { capture: true });

// The edge gone for more than a moment: say so plainly, without hiding the screen.
let bannerTimer = null;
function renderBanner() {
  clearTimeout(bannerTimer);
  const quiet = ["submitting", "held", "gone", "number", "paying"].includes(state.screen);
  if (reachability.online !== false || quiet) { offlineBanner.hidden = true; return; }
  bannerTimer = setTimeout(() => {
    offlineBanner.textContent = t("k.offline");
    offlineBanner.hidden = false;
  }, offlineBanner.hidden ? 1200 : 0);
}
reachability.addEventListener("change", renderBanner);

const money = (n) => formatMoney(n, state.menu?.currency ?? "IDR");

// ------------------------------------------------------------------ start-up

async function start() {
  // A reload with an order still held: say so at once, even before the edge answers again.
  const early = readPending();
  if (early && !(early.until <= Date.now())) { state.held = early; show("held"); }
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
  if (pending && !(pending.until <= Date.now())) submit(pending); // in flight when the page went away
  else if (paying?.order) { show("paying"); payment.start(paying.order, paying.key); } // its QR, again
  else if (state.screen !== "gone") { localStorage.removeItem(PENDING_KEY); show("attract"); } // past its time: never sent
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
  try {
    const here = (await state.api.get("/api/v1/payments/settings", { retries: 1 })).provider !== "none";
    if (here !== state.qrisHere) { state.qrisHere = here; if (state.screen === "review") render(); }
  } catch { /* keep what we knew */ }
}

function onLiveEvent(ev) {
  if (!state.menu) return;
  if (ev.type === "product.availability") {
    state.menu.setAvailable(ev.data.product_id, ev.data.available);
    const removed = dropUnavailable();
    if (removed && (state.screen === "type" || (state.screen === "review" && !state.cart.length))) show("cart");
    else if (["menu", "cart", "review"].includes(state.screen)) render();
    if (sheet.open) renderSheet();
  } else if (ev.topic === "menu") {
    loadMenu();
  }
}

// A product sold out while it sat in a cart is removed, and the customer is told exactly
// which lines went (kept until they tap OK, add something, or the kiosk resets).
function dropUnavailable() {
  const gone = state.menu.unavailableLines(state.cart);
  if (!gone.length) return false;
  state.cart = state.cart.filter((l) => !gone.includes(l));
  state.removed.push(...gone.map((l) => ({ qty: l.qty, product_id: l.product_id, modifiers: l.modifiers })));
  return true;
}

function removedNotice() {
  if (!state.removed.length) return "";
  const items = state.removed.map((l) => {
    const mods = modifierNames(l);
    return `<li><strong>${l.qty} × ${esc(i18n.name(state.menu.products.get(l.product_id)))}</strong>${mods ? ` <span>(${esc(mods)})</span>` : ""}</li>`;
  }).join("");
  return `<div class="notice" role="alert" data-testid="removed-notice">
      <div><strong>${t("k.removed.title")}</strong><ul>${items}</ul></div>
      <button data-action="removed-ok">${t("k.removed.ok")}</button></div>`;
}

// ------------------------------------------------------------------ rendering

function show(screen) {
  state.screen = screen;
  render();
  renderBanner();
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
    <button data-action="reset" data-testid="start-over">${t("start_over")}</button>
  </header>`;
}

function render() {
  document.title = `Kiosk – ${t(`${state.screen === "attract" ? "attract.title" : "menu.title"}`)}`;
  const views = { attract: viewAttract, menu: viewMenu, cart: viewCart, type: viewType,
    review: viewReview, submitting: viewSubmitting, held: viewHeld, gone: viewGone,
    paying: () => header() + payment.view(), number: viewNumber, expired: viewExpired };
  // A re-render keeps focus on the same control (keyboard and switch users stay in place).
  const had = root.contains(document.activeElement) ? document.activeElement.dataset : null;
  root.innerHTML = views[state.screen]();
  root.dataset.screen = state.screen;
  if (had?.action) {
    const same = [...root.querySelectorAll(`[data-action="${CSS.escape(had.action)}"]`)]
      .find((el) => el.dataset.id === had.id && el.dataset.i === had.i);
    same?.focus({ preventScroll: true });
  }
}

function viewAttract() {
  return `<h1 class="visually-hidden">${t("attract.title")}</h1><button class="attract" data-action="begin" data-testid="attract">
      <span><span class="attract-title">${t("attract.title")}</span><span class="attract-tap">${t("attract.tap")}</span></span>
    </button>
    <div class="attract-lang"><edge-status lang="${i18n.lang()}"></edge-status>
      <button data-action="lang">${t("lang.switch")}</button></div>`;
}

// Without a photo: the product's colour and a drawn cup (bar items) or bowl (kitchen items).
const ICONS = {
  bar: '<path d="M14 18h30l-4 34H18z" /><path d="M44 26h4a6 6 0 0 1 0 12h-5" /><path d="M22 10q3 3 0 6M30 8q3 3 0 6" />',
  kitchen: '<path d="M6 30h52a26 22 0 0 1-52 0z" /><path d="M20 50h24" /><path d="M22 22q3-4 0-8M32 22q3-4 0-8M42 22q3-4 0-8" />',
};
function tile(product, cls = "tile") {
  if (product.image_url) return `<img class="${cls}" src="${esc(product.image_url)}" alt="" loading="lazy">`;
  const station = state.menu?.categories.find((c) => c.id === product.category_id)?.station;
  return `<span class="${cls}" style="background:${esc(product.color || colourFor(product.id))}" aria-hidden="true">
    <svg viewBox="0 0 64 64" class="glyph">${ICONS[station === "bar" ? "bar" : "kitchen"]}</svg></span>`;
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
    ${removedNotice()}
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
        <span class="stepper" role="group" aria-label="${t("sheet.qty")}">
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
      ${removedNotice()}
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

// The last look before anything is sent: every line with its options, the total and the
// order type; placing (or, with a QRIS gateway, choosing how to pay) is the only send.
function viewReview() {
  const m = state.menu;
  const lines = state.cart.map((l) => `<li class="review-line" data-testid="review-line">
      <span><strong>${l.qty} × ${esc(i18n.name(m.products.get(l.product_id)))}</strong>
        ${l.modifiers.length ? `<span class="mods muted">${esc(modifierNames(l))}</span>` : ""}</span>
      <span class="money">${money(m.unitPrice(l) * l.qty)}</span></li>`).join("");
  const place = state.qrisHere
    ? `<div class="types pay-choice">
        <button class="primary" data-action="pay-here" data-testid="pay-here"><span>${t("kpay.here")}</span><small>${t("kpay.here_hint")}</small></button>
        <button class="primary" data-action="pay-counter" data-testid="pay-counter"><span>${t("kpay.counter")}</span><small>${t("kpay.counter_hint")}</small></button>
      </div>`
    : `<button class="primary big" data-action="place" data-testid="place-order">${t("k.review.place")}</button>`;
  return `${header()}
    <section class="cart review" aria-labelledby="review-title" data-testid="review">
      <h2 id="review-title" tabindex="-1">${t("k.review.title")}</h2>
      ${removedNotice()}
      <ul class="review-lines">${lines}</ul>
      <div class="row review-type"><span>${t("k.review.type")}: <strong data-testid="review-type">${t(`type.${state.orderType}`)}</strong></span>
        <span class="spacer"></span><button data-action="checkout">${t("k.review.change")}</button></div>
    </section>
    <footer class="cart-foot">${totalsBlock(m.totals(state.cart))}
      ${state.qrisHere ? `<p class="pay-title">${t("kpay.title")}</p>` : ""}
      <div class="row review-actions"><button class="big" data-action="cart" data-testid="review-edit">${t("k.review.edit")}</button>
      ${state.qrisHere ? "" : place}</div>
      ${state.qrisHere ? place : ""}
    </footer>`;
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
      <h1>${t("submit.sending")}</h1>
      <edge-status lang="${i18n.lang()}"></edge-status></div></section>`;
}

// The edge cannot be reached: say so, say until when we try, and offer the counter.
function viewHeld() {
  return `<section class="center-screen held" data-testid="kiosk-held" aria-live="polite"><div>
      <h1 tabindex="-1">${t("k.held.title")}</h1>
      <p class="big-text">${t("k.held.text", { left: `<strong data-testid="held-left">${heldLeft()}</strong>` })}</p>
      <edge-status lang="${i18n.lang()}"></edge-status>
      <p><button class="primary big" data-action="held-counter" data-testid="held-counter">${t("k.held.counter")}</button></p></div></section>`;
}

function heldLeft() {
  const s = Math.max(0, Math.ceil(((state.held?.until ?? 0) - Date.now()) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function viewGone() {
  return `<section class="center-screen" data-testid="kiosk-gone" data-why="${state.gone}"><div>
      <h1 tabindex="-1">${t("k.gone.title")}</h1>
      <p class="big-text">${t("k.gone.text")}</p>
      <button class="primary big" data-action="reset">${t("number.done")}</button></div></section>`;
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
  // The options scroll; the quantity and the actions stay in a footer that is never covered.
  const scrolled = sheet.querySelector(".sheet-body")?.scrollTop ?? 0;
  sheet.innerHTML = `<form method="dialog" class="sheet" data-testid="product-sheet">
      <div class="sheet-body">
      ${tile(p)}
      <h2 id="sheet-title">${esc(i18n.name(p))} <span class="money muted">${money(p.price)}</span></h2>
      ${p.description ? `<p class="muted">${esc(p.description)}</p>` : ""}
      ${groups}
      <p class="error" role="alert" data-testid="sheet-missing">${soldOut ? t("menu.soldout") : unmet.length ? t("sheet.missing", { groups: esc(missing) }) : ""}</p>
      </div>
      <div class="sheet-actions">
        <span class="stepper" role="group" aria-label="${t("sheet.qty")}" data-testid="sheet-stepper">
          <button type="button" data-action="qty-less" aria-label="${t("qty.less")}" ${draft.qty <= 1 ? "disabled" : ""}>−</button>
          <output aria-live="polite" data-testid="sheet-qty">${draft.qty}</output>
          <button type="button" data-action="qty-more" aria-label="${t("qty.more")}" ${draft.qty >= 99 ? "disabled" : ""}>+</button>
        </span>
        <button type="button" class="big" data-action="sheet-cancel">${t("sheet.cancel")}</button>
        <button type="button" class="primary big add" data-action="sheet-add" data-testid="sheet-add" ${unmet.length || soldOut ? "disabled" : ""}>
          <span>${draft.editing === null ? t("sheet.add") : t("sheet.update")}</span><span class="money" data-testid="sheet-add-price">${money(lineTotal)}</span></button>
      </div></form>`;
  sheet.querySelector(".sheet-body").scrollTop = scrolled;
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
    state.error = ""; state.removed = [];
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
  // One key per checkout, persisted before the first attempt (and one for its QR), with the
  // time after which it must never be sent.
  const pending = { key: newKey(), body: { type, lines: state.cart.map(toOrderLine) },
    payKey: payHere ? newKey() : null, until: Date.now() + HOLD_MS };
  localStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  submit(pending);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Every attempt tells the edge when this kiosk stops waiting for it (place_by, in the edge's
// clock, a second before the attempt's timeout): an edge that hung and gets to the request
// later refuses it (409 order_deadline_passed) instead of cooking an order for a customer
// who was told it was not sent. The edge's clock is learnt from its refusals (server_time).
const DEADLINE_MARGIN_MS = 1000;
let edgeClockOffset = 0; // edge clock minus this tablet's, ms
const placeBy = (waitMs) => new Date(Date.now() + edgeClockOffset + waitMs - DEADLINE_MARGIN_MS).toISOString();
function learnEdgeClock(err) {
  const at = Date.parse(err?.details?.server_time ?? "");
  if (Number.isFinite(at)) edgeClockOffset = at - Date.now();
}
const deadlineRefused = (err) => err instanceof ApiError
  && (err.code === "order_deadline_passed" || (err.status === 400 && err.details?.field === "place_by"));
let sendRun = 0; // the current send loop; dropping the held order ends the older one
let inFlight = null; // the request on its way, if any
let sending = null; // the checkout the current loop sends

/** Send a held checkout until the edge answers, the deadline passes or the customer leaves. */
async function submit(pending) {
  if (sending?.key === pending.key) return; // a double tap lands here and does nothing
  sending = pending;
  try { await sendLoop(pending); } finally { if (sending === pending) sending = null; }
}

async function sendLoop(pending) {
  pending.until ??= Date.now() + HOLD_MS; // saved by an older kiosk version
  const run = ++sendRun;
  state.held = pending;
  if (state.screen !== "held") show("submitting");
  let attempt = 0;
  for (;;) {
    if (run !== sendRun) return; // dropped: the customer left or went to the counter
    const left = pending.until - Date.now();
    if (left <= 0) { dropHeld("expired"); return; }
    if (left <= 1500) { await sleep(left); continue; } // too late for another attempt
    if (reachability.online === false) {
      // Nothing is sent while the edge is known to be gone: wait for its health answer.
      if (state.screen !== "held") show("held");
      await Promise.race([reachability.whenOnline(), sleep(Math.min(left, 1000))]);
      continue;
    }
    try {
      // No hidden retries, and never a request still open at the deadline.
      const waitMs = Math.min(8000, left);
      inFlight = state.api.post("/api/v1/orders", { ...pending.body, place_by: placeBy(waitMs) },
        { idempotencyKey: pending.key, timeoutMs: waitMs, retries: 0 });
      const order = await inFlight;
      if (run !== sendRun) return; // answered after the customer chose the counter: see heldCounter()
      state.lastOrder = order;
      state.cart = []; state.removed = []; state.held = null;
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
      if (run !== sendRun) return;
      // Refused for its deadline (this tablet's clock is off): nothing was placed, the key
      // is not spent; retried at once with a deadline in the edge's clock.
      if (deadlineRefused(err)) { learnEdgeClock(err); await sleep(200); continue; }
      const transient = err instanceof ApiError && (err.isNetwork || err.status >= 500 || err.status === 429);
      if (!transient) {
        localStorage.removeItem(PENDING_KEY);
        state.held = null;
        state.error = describeError(err, t);
        await loadMenu(); // the likely cause is a change of availability
        show(state.cart.length ? "cart" : "menu");
        return;
      }
      // Keep the same key and body until the edge answers or the deadline: safe to repeat.
      attempt += 1;
      if (state.screen !== "held") show("held");
      await sleep(Math.min(500 * attempt, 3000, Math.max(0, pending.until - Date.now())));
    } finally {
      inFlight = null;
    }
  }
}

/** Forget the held checkout for good: it is never sent again, even after a reload. */
function dropHeld(why) {
  sendRun += 1;
  localStorage.removeItem(PENDING_KEY);
  if (!state.held) return;
  state.held = null;
  state.cart = [];
  if (why === "idle") return; // the customer left: the kiosk resets to attract
  state.gone = why;
  show("gone");
  armNumberTimeout();
}

// "Order at the counter": a request already on its way is let finish first, so the screen
// tells the truth (it rarely got through; then the customer gets its number).
async function heldCounter() {
  const pending = state.held;
  if (!pending) return;
  sendRun += 1; // no new attempt from now on
  localStorage.removeItem(PENDING_KEY);
  const late = inFlight ? await inFlight.catch(() => null) : null;
  if (state.held !== pending) return;
  if (late) {
    state.held = null; state.cart = []; state.lastOrder = late; state.payNote = "";
    show("number"); armNumberTimeout();
    return;
  }
  dropHeld("counter");
}

setInterval(() => {
  // The deadline passes even when nothing is being sent (e.g. reloaded while the edge is down).
  if (state.held && !inFlight && state.held.until <= Date.now()) dropHeld("expired");
  const el = state.screen === "held" && root.querySelector("[data-testid=held-left]");
  if (el) el.textContent = heldLeft();
}, 1000);

// ------------------------------------------------------------------ idle handling

let idleTimer = null, numberTimer = null, countdownTimer = null;
// Not the QR screen ("paying"): the customer may be paying on their phone for minutes without
// a touch; the QR's countdown (its expiry at the edge) ends an abandoned one, and the edge
// then cancels the unpaid order. The held-order screen is: an idle reset drops the held order.
const IDLE_SCREENS = ["menu", "cart", "type", "review", "held"];

function resetToAttract() {
  // Starting over leaves the QR and its order: the edge cancels an unpaid, uncooked one.
  if (payment?.active()) payment.cancel({ leave: true });
  dropHeld("idle"); // an order still waiting to be sent is never sent once the customer left
  state.cart = []; state.error = ""; state.lastOrder = null; state.payNote = ""; draft = null;
  state.removed = []; state.gone = ""; state.orderType = null;
  if (sheet.open) sheet.close();
  if (idleDialog.open) idleDialog.close();
  if (confirmDialog.open) confirmDialog.close();
  clearTimeout(numberTimer); clearTimeout(countdownTimer);
  state.category = state.menu?.categories[0]?.id ?? null;
  state.screen = "attract";
  if (i18n.lang() !== HOME_LANG) i18n.setLang(HOME_LANG); // the next customer: the outlet's language
  show("attract");
}

// "Start over" with something in the cart asks first; an empty kiosk just starts over.
function askStartOver() {
  const n = state.cart.reduce((a, l) => a + l.qty, 0);
  if (!n || !["menu", "cart", "type", "review"].includes(state.screen)) { resetToAttract(); return; }
  confirmDialog.innerHTML = `<div class="idle-box" data-testid="confirm-reset"><h2 id="confirm-title">${t("k.confirm.title")}</h2>
    <p>${t("k.confirm.text", { n })}</p>
    <div class="row"><button class="big" data-action="confirm-yes">${t("k.confirm.yes")}</button>
    <button class="primary big" data-action="confirm-no" autofocus>${t("k.confirm.no")}</button></div></div>`;
  confirmDialog.showModal();
}

confirmDialog.addEventListener("click", (ev) => {
  const a = ev.target.closest("button")?.dataset.action;
  if (a === "confirm-yes") resetToAttract();
  if (a === "confirm-no") confirmDialog.close();
});

function armNumberTimeout() {
  clearTimeout(numberTimer);
  numberTimer = setTimeout(() => { if (["number", "expired"].includes(state.screen)) resetToAttract(); }, NUMBER_SCREEN_MS);
}

function noteActivity() {
  clearTimeout(idleTimer);
  // A customer who switched the language on the attract screen and walked away.
  if (state.screen === "attract" && i18n.lang() !== HOME_LANG) idleTimer = setTimeout(resetToAttract, IDLE_MS);
  if (!IDLE_SCREENS.includes(state.screen)) return;
  idleTimer = setTimeout(askStillThere, IDLE_MS);
}

function askStillThere() {
  if (!IDLE_SCREENS.includes(state.screen)) return;
  idleDialog.innerHTML = `<div class="idle-box"><h2 id="idle-title">${t("idle.title")}</h2>
    <div class="row"><button class="big" data-action="idle-reset">${t("idle.reset")}</button>
    <button class="primary big" data-action="idle-stay" autofocus>${t("idle.stay")}</button></div></div>`;
  if (confirmDialog.open) confirmDialog.close();
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
    case "reset": askStartOver(); break;
    case "category": state.category = id; render(); break;
    case "product": openSheet(id); break;
    case "cart": state.error = ""; show("cart"); break;
    case "menu": show("menu"); break;
    case "removed-ok": state.removed = []; render(); break;
    case "line-less": state.cart[i].qty > 1 ? state.cart[i].qty-- : state.cart.splice(i, 1); render(); break;
    case "line-more": state.cart[i].qty = Math.min(99, state.cart[i].qty + 1); render(); break;
    case "line-remove": state.cart.splice(i, 1); render(); break;
    case "line-edit": openSheet(state.cart[i].product_id, i); break;
    case "checkout": if (state.cart.length) { loadPaySettings(); show("type"); } break;
    case "order-type": state.orderType = btn.dataset.type; show("review"); break;
    case "place": case "pay-here": case "pay-counter":
      if (!state.cart.length || !state.orderType) break;
      btn.disabled = true; checkout(state.orderType, action === "pay-here"); break;
    case "held-counter": btn.disabled = true; heldCounter(); break;
    case "pay-instead":
      payment.cancel().then((order) => { state.lastOrder = order; show("number"); armNumberTimeout(); });
      break;
  }
  noteActivity();
});

start();
