// "Pay here with QRIS" on the kiosk. After the order is placed the kiosk asks the edge for
// a QR (payment attempt) with an Idempotency-Key saved before the first send, so a reload or
// a lost answer shows the same QR instead of making a second one. It follows the attempt on
// the live stream (topic "orders", resumed right after the attempt as read: `live_id`); the
// order goes to the kitchen when the gateway confirms (the outlet's kitchen trigger
// "payment"), and the kiosk shows the number. An abandoned QR expires: the edge cancels the
// unpaid order and the kiosk says so and resets. A static QR (gateway unreachable) needs a
// cashier to confirm by eye, so the kiosk does not use it: it cancels it and sends the
// customer to the counter. "Pay at the counter instead" cancels the QR and keeps the order
// for the cashier; "start over" cancels the QR and, with `cancel_order`, the unpaid order too
// (the edge cancels it only if the kitchen never saw it). The QR screen is not idle-timed: a
// customer may be paying on their phone; the QR's own countdown ends an abandoned one.
// The countdown follows the edge's clock, measured again on every read (`server_time`).
import { LiveStream } from "../common/stream.js";
import { clockSkew, qrCard, tickCountdowns } from "../common/qr.js";

const PAYING_KEY = "pos.kiosk.paying";

export function readPaying() {
  try { return JSON.parse(localStorage.getItem(PAYING_KEY)); } catch { return null; }
}

/**
 * hooks: api, token, t, money, redraw() (the pay screen changed), paid(order),
 * expired(order), counter(order, note) (pay at the cashier instead).
 */
export function kioskPayment(hooks) {
  const { api, t, money } = hooks;
  let order = null, attempt = null, skew = 0, stream = null, stopTick = null, phase = "idle";
  let run = 0; // which start() is current: an older one's late answer is not shown

  function stop() {
    stream?.stop(); stream = null;
    stopTick?.(); stopTick = null;
    localStorage.removeItem(PAYING_KEY);
  }

  /** Show a QR for `order` (the whole amount due); `key` is the attempt's Idempotency-Key. */
  async function start(forOrder, key) {
    stop();
    const mine = ++run;
    order = forOrder; attempt = null; phase = "preparing";
    localStorage.setItem(PAYING_KEY, JSON.stringify({ order, key }));
    hooks.redraw();
    const due = order.total - (order.paid ?? 0);
    let made;
    try {
      made = await api.post(`/api/v1/orders/${encodeURIComponent(order.id)}/payment-attempts`,
        { method: "qris", amount: due, channel: "" }, { idempotencyKey: key, retries: 2, timeoutMs: 15000 });
    } catch (err) {
      if (err.status === 409 && err.details?.attempt_id) {
        made = await api.get(`/api/v1/payment-attempts/${encodeURIComponent(err.details.attempt_id)}`).catch(() => null);
      }
      if (!made) { if (mine === run && phase === "preparing") toCounter(); return; }
    }
    if (mine !== run || phase !== "preparing") {
      // The kiosk started over while the QR was being made: nobody will scan it.
      if (made.status === "pending") await cancelAtEdge(made.id, true);
      return;
    }
    skew = clockSkew(made);
    if (made.mode === "static" && made.status === "pending") {
      await api.post(`/api/v1/payment-attempts/${encodeURIComponent(made.id)}/cancel`, undefined, { retries: 1 }).catch(() => null);
      toCounter();
      return;
    }
    apply(made);
    if (phase !== "qr") return;
    stream = new LiveStream({
      token: hooks.token, topics: ["orders"],
      // Each (re)connection reads the attempt and resumes the stream right after that read.
      prepare: async () => {
        const now = await api.get(`/api/v1/payment-attempts/${encodeURIComponent(attempt.id)}`);
        apply(now);
        return now.live_id;
      },
      onEvent: (ev) => { if (ev.type === "payment_attempt" && ev.data?.id === attempt?.id) apply(ev.data); },
    }).start();
    stopTick = tickCountdowns(() => document, () => attempt, () => skew, () => {
      // Nobody may pay it now; the edge expires it and cancels the unpaid order.
      if (phase === "qr") finish("expired");
    });
  }

  function apply(next) {
    if (phase !== "qr" && phase !== "preparing") return;
    attempt = { ...next, qr_svg: next.qr_svg || attempt?.qr_svg || "" };
    if (next.server_time) skew = clockSkew(next); // every read: a reload shows the real time left
    if (next.status === "paid") finish("paid");
    else if (next.status === "expired") finish("expired");
    else if (next.status === "cancelled" || next.status === "failed") toCounter();
    else if (phase !== "qr") { phase = "qr"; hooks.redraw(); }
  }

  async function finish(how) {
    phase = how;
    stop();
    if (how === "paid") {
      const fresh = await api.get(`/api/v1/orders/${encodeURIComponent(order.id)}`).catch(() => null);
      hooks.paid(fresh ?? { ...order, paid: order.total });
    } else hooks.expired(order);
  }

  function toCounter() {
    phase = "counter";
    stop();
    hooks.counter(order, t("kpay.unavailable"));
  }

  async function cancelAtEdge(id, cancelOrder) {
    await api.post(`/api/v1/payment-attempts/${encodeURIComponent(id)}/cancel`,
      cancelOrder ? { cancel_order: true } : undefined, { retries: 2 })
      .catch(() => null); // best effort: unpaid, it expires anyway (and so does the order)
  }

  /**
   * Void an open QR: the customer chose the counter (the order stays for the cashier), or
   * (`leave`) the kiosk is starting over: the edge cancels the unpaid, uncooked order too.
   */
  async function cancel({ leave = false } = {}) {
    const open = (phase === "qr" || phase === "preparing") && attempt?.status === "pending" ? attempt : null;
    phase = "idle";
    stop();
    if (open) await cancelAtEdge(open.id, leave);
    return order;
  }

  function view() {
    const body = phase === "qr" && attempt
      ? `<h1 tabindex="-1">${t("qr.title")}</h1>${qrCard(attempt, { t, money, skewMs: skew })}
         <p class="muted">${t("qr.waiting")}</p>
         <button class="big" data-action="pay-instead" data-testid="pay-instead">${t("kpay.instead")}</button>`
      : `<div class="spinner" style="border-color:#0002;border-top-color:var(--brand)"></div><h1>${t("kpay.preparing")}</h1>`;
    return `<section class="center-screen kiosk-pay" data-testid="kiosk-pay" data-phase="${phase}"><div>${body}</div></section>`;
  }

  return { start, cancel, view, active: () => phase === "qr" || phase === "preparing" };
}
