// A QRIS / e-wallet payment at the till: ask the edge for a QR (payment attempt), show it
// in the order pane and on a customer-facing view (the tablet turned around: big QR, amount,
// countdown), and follow it live. When the gateway confirms, the edge records the payment and
// its `payment_attempt` frame (topic "orders") ends the QR here: the order is paid with no tap.
// Cancel voids the QR; an expired one says so and offers a new one. In static mode (the
// gateway unreachable, the outlet's printed QRIS with the amount) the cashier confirms after
// seeing the merchant app's notification: the payment is recorded unverified.
import { newKey } from "../common/api.js";
import { addStrings } from "../common/i18n.js";
import { clockSkew, qrCard, secondsLeft, tickCountdowns } from "../common/qr.js";

export { channelName } from "../common/qr.js"; // for the pay form, which loads this module lazily

addStrings({
  en: { "qr.ovo_mobile": "Customer's OVO number", "qr.ovo_hint": "OVO sends the payment to this number's app: the customer approves it there.",
    "qr.ovo_sent": "Sent to the OVO app of +62{phone}: waiting for the customer to approve." },
  id: { "qr.ovo_mobile": "Nomor OVO pelanggan", "qr.ovo_hint": "OVO mengirim tagihan ke aplikasi nomor ini: pelanggan menyetujuinya di sana.",
    "qr.ovo_sent": "Dikirim ke aplikasi OVO +62{phone}: menunggu persetujuan pelanggan." },
});

const ENDED_SHOWN = ["expired", "failed"]; // ended attempts the panel keeps showing (offer a new QR)

export function qrPayments(ctx, { onPaid, redraw }) {
  const { t, esc } = ctx;
  let attempt = null, skew = 0, error = "", busy = false, confirming = false;
  let overlay = null, stopTick = null, thanksTimer = null;
  // OVO pushes the payment to the customer's phone: its number (digits after +62), kept
  // here as typed so a redraw of the pay form does not lose it
  let mobile = "";
  document.addEventListener("input", (ev) => {
    if (ev.target?.dataset?.testid === "ovo-mobile") mobile = ev.target.value.replace(/\D/g, "").replace(/^(62|0)/, "");
  });

  const pending = () => attempt?.status === "pending" && !expiredHere();
  // The countdown reached zero: the customer must not pay it any more, even if the edge has
  // not heard from the gateway yet.
  const expiredHere = () => attempt?.status === "pending" && secondsLeft(attempt, skew) === 0;
  const shownFor = (orderId) => attempt && attempt.order_id === orderId &&
    (attempt.status === "pending" || ENDED_SHOWN.includes(attempt.status));

  function set(next, { fresh = false } = {}) {
    const keepSvg = attempt && next && next.id === attempt.id && !next.qr_svg ? attempt.qr_svg : undefined;
    attempt = next ? { ...next, qr_svg: next.qr_svg || keepSvg || "" } : null;
    if (next && (fresh || next.server_time)) skew = clockSkew(next); // every read, not only a new QR
    confirming = false;
    stopTick?.(); stopTick = null;
    if (attempt?.status === "pending") {
      stopTick = tickCountdowns(() => document, () => attempt, skew, () => { redraw(); drawCustomer(); });
    }
  }

  /** The open (or just expired) attempt of an order, e.g. after a reload or from the kiosk. */
  async function load(orderId) {
    error = "";
    try {
      const { items } = await ctx.api.get(`/api/v1/orders/${encodeURIComponent(orderId)}/payment-attempts`);
      const open = items.filter((a) => a.status === "pending").pop();
      if (open) set(await ctx.api.get(`/api/v1/payment-attempts/${encodeURIComponent(open.id)}`));
      else if (attempt?.order_id !== orderId || attempt.status === "pending") { set(null); hideCustomer(); }
    } catch (err) { error = ctx.describe(err); }
  }

  async function start(order, body, key) {
    busy = true; error = ""; redraw();
    try {
      const made = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(order.id)}/payment-attempts`,
        body, { idempotencyKey: key, retries: 2, timeoutMs: 15000 });
      set(made, { fresh: true });
      if (made.status === "pending") showCustomer();
      return true;
    } catch (err) {
      error = ctx.describe(err);
      // The order already has an open QR (another tablet, the kiosk): show that one.
      if (err.status === 409 && err.details?.attempt_id) await load(order.id);
      return false;
    } finally { busy = false; redraw(); }
  }

  async function cancel() {
    if (!attempt) return;
    busy = true; redraw();
    try {
      set(await ctx.api.post(`/api/v1/payment-attempts/${encodeURIComponent(attempt.id)}/cancel`, undefined,
        { retries: 1 }));
      ctx.toast(t("qr.cancelled"));
      set(null);
    } catch (err) {
      if (err.status === 409) await reread(); else error = ctx.describe(err);
    } finally { busy = false; hideCustomer(); redraw(); }
  }

  async function confirm() {
    if (!confirming) { confirming = true; redraw(); return; }
    busy = true; redraw();
    try {
      ended(await ctx.api.post(`/api/v1/payment-attempts/${encodeURIComponent(attempt.id)}/confirm`, undefined,
        { retries: 1 }));
    } catch (err) { error = ctx.describe(err); } finally { busy = false; redraw(); }
  }

  /** A new QR for what is still owed (after an expired or refused one). */
  async function renew(order) {
    const old = attempt;
    if (old?.status === "pending") {
      // Expired on our clock but not yet at the edge: void it first (one open QR per order).
      try { await ctx.api.post(`/api/v1/payment-attempts/${encodeURIComponent(old.id)}/cancel`, undefined, { retries: 1 }); }
      catch (err) { if (err.status !== 409) { error = ctx.describe(err); redraw(); return; } }
    }
    set(null);
    const owed = Math.max(0, order.total - (order.paid ?? 0));
    await start(order, { method: old.method, channel: old.channel, amount: Math.min(old.amount, owed),
      ...extraBody({ method: old.method, channel: old.channel }) }, newKey());
  }

  async function reread() {
    if (!attempt) return;
    try { ended(await ctx.api.get(`/api/v1/payment-attempts/${encodeURIComponent(attempt.id)}`)); }
    catch (err) { error = ctx.describe(err); }
  }

  /** What the edge says the attempt is now (an answer or a live frame). */
  function ended(next) {
    const was = attempt?.status;
    set(next);
    if (next.status === "paid" && was !== "paid") {
      showThanks();
      const amount = next.amount;
      set(null);
      onPaid(amount, next);
    } else if (next.status === "cancelled") {
      set(null); hideCustomer();
    }
    drawCustomer(); redraw();
  }

  function onLiveEvent(ev) {
    if (ev.type !== "payment_attempt" || !attempt || ev.data?.id !== attempt.id) return;
    if (ev.data.status === attempt.status) return;
    ended(ev.data);
  }

  // ---------------------------------------------------------------- the order pane

  function panel(order) {
    if (!shownFor(order.id)) return "";
    const a = attempt, stale = expiredHere() || a.status === "expired";
    const head = `<h3>${t(`pay.${a.method}`)} · <span class="money">${ctx.money(a.amount)}</span></h3>
      <p class="mode-note ${a.mode}" data-testid="qr-mode-note">${a.mode === "static" ? t("qr.mode_static") : t("qr.mode_gateway")}</p>`;
    let body;
    if (stale || a.status === "failed") {
      body = `<p class="error" role="alert" data-testid="qr-ended">${stale ? t("qr.expired") : t("qr.failed")}</p>
        <div class="actions"><button class="primary big" data-qr="renew" data-testid="qr-new" ${busy ? "disabled" : ""}>${t("qr.new")}</button>
        <button data-qr="close">${t("close")}</button></div>`;
    } else {
      // The cashier's controls first; the customer scans the big QR on the customer view.
      body = `<p role="status" class="muted">${a.channel === "ovo" ? t("qr.ovo_sent", { phone: esc(mobile) }) : t("qr.waiting")}</p>
        <div class="actions">
          <button class="primary" data-qr="customer" data-testid="qr-customer">${t("qr.customer_view")}</button>
          ${a.mode === "static" ? `<button class="primary ${confirming ? "confirming" : ""}" data-qr="confirm" data-testid="qr-confirm" ${busy ? "disabled" : ""}>${confirming ? t("qr.confirm_sure") : t("qr.confirm")}</button>` : ""}
          <button data-qr="cancel" data-testid="qr-cancel" ${busy ? "disabled" : ""}>${t("qr.cancel")}</button></div>
        ${qrCard(a, { t, money: ctx.money, skewMs: skew })}`;
    }
    return `<section class="qr-panel card" data-testid="qr-panel" data-status="${esc(stale ? "expired" : a.status)}">${head}${body}
      <p class="error" role="alert">${esc(error)}</p></section>`;
  }

  /** Clicks inside the order pane; returns true when it was one of ours. */
  function onClick(btn, order) {
    const what = btn.dataset.qr;
    if (!what) return false;
    if (what === "customer") showCustomer();
    else if (what === "cancel") cancel();
    else if (what === "confirm") confirm();
    else if (what === "renew") renew(order);
    else if (what === "close") { set(null); error = ""; redraw(); }
    return true;
  }

  // ---------------------------------------------------------------- customer-facing view

  function showCustomer() {
    if (!attempt) return;
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.className = "customer-view";
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.dataset.testid = "customer-view";
      overlay.addEventListener("click", (ev) => {
        const b = ev.target.closest("button[data-cv]");
        if (!b) return;
        if (b.dataset.cv === "back") hideCustomer();
        else if (b.dataset.cv === "lang") { ctx.i18n.toggle(); drawCustomer(); }
      });
      document.body.append(overlay);
    }
    drawCustomer();
  }

  function hideCustomer() {
    clearTimeout(thanksTimer);
    overlay?.remove(); overlay = null;
  }

  function showThanks() {
    if (!overlay) return;
    overlay.innerHTML = `<div class="cv-body cv-paid" data-testid="customer-paid"><div class="cv-check" aria-hidden="true">✓</div>
      <h1>${t("qr.paid")}</h1></div>`;
    clearTimeout(thanksTimer);
    thanksTimer = setTimeout(hideCustomer, 4000);
    overlay.addEventListener("click", hideCustomer, { once: true });
  }

  function drawCustomer() {
    if (!overlay || !attempt) return;
    const stale = expiredHere() || attempt.status !== "pending";
    overlay.innerHTML = `<div class="cv-top"><button data-cv="lang">${t("lang.switch")}</button><span class="spacer"></span>
        <button data-cv="back" data-testid="cashier-view">${t("qr.cashier_view")}</button></div>
      <div class="cv-body">${stale
        ? `<h1 data-testid="customer-expired">${t("qr.expired")}</h1>`
        : `<h1>${t("qr.title")}</h1>${qrCard(attempt, { t, money: ctx.money, skewMs: skew })}`}</div>`;
  }

  /** The pay form's OVO number field (an e-wallet payment by OVO only). */
  function mobileField(pay) {
    if (pay.method !== "ewallet" || pay.channel !== "ovo") return "";
    return `<label>${t("qr.ovo_mobile")} <span class="prefix">+62</span>
      <input name="ovo_mobile" inputmode="tel" autocomplete="off" maxlength="15" value="${esc(mobile)}" data-testid="ovo-mobile" required></label>
      <p class="muted">${t("qr.ovo_hint")}</p>`;
  }

  /** What the attempt's body needs besides method, amount and channel. */
  function extraBody(pay) {
    return pay.method === "ewallet" && pay.channel === "ovo" ? { mobile_number: `+62${mobile}` } : {};
  }

  return {
    load, start, onLiveEvent, panel, onClick, shownFor, mobileField, extraBody,
    tracks: (id) => attempt?.id === id,
    /** True while an order's QR may still be paid (the pay form stays hidden). */
    isOpen: (orderId) => attempt?.order_id === orderId && pending(),
    refresh: reread,
  };
}
