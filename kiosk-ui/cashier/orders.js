// Open orders: the list (live), one order's detail, and what a cashier does with it:
// take payment (cash with change, card with the terminal's approval code, QRIS or an
// e-wallet through the gateway (cashier/qr.js), split across methods), discount with a
// reason, hand over, reprint the receipt, void with a manager PIN and a reason. The
// "handed over" list holds today's completed orders, refunded there (cashier/refund.js).
import { newKey } from "../common/api.js";
import { channelName } from "../common/qr.js";
import { qrPayments } from "./qr.js";
import { discountDialog, refundDialog, retryRefundDialog } from "./refund.js";

export function ordersView(ctx) {
  const { t, esc } = ctx;
  let el = null, orders = [], selectedId = null, selected = null, error = "", lastChange = null;
  let pay = { method: "cash", amount: "", tendered: "", reference: "", channel: "" };
  let listMode = "open"; // "open" | "completed" (handed over today: refunds)
  let paySettings = null, qrResult = "", refunds = [];
  const qr = qrPayments(ctx, {
    redraw: () => draw(),
    onPaid: (amount) => { qrResult = `${t("qr.paid")} ${ctx.money(amount)}`; lastChange = null; refresh(); },
  });
  // The Idempotency-Key of the payment in the form: minted before its first send, re-sent by
  // every retry of it, replaced only once it succeeded or the cashier changed the payment.
  let payKey = newKey();
  let shiftOpen = null;

  async function refresh() {
    try {
      const res = await ctx.api.get(`/api/v1/orders?status=${listMode}&limit=200`);
      orders = res.items;
      if (selectedId) selected = orders.find((o) => o.id === selectedId) ?? selected;
      if (selected && selected.status === "completed") await loadRefunds();
      error = "";
    } catch (err) { error = ctx.describe(err); }
    draw();
  }

  async function loadShift() {
    try { shiftOpen = Boolean((await ctx.api.get("/api/v1/shifts/current", { retries: 0 }))?.id); }
    catch (err) { shiftOpen = err.status === 404 ? false : shiftOpen; }
  }

  async function loadSettings() {
    try { paySettings = await ctx.api.get("/api/v1/payments/settings", { retries: 1 }); }
    catch { paySettings = paySettings ?? null; }
  }

  async function loadRefunds() {
    try { refunds = (await ctx.api.get(`/api/v1/orders/${encodeURIComponent(selected.id)}/refunds`)).items; }
    catch (err) { refunds = []; error = ctx.describe(err); }
  }

  async function select(id) {
    selectedId = id;
    lastChange = null; qrResult = "";
    try {
      selected = await ctx.api.get(`/api/v1/orders/${encodeURIComponent(id)}`);
      if (selected.status === "completed") await loadRefunds(); else await qr.load(id);
    } catch (err) { error = ctx.describe(err); }
    resetPay();
    draw();
  }

  function due(o) { return Math.max(0, o.total - (o.paid ?? 0)); }
  function resetPay() {
    pay = { method: "cash", amount: selected ? String(due(selected)) : "", tendered: "", reference: "",
      channel: paySettings?.ewallet_channels?.[0] ?? "" };
    payKey = newKey();
  }

  let timer = null;
  function onLiveEvent(ev) {
    if (ev.type === "payment_attempt" && ev.data?.order_id === selectedId && ev.data.status === "pending"
        && !qr.tracks(ev.data.id)) {
      qr.load(selectedId).then(draw); // a QR opened elsewhere (the kiosk, another till)
    } else qr.onLiveEvent(ev);
    if (ev.topic !== "orders" || !el) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 150); // coalesce bursts of status changes
  }

  function listItem(o) {
    const paid = (o.paid ?? 0) >= o.total;
    return `<button data-action="select" data-id="${esc(o.id)}" aria-current="${o.id === selectedId}" data-testid="open-order">
        <span class="num">#${o.number}</span>
        <span>${t(`type.short.${o.type}`)} · <span class="badge ${o.status === "ready" ? "ready" : ""}">${t(`status.${o.status}`)}</span></span>
        <span class="money">${ctx.money(o.total)}</span>
        <span class="muted">${esc(o.source || "")} ${new Date(o.created_at).toLocaleTimeString(ctx.i18n.lang(), { hour: "2-digit", minute: "2-digit" })}</span>
        <span class="badge ${paid ? "paid" : "unpaid"}">${o.refunded ? t("refund.open") : paid ? t("order.paid") : t("order.unpaid")}</span>
      </button>`;
  }

  function totals(o) {
    const rows = [["total.subtotal", o.subtotal]];
    if (o.discount) rows.push(["total.discount", -o.discount]);
    if (o.service_charge) rows.push(["total.service", o.service_charge]);
    if (o.tax) rows.push(["total.tax", o.tax]);
    if (o.rounding) rows.push(["total.rounding", o.rounding]);
    return `<div class="totals">${rows.map(([k, v]) => `<span>${t(k)}</span><span class="money">${ctx.money(v)}</span>`).join("")}
      <span class="grand">${t("total.total")}</span><span class="grand money" data-testid="order-total">${ctx.money(o.total)}</span>
      <span>${t("total.paid")}</span><span class="money">${ctx.money(o.paid ?? 0)}</span>
      <span class="grand">${t("total.due")}</span><span class="grand money" data-testid="order-due">${ctx.money(due(o))}</span>
      ${o.refunded ? `<span>${t("refund.list")}</span><span class="money" data-testid="order-refunded">-${ctx.money(o.refunded)}</span>` : ""}</div>`;
  }

  function payForm(o) {
    if (shiftOpen === false) return `<p class="error" role="alert">${t("shift.needed")}</p>
      <button class="primary" data-action="to-shift">${t("shift.open")}</button>`;
    const amount = Number(pay.amount || 0), tendered = Number(pay.tendered || 0);
    const change = pay.method === "cash" && tendered >= amount ? tendered - amount : 0;
    const method = (m, off = false) => `<button type="button" data-action="method" data-method="${m}" aria-pressed="${pay.method === m}"
      ${off ? `disabled title="${t("pay.qris_off")}"` : ""}>${t(`pay.${m}`)}</button>`;
    const qrisOff = paySettings !== null && paySettings.provider === "none" && !paySettings.static_qris;
    const channels = paySettings?.ewallet_channels ?? [];
    const gateway = pay.method === "qris" || pay.method === "ewallet";
    const quick = [...new Set([amount, roundUp(amount, 10000), roundUp(amount, 50000), roundUp(amount, 100000)])]
      .filter((v) => v > 0).map((v) => `<button type="button" data-action="tender" data-value="${v}">${v === amount ? t("pay.exact") : ctx.money(v)}</button>`).join("");
    return `<form class="pay-form card" data-testid="pay-form">
      <h3>${t("pay.title")}</h3>
      <div class="methods" role="group" aria-label="${t("pay.method")}">${method("cash")}${method("card")}${method("qris", qrisOff)}${
        channels.length && paySettings.provider !== "none" ? method("ewallet") : ""}</div>
      <label>${t("pay.amount")} (${t("pay.remaining")}: ${ctx.money(due(o))})
        <input name="amount" inputmode="numeric" value="${esc(pay.amount)}" data-testid="pay-amount"></label>
      ${pay.method === "cash" ? `
        <label>${t("pay.tendered")}<input name="tendered" inputmode="numeric" value="${esc(pay.tendered)}" data-testid="pay-tendered"></label>
        <div class="quick">${quick}</div>
        <p>${t("pay.change")}: <span class="change money" data-testid="pay-change">${ctx.money(change)}</span></p>` : gateway ? `
        ${pay.method === "ewallet" ? `<div class="methods" role="group" aria-label="${t("pay.ewallet")}">${channels.map((c) =>
          `<button type="button" data-action="channel" data-channel="${esc(c)}" aria-pressed="${pay.channel === c}">${esc(channelName(c))}</button>`).join("")}</div>` : ""}` : `
        <p class="muted">${t("pay.card_hint", { amount: `<strong class="money" data-testid="card-amount">${ctx.money(amount)}</strong>` })}</p>
        <label>${t("pay.reference")}<input name="reference" autocomplete="off" value="${esc(pay.reference)}" data-testid="pay-reference" required></label>`}
      <button class="primary big" type="submit" data-testid="pay-submit">${gateway ? t("pay.qr_show") : t("pay.submit")}</button>
    </form>`;
  }

  function paymentRow(p) {
    const ref = p.gateway ? `${p.gateway}${p.verified === false ? ` · <span class="badge unpaid">${t("qr.unverified")}</span>` : ""}`
      : esc(p.reference);
    return `<li data-testid="payment"><span>${t(`pay.${p.method}`)}${ref ? ` · ${ref}` : ""}${p.change ? ` · ${t("pay.change")} ${ctx.money(p.change)}` : ""}</span><span class="money">${ctx.money(p.amount)}</span></li>`;
  }

  function refundRow(r) {
    return `<li data-testid="refund"><span>${t(`pay.${r.method}`)}${r.gateway ? ` · ${esc(r.gateway)}` : ""} · ${esc(r.reason)}
        · <span class="badge ${r.status === "failed" ? "unpaid" : r.status === "done" ? "paid" : ""}">${t(`refund.status.${r.status}`)}</span>
        ${r.error ? `<span class="mods error">${esc(r.error)}</span>` : ""}
        ${r.status === "failed" && r.gateway ? `<button data-action="refund-retry" data-id="${esc(r.id)}" data-testid="refund-retry">${t("refund.retry")}</button>` : ""}</span>
        <span class="money">-${ctx.money(r.amount)}</span></li>`;
  }

  function detail() {
    const o = selected;
    if (!o) return `<p class="muted">${orders.length ? "" : t(listMode === "open" ? "orders.none" : "orders.none_done")}</p>`;
    const lines = o.lines.map((l) => `<li><span>${l.qty} × ${esc(l.name)}</span><span class="money">${ctx.money(l.line_total)}</span>
        ${l.modifiers?.length ? `<span class="mods muted">${l.modifiers.map((m) => esc(m.name)).join(", ")}</span>` : ""}
        ${l.discount ? `<span class="mods">${t("total.discount")} -${ctx.money(l.discount)}</span>` : ""}
        ${l.note ? `<span class="mods"><em>${esc(l.note)}</em></span>` : ""}</li>`).join("");
    const open = !["completed", "voided", "cancelled"].includes(o.status);
    const result = qrResult || (lastChange === null ? "" : due(o) > 0
      ? t("pay.partial", { due: ctx.money(due(o)) })
      : t("pay.done", { change: ctx.money(lastChange) }));
    const refundable = o.status === "completed" && (o.paid ?? 0) - (o.refunded ?? 0) > 0;
    const qrOpen = qr.shownFor(o.id);
    return `<div class="order-info"><h2 data-testid="order-title">${t("order.number", { n: o.number })} <span class="badge">${t(`status.${o.status}`)}</span>
        <span class="badge">${t(`type.short.${o.type}`)}</span></h2>
      ${result ? `<p class="card" role="status" data-testid="pay-result" style="font-size:1.4rem;font-weight:800">${esc(result)}</p>` : ""}
      <ul class="lines">${lines}</ul>${totals(o)}
      ${o.discount_reason ? `<p class="muted">${t("total.discount")}: ${esc(o.discount_reason)}</p>` : ""}
      ${o.payments?.length ? `<ul class="lines" aria-label="${t("pay.title")}">${o.payments.map(paymentRow).join("")}</ul>` : ""}
      ${o.status === "completed" && refunds.length ? `<h3>${t("refund.list")}</h3><ul class="lines" data-testid="refunds">${refunds.map(refundRow).join("")}</ul>` : ""}
      <div class="actions">
        ${open && due(o) === 0 ? `<button class="primary" data-action="complete">${t("order.complete")}</button>` : ""}
        <button data-action="reprint" data-testid="reprint">${t("order.reprint")}</button>
        ${open && !qrOpen ? `<button data-action="discount" data-testid="discount">${t("discount.open")}</button>` : ""}
        ${open && !qrOpen ? `<button data-action="void" data-testid="void">${t("order.void")}</button>` : ""}
        ${refundable ? `<button class="primary" data-action="refund" data-testid="refund-open">${t("refund.open")}</button>` : ""}
      </div></div>
      ${qrOpen ? `<div class="order-pay">${qr.panel(o)}</div>`
        : open && due(o) > 0 ? `<div class="order-pay">${payForm(o)}</div>` : ""}`;
  }

  function draw() {
    if (!el) return;
    const focused = document.activeElement?.name;
    el.innerHTML = `<div class="split">
        <section class="list" aria-label="${t("orders.open")}" data-testid="order-list">
          <div class="methods list-modes" role="group">
            <button data-action="list" data-mode="open" aria-pressed="${listMode === "open"}">${t("orders.open")}</button>
            <button data-action="list" data-mode="completed" aria-pressed="${listMode === "completed"}" data-testid="list-completed">${t("orders.done_list")}</button>
            <button data-action="refresh" aria-label="${t("orders.refresh")}" title="${t("orders.refresh")}">⟳</button></div>
          ${orders.map(listItem).join("") || `<p class="muted">${t(listMode === "open" ? "orders.none" : "orders.none_done")}</p>`}
        </section>
        <section class="pane order-pane" aria-live="polite">${error ? `<p class="error" role="alert">${esc(error)}</p>` : ""}${detail()}</section>
      </div>`;
    if (focused) el.querySelector(`input[name="${focused}"]`)?.focus();
  }

  function editPay(field, value) {
    if (pay[field] === value) return;
    pay[field] = value;
    payKey = newKey(); // another body under the old key would be refused (409)
  }

  function roundUp(v, unit) { return Math.ceil(v / unit) * unit; }

  async function submitPayment() {
    const o = selected;
    if (pay.method === "qris" || pay.method === "ewallet") {
      // A QR for this amount (all that is owed, or a part: the rest by another method).
      const body = { method: pay.method, amount: Number(pay.amount), channel: pay.method === "ewallet" ? pay.channel : "" };
      lastChange = null; qrResult = ""; error = "";
      if (await qr.start(o, body, payKey)) resetPay();
      return;
    }
    const body = { method: pay.method, amount: Number(pay.amount) };
    if (pay.method === "cash") body.tendered = Number(pay.tendered || pay.amount);
    else body.reference = pay.reference.trim();
    try {
      // The key makes a repeat safe: the edge records a payment once per key and answers a
      // repeat with the order as it is now. So a payment whose answer was lost (timeout,
      // edge restart) is re-sent by the client with the same key, and if every retry fails
      // the form keeps the key: pressing Pay again cannot take the money twice either.
      selected = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(o.id)}/payments`, body,
        { idempotencyKey: payKey, retries: 2, timeoutMs: 8000 });
      const made = selected.payments?.[selected.payments.length - 1];
      lastChange = made?.change ?? 0; qrResult = "";
      error = "";
      resetPay();
      refresh();
    } catch (err) {
      error = ctx.describe(err);
      if (err.isNetwork) await refresh(); else draw();
    }
  }

  function voidDialog() {
    const d = ctx.dialog;
    d.innerHTML = `<form class="dlg" data-testid="void-dialog">
        <h2 id="dlg-title">${t("void.title")} #${selected.number}</h2>
        <label>${t("void.reason")}<input name="reason" required maxlength="200"></label>
        <label>${t("void.manager_pin")}<input name="pin" type="password" inputmode="numeric" required autocomplete="off"></label>
        <p class="error" role="alert"></p>
        <div class="row"><button type="button" value="cancel" data-close>${t("sheet.cancel")}</button>
        <button class="primary" type="submit">${t("void.submit")}</button></div></form>`;
    d.showModal();
    const form = d.querySelector("form");
    d.querySelector("[data-close]").onclick = () => d.close();
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const out = form.querySelector(".error");
      try {
        // The manager's PIN authorises this one void; the cashier stays logged in.
        const manager = await ctx.pinLogin(form.pin.value.trim());
        if (manager.staff?.role !== "manager") { out.textContent = t("void.need_manager"); return; }
        selected = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(selected.id)}/void`,
          { reason: form.reason.value.trim() }, { token: manager.access_token });
        d.close();
        ctx.toast(t("void.done"));
        selectedId = null; selected = null;
        refresh();
      } catch (err) { out.textContent = ctx.describe(err); }
    };
  }

  async function onClick(ev) {
    const btn = ev.target.closest("button[data-action], button[data-qr]");
    if (!btn) return;
    const a = btn.dataset.action;
    if (selected && qr.onClick(btn, selected)) return;
    try {
      if (a === "select") await select(btn.dataset.id);
      else if (a === "list") { listMode = btn.dataset.mode; selectedId = null; selected = null; await refresh(); }
      else if (a === "channel") { editPay("channel", btn.dataset.channel); draw(); }
      else if (a === "discount") discountDialog(ctx, selected, (o) => { selected = o; refresh(); });
      else if (a === "refund") refundDialog(ctx, selected, refunds, async () => { await refresh(); });
      else if (a === "refund-retry") {
        const failed = refunds.find((r) => r.id === btn.dataset.id);
        if (failed) retryRefundDialog(ctx, selected, failed, async () => { await refresh(); });
      }
      else if (a === "refresh") await refresh();
      else if (a === "method") { editPay("method", btn.dataset.method); draw(); }
      else if (a === "tender") { editPay("tendered", btn.dataset.value); draw(); }
      else if (a === "to-shift") ctx.go("shift");
      else if (a === "void") voidDialog();
      else if (a === "reprint") {
        await ctx.api.post(`/api/v1/orders/${encodeURIComponent(selected.id)}/print`, { kind: "receipt" });
        ctx.toast(t("print.sent"));
      } else if (a === "complete") {
        selected = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(selected.id)}/complete`, undefined);
        await refresh();
      }
    } catch (err) { error = ctx.describe(err); draw(); }
  }

  function onInput(ev) {
    const { name, value } = ev.target;
    if (!(name in pay)) return;
    editPay(name, name === "reference" ? value : value.replace(/\D/g, ""));
    if (name !== "reference") {
      // Update the change live without re-rendering the input being typed in.
      const amount = Number(pay.amount || 0), tendered = Number(pay.tendered || 0);
      const out = el.querySelector("[data-testid=pay-change]");
      if (out) out.textContent = ctx.money(tendered >= amount ? tendered - amount : 0);
      const card = el.querySelector("[data-testid=card-amount]");
      if (card) card.textContent = ctx.money(amount);
    }
  }

  return {
    async mount(target) {
      el = target;
      el.addEventListener("click", onClick);
      el.addEventListener("input", onInput);
      el.addEventListener("submit", (ev) => { ev.preventDefault(); submitPayment(); });
      draw();
      await Promise.all([loadShift(), loadSettings()]);
      await refresh();
    },
    async refresh() { await refresh(); await qr.refresh(); },
    onLiveEvent,
    /** Select an order from elsewhere (after a counter order is placed). */
    async show(id) { ctx.go("orders"); await select(id); },
  };
}
