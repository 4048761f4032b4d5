// Guest page: the menu of one table on the guest's own phone, opened from the table's QR
// sticker (/guest/#t=<token>). No app, no login: the token in the URL's fragment (never sent
// to a server, so never in an access log) goes to the edge as the X-Table-Token header.
// Three tabs: the menu (categories, products, options, sold out), my order (the cart, sent
// to the kitchen or to a waiter by the outlet's mode) and the table's bill (what the table
// ordered, the running total, this phone's requests, call a waiter / ask for the bill).
// Indonesian by default; the English toggle is this tab's only (sessionStorage), so the next
// guest to scan the sticker on a shared phone starts in Indonesian again.
// A send gets one idempotency key, kept with its body in sessionStorage before the first
// try, so a retry after a timeout, a double tap or a reload can never order twice.
// No service worker: the guest's phone is not one of the outlet's screens.
import { request, newKey, ApiError } from "../common/api.js";
import { esc } from "../common/boot.js";
import { makeI18n } from "../common/i18n.js";
import { Menu, groupHint, toggleOption, toOrderLine } from "../common/menu.js";
import { formatMoney } from "../common/money.js";
import { startHealthPoll, installReconnectOverlay } from "../common/status.js";
import "./strings.js";

const LANG_KEY = "pos.guest.lang";
const PENDING_KEY = "pos.guest.pending";
const POLL_MS = 5000;
const HIDDEN_POLL_MS = 30000;

localStorage.removeItem("pos.lang.guest"); // makeI18n remembers per device: not for guests
const i18n = makeI18n("guest", "id");
const t = (k, p) => i18n.t(k, p);
const root = document.getElementById("app");
const sheet = document.getElementById("sheet");
const token = new URLSearchParams(location.hash.slice(1)).get("t") || "";

const state = {
  view: null, menu: null, menuRevision: null, category: null, tab: "menu",
  cart: [], notice: "", noticeKind: "", sending: false, fatal: "",
};

i18n.setLang(sessionStorage.getItem(LANG_KEY) || "id");
i18n.onChange((lang) => {
  sessionStorage.setItem(LANG_KEY, lang);
  localStorage.removeItem("pos.lang.guest");
  render();
  if (sheet.open) renderSheet();
});

const money = (n) => formatMoney(n, state.menu?.currency ?? "IDR");

function api(method, path, { body, key, retries } = {}) {
  return request(method, path, { body, idempotencyKey: key, retries, headers: { "X-Table-Token": token } });
}

// ------------------------------------------------------------------ loading

async function start() {
  if (!token) { state.fatal = t("g.no_token"); render(); return; }
  startHealthPoll();
  installReconnectOverlay(() => i18n.lang());
  render();
  await refresh(true);
  const pending = readPending();
  if (pending) send(pending);
  schedule();
}

let pollTimer = null;
function schedule() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    await refresh(false);
    const pending = readPending();
    if (pending && !state.sending) send(pending);
    schedule();
  }, document.hidden ? HIDDEN_POLL_MS : POLL_MS);
}
document.addEventListener("visibilitychange", () => { if (!document.hidden && token && !state.fatal) { refresh(false); schedule(); } });

async function refresh(withMenu) {
  try {
    let view = await api("GET", `/api/v1/guest/table?menu=${withMenu || !state.menu}`);
    if (view.menu_revision !== state.menuRevision && !view.menu) {
      view = await api("GET", "/api/v1/guest/table?menu=true");
    }
    if (view.menu) {
      state.menu = new Menu(view.menu);
      state.menuRevision = view.menu_revision;
      if (!state.category || !state.menu.categories.some((c) => c.id === state.category)) {
        state.category = state.menu.categories[0]?.id ?? null;
      }
      dropUnavailable();
    }
    state.view = view;
    state.fatal = "";
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) state.fatal = t("g.bad_token");
    else if (err instanceof ApiError && err.status === 429) note(t("g.limited", { n: retryAfter(err) }), "bad");
    // offline: keep what we have; the reconnect notice says so
  }
  render();
  if (sheet.open) renderSheet();
}

function dropUnavailable() {
  const gone = state.menu.unavailableLines(state.cart);
  if (!gone.length) return;
  state.cart = state.cart.filter((l) => !gone.includes(l));
  note(t("g.soldout_now", { names: gone.map((l) => i18n.name(state.menu.products.get(l.product_id))).join(", ") }), "bad");
}

function note(text, kind = "") { state.notice = text; state.noticeKind = kind; }
const retryAfter = (err) => err.details?.retry_after_seconds ?? 5;

// ------------------------------------------------------------------ sending

function readPending() {
  try { return JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null"); } catch { return null; }
}

function sendCart() {
  if (!state.cart.length || state.sending) return;
  const pending = { key: newKey(), body: { lines: state.cart.map(toOrderLine) } };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending)); // before the first try
  send(pending);
}

async function send(pending) {
  state.sending = true;
  note(t("g.sending"));
  render();
  try {
    const res = await api("POST", "/api/v1/guest/orders", { body: pending.body, key: pending.key });
    sessionStorage.removeItem(PENDING_KEY);
    state.cart = [];
    note(res.request.status === "accepted" ? t("g.sent.kitchen") : t("g.sent.confirm"), "ok");
    state.tab = "bill";
    await refresh(false);
  } catch (err) {
    if (err instanceof ApiError && err.isNetwork) {
      note(t("g.sent.kept"), "bad"); // kept: sent again at the next poll with the same key
    } else {
      sessionStorage.removeItem(PENDING_KEY);
      note(describe(err), "bad");
      if (err instanceof ApiError && (err.status === 409 || err.status === 422)) await refresh(true);
    }
  } finally {
    state.sending = false;
    render();
  }
}

async function callStaff(kind) {
  try {
    await api("POST", "/api/v1/guest/call", { body: { kind }, key: newKey() });
    note(t(`g.called.${kind}`), "ok");
    await refresh(false);
  } catch (err) {
    note(describe(err), "bad");
    render();
  }
}

function describe(err) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  if (err.status === 403) { state.fatal = t("g.bad_token"); return state.fatal; }
  if (err.status === 429) return t("g.limited", { n: retryAfter(err) });
  if (err.status === 409 && err.details?.guest_orders === "off") return t("g.off");
  if (err.status === 409 && err.details?.max_pending) return t("g.too_many_waiting");
  if (err.status === 422) {
    const names = (err.details?.problems ?? []).map((p) => p.name).filter(Boolean);
    return t("g.soldout_now", { names: names.join(", ") });
  }
  return t("g.error", { message: err.message });
}

// ------------------------------------------------------------------ rendering

function render() {
  document.documentElement.lang = i18n.lang();
  if (state.fatal) {
    root.innerHTML = `<div class="g-center"><p class="error" role="alert" data-testid="fatal">${esc(state.fatal)}</p></div>`;
    return;
  }
  if (!state.view || !state.menu) {
    root.innerHTML = `<div class="g-center"><p>${t("g.loading")}</p></div>`;
    return;
  }
  const v = state.view;
  const count = state.cart.reduce((n, l) => n + l.qty, 0);
  const area = v.area_names?.[i18n.lang()] || v.table.area;
  root.innerHTML = `
    <header class="g-head">
      <div><h1 data-testid="table-name">${esc(t("g.table", { name: v.table.name }))}</h1>
        <span class="muted">${esc(area)}</span></div>
      <button type="button" class="g-lang" data-action="lang" data-testid="lang" lang="${i18n.lang() === "id" ? "en" : "id"}">${t("g.lang")}</button>
    </header>
    ${state.notice ? `<p class="g-notice ${state.noticeKind}" role="status" data-testid="notice">${esc(state.notice)}</p>` : ""}
    <main class="g-body">${state.tab === "menu" ? menuTab() : state.tab === "cart" ? cartTab() : billTab()}</main>
    <nav class="g-tabs" aria-label="${t("g.title")}">
      ${tabButton("menu", t("g.tab.menu"))}
      ${tabButton("cart", `${t("g.tab.cart")}${count ? ` <span class="g-count" data-testid="cart-count">${count}</span>` : ""}`)}
      ${tabButton("bill", t("g.tab.bill"))}
    </nav>`;
}

function tabButton(tab, label) {
  return `<button type="button" data-tab="${tab}" data-testid="tab-${tab}" aria-current="${state.tab === tab}">${label}</button>`;
}

function menuTab() {
  const m = state.menu;
  const cats = m.categories.map((c) => `<button type="button" data-cat="${esc(c.id)}" aria-current="${c.id === state.category}" data-testid="category">${esc(i18n.name(c))}</button>`).join("");
  const products = m.productsIn(state.category).map((p) => {
    const out = p.available === false;
    return `<li><button type="button" class="g-product" data-product="${esc(p.id)}" data-testid="product" ${out ? 'aria-disabled="true"' : ""}>
      <span class="g-pname">${esc(i18n.name(p))}</span>
      ${p.description ? `<span class="g-pdesc muted">${esc(p.description)}</span>` : ""}
      <span class="g-pprice money">${out ? `<span class="g-soldout">${t("menu.soldout")}</span>` : money(p.price)}</span>
    </button></li>`;
  }).join("");
  const count = state.cart.reduce((n, l) => n + l.qty, 0);
  return `<nav class="g-cats" aria-label="${t("menu.categories")}">${cats}</nav>
    <ul class="g-products">${products || `<li class="muted">${t("menu.empty")}</li>`}</ul>
    ${count ? `<button type="button" class="primary g-cartbar" data-tab="cart" data-testid="view-cart">${t("g.view_cart", { n: count })}</button>` : ""}`;
}

function cartTab() {
  const m = state.menu;
  const mode = state.view.mode;
  if (!state.cart.length) return `<p class="muted g-pad">${t("g.cart_empty")}</p>${mode === "off" ? `<p class="g-pad">${t("g.off")}</p>` : ""}`;
  const lines = state.cart.map((l, i) => {
    const p = m.products.get(l.product_id);
    const mods = l.modifiers.map((id) => i18n.name(m.options.get(id))).filter(Boolean).join(", ");
    return `<li class="g-line" data-testid="cart-line">
      <div><strong>${esc(i18n.name(p))}</strong>${mods ? `<div class="muted">${esc(mods)}</div>` : ""}${l.note ? `<div class="muted">“${esc(l.note)}”</div>` : ""}</div>
      <span class="money">${money(m.unitPrice(l) * l.qty)}</span>
      <div class="g-stepper">
        <button type="button" data-line="${i}" data-do="less" aria-label="${t("qty.less")}">−</button>
        <output aria-live="polite">${l.qty}</output>
        <button type="button" data-line="${i}" data-do="more" aria-label="${t("qty.more")}" ${l.qty >= 20 ? "disabled" : ""}>+</button>
        <button type="button" class="link" data-line="${i}" data-do="remove">${t("cart.remove")}</button>
      </div></li>`;
  }).join("");
  const tot = m.totals(state.cart);
  const send = mode === "off"
    ? `<p class="g-off" data-testid="orders-off">${t("g.off")}</p>`
    : `<p class="muted">${t(mode === "kitchen" ? "g.send.kitchen_hint" : "g.send.confirm_hint")}</p>
       <button type="button" class="primary big g-send" data-action="send" data-testid="send" ${state.sending ? "disabled" : ""}>
         ${state.sending ? t("g.sending") : t(mode === "kitchen" ? "g.send.kitchen" : "g.send.confirm")}</button>`;
  return `<ul class="g-lines">${lines}</ul>
    <div class="g-foot"><div class="row"><span>${t("g.estimate")}</span><span class="spacer"></span>
      <strong class="money" aria-live="polite">${money(tot.total)}</strong></div>${send}</div>`;
}

function billTab() {
  const v = state.view, bill = v.bill;
  const billHtml = !bill ? `<p class="muted">${t("g.bill.empty")}</p>` : `
    <ul class="g-lines">${bill.lines.map((l) => `<li class="g-line ${l.state}" data-testid="bill-line" data-state="${esc(l.state)}">
      <div><strong>${l.qty} × ${esc(productName(l))}</strong>
        ${l.modifiers.length ? `<div class="muted">${esc(optionNames(l))}</div>` : ""}
        <div class="muted small">${l.round ? t("g.bill.round", { n: l.round }) : ""}${l.guest ? ` · ${t("g.bill.yours")}` : ""}
          ${l.state === "held" ? ` · ${t("g.bill.held")}` : ""}${l.state === "voided" ? ` · ${t("g.bill.voided")}` : ""}</div></div>
      <span class="money">${money(l.line_total)}</span></li>`).join("")}</ul>
    <dl class="totals g-totals">
      ${row("total.subtotal", bill.subtotal)}${bill.discount ? row("total.discount", -bill.discount) : ""}
      ${bill.service_charge ? row("total.service", bill.service_charge) : ""}${bill.tax ? row("total.tax", bill.tax) : ""}
      ${bill.rounding ? row("total.rounding", bill.rounding) : ""}
      <div class="grand"><dt>${t("total.total")}</dt><dd class="money" data-testid="bill-total">${money(bill.total)}</dd></div>
      ${bill.paid ? row("total.paid", bill.paid) + row("total.due", bill.due) : ""}
    </dl>${bill.bill_requested ? `<p class="muted">${t("g.bill.requested")}</p>` : ""}`;
  const reqs = v.requests.filter((r) => r.kind === "order" && r.status !== "accepted" || r.kind !== "order" && r.status === "pending");
  const reqHtml = reqs.length ? `<h2>${t("g.req.title")}</h2><ul class="g-reqs">${reqs.map((r) => `
    <li data-testid="request" data-status="${esc(r.status)}" data-kind="${esc(r.kind)}"><strong>${t(`g.req.${r.kind}`)}</strong>
      <span class="g-status ${esc(r.status)}">${t(r.kind !== "order" && r.status === "pending" ? "g.call.pending" : `g.req.${r.status}`)}</span>
      ${r.lines.length ? `<div class="muted">${r.lines.map((l) => `${l.qty} × ${esc(productName(l))}`).join(", ")}</div>` : ""}
      ${r.reason ? `<div class="muted">${esc(r.reason)}</div>` : ""}</li>`).join("")}</ul>` : "";
  const calling = (kind) => v.requests.some((r) => r.kind === kind && r.status === "pending");
  const callButton = (kind) => `<button type="button" data-call="${kind}" data-testid="call-${kind}" ${calling(kind) ? "disabled" : ""}>${t(`g.call.${kind}`)}</button>`;
  return `<section class="g-pad"><h2>${t("g.bill.title")}</h2>${billHtml}${reqHtml}
    <div class="g-calls">${callButton("waiter")}${callButton("bill")}</div></section>`;
}

function row(key, amount) {
  return `<div><dt>${t(key)}</dt><dd class="money">${money(amount)}</dd></div>`;
}

function productName(line) {
  return i18n.name(state.menu?.products.get(line.product_id)) || line.name;
}

/** A line's options in the guest's language (the names the edge recorded as a fallback). */
function optionNames(line) {
  return line.modifiers.map((name, i) => i18n.name(state.menu?.options.get(line.option_ids?.[i])) || name).join(", ");
}

// ------------------------------------------------------------------ product sheet

let editing = null; // {product_id, qty, modifiers, note}

function openSheet(productId) {
  const p = state.menu.products.get(productId);
  if (!p || p.available === false) return;
  editing = { product_id: p.id, qty: 1, modifiers: [], note: "", error: "" };
  renderSheet();
  sheet.showModal();
}

function renderSheet() {
  if (!editing) return;
  const m = state.menu, p = m.products.get(editing.product_id);
  const groups = m.groupsOf(p).map((g) => `<fieldset class="group"><legend>${esc(i18n.name(g))}
      <span class="hint ${g.min_choices ? "required" : ""}">${g.min_choices ? t("sheet.required") : t("sheet.optional")} · ${groupHint(g, t)}</span></legend>
      <div class="options">${(g.options || []).map((o) => `<button type="button" data-option="${esc(o.id)}" aria-pressed="${editing.modifiers.includes(o.id)}" ${o.available === false ? "disabled" : ""}>
        <span>${esc(i18n.name(o))}</span><span class="money">${o.price_delta ? (o.price_delta > 0 ? "+" : "") + money(o.price_delta) : ""}</span></button>`).join("")}</div></fieldset>`).join("");
  const unit = m.unitPrice(editing);
  sheet.innerHTML = `<form method="dialog" class="g-sheet" data-testid="sheet">
    <h2 id="sheet-title">${esc(i18n.name(p))}</h2>${p.description ? `<p class="muted">${esc(p.description)}</p>` : ""}
    ${groups}
    <label>${t("g.note")}<input name="note" maxlength="200" value="${esc(editing.note)}" autocomplete="off"></label>
    <div class="row"><span>${t("sheet.qty")}</span><span class="spacer"></span><div class="g-stepper">
      <button type="button" data-qty="-1" aria-label="${t("qty.less")}" ${editing.qty <= 1 ? "disabled" : ""}>−</button>
      <output aria-live="polite" data-testid="sheet-qty">${editing.qty}</output>
      <button type="button" data-qty="1" aria-label="${t("qty.more")}" ${editing.qty >= 20 ? "disabled" : ""}>+</button></div></div>
    <p class="error" role="alert">${esc(editing.error)}</p>
    <div class="sheet-actions"><button type="button" data-sheet="cancel">${t("sheet.cancel")}</button>
      <button type="button" class="primary" data-sheet="add" data-testid="sheet-add"><span>${t("sheet.add")}</span><span class="money">${money(unit * editing.qty)}</span></button></div>
  </form>`;
}

sheet.addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b || !editing) return;
  editing.note = sheet.querySelector("input[name=note]")?.value.slice(0, 200) ?? editing.note;
  if (b.dataset.option) editing.modifiers = toggleOption(state.menu, editing.modifiers, b.dataset.option);
  else if (b.dataset.qty) editing.qty = Math.min(20, Math.max(1, editing.qty + Number(b.dataset.qty)));
  else if (b.dataset.sheet === "cancel") { sheet.close(); editing = null; return; }
  else if (b.dataset.sheet === "add") {
    const p = state.menu.products.get(editing.product_id);
    const missing = state.menu.unmetGroups(p, editing.modifiers);
    if (missing.length) { editing.error = t("sheet.missing", { groups: missing.map((g) => i18n.name(g)).join(", ") }); renderSheet(); return; }
    addToCart({ product_id: editing.product_id, qty: editing.qty, modifiers: [...editing.modifiers], note: editing.note.trim() });
    note(t("g.added", { name: i18n.name(p) }), "ok");
    sheet.close(); editing = null; render(); return;
  }
  renderSheet();
});
sheet.addEventListener("close", () => { editing = null; });

// The same item with the same options and note adds to its line (up to 20) instead of a new one.
function addToCart(item) {
  const same = state.cart.find((l) => l.product_id === item.product_id && l.note === item.note
    && l.modifiers.length === item.modifiers.length && l.modifiers.every((id) => item.modifiers.includes(id)));
  if (same && same.qty + item.qty <= 20) same.qty += item.qty;
  else state.cart.push(item);
}

// ------------------------------------------------------------------ events

root.addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b) return;
  if (b.dataset.tab) { state.tab = b.dataset.tab; state.notice = state.sending ? state.notice : ""; render(); window.scrollTo(0, 0); return; }
  if (b.dataset.cat) { state.category = b.dataset.cat; render(); return; }
  if (b.dataset.product) { openSheet(b.dataset.product); return; }
  if (b.dataset.call) { b.disabled = true; callStaff(b.dataset.call); return; }
  if (b.dataset.line !== undefined) {
    const line = state.cart[Number(b.dataset.line)];
    if (!line) return;
    if (b.dataset.do === "less") line.qty = Math.max(1, line.qty - 1);
    else if (b.dataset.do === "more") line.qty = Math.min(20, line.qty + 1);
    else state.cart.splice(Number(b.dataset.line), 1);
    render();
    return;
  }
  if (b.dataset.action === "lang") i18n.toggle();
  else if (b.dataset.action === "send") sendCart();
});

window.addEventListener("hashchange", () => location.reload());

start();
