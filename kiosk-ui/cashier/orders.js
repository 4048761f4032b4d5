// Open orders: the list (live, searchable, filtered), one order's detail, and what a cashier
// does with it: take payment (cash with change and note buttons, card with the terminal's
// approval code, QRIS or an e-wallet through the gateway (cashier/qr.js), split across
// methods), discount with a reason, hand over, reprint the receipt, void with a manager PIN
// and a reason. The "handed over" list holds today's completed orders, refunded there
// (cashier/refund.js). The QR flow and the dialogs are fetched on first use (the PIN pad and
// the list need neither); sw.js precaches them, so they open offline too.
//
// Only what the order's state allows is offered (the same rules the edge checks), and every
// action says what happened to it: a payment whose answer never came is "not confirmed"
// until the edge is back, then "recorded" or "NOT recorded" after a fresh read.
import { outletTime } from "../common/clock.js";
import { newKey } from "../common/api.js";
import { reachability } from "../common/status.js";
import { whenReleased } from "../common/press.js";

const OPEN = ["placed", "in_kitchen", "ready"];
const NOTES = [20000, 50000, 100000]; // the notes a customer hands over most
const digitsOf = (v) => String(v ?? "").replace(/\D/g, "").replace(/^0+(?=\d)/, "").slice(0, 12);
/** "148995" -> "148.995" (the separator of formatMoney's Rupiah) while typing. */
export const groupDigits = (d) => String(d).replace(/\B(?=(\d{3})+(?!\d))/g, ".");

/** The edge's rule for handing over (edge.orders.complete_order): fully paid, and ready, or a
 * dine-in bill at a table (served there: it closes once paid, whatever the kitchen's state). */
export const canHandOver = (o) => (o.paid ?? 0) >= o.total
  && (o.status === "ready" || (Boolean(o.table_id) && OPEN.includes(o.status)));

export function ordersView(ctx) {
  const { t, esc } = ctx;
  let el = null, orders = [], selectedId = null, selected = null, error = "", lastChange = null;
  const drawWhenReleased = whenReleased(() => draw());
  let pay = { method: "cash", amount: "", tendered: "", reference: "", channel: "" };
  let payOrderId = null; // the order the payment form was last set up for
  let listMode = "open"; // "open" | "completed" (handed over today: refunds)
  let filter = "all"; // "all" | "unpaid" | "ready"
  let query = "", searchTimer = null;
  let paySettings = null, qrResult = "", refunds = [];
  // The last payment's outcome for the selected order when it is not a plain success:
  // {orderId, kind: "unknown" | "refused" | "back_none" | "back_done", amount, before: [ids], why}
  let outcome = null;
  // The QR flow (cashier/qr.js) arrives when the first order is opened; until then no QR is
  // shown here (qr is null).
  const loadQr = ctx.lazy(() => import("./qr.js"));
  let qr = null, channelName = (c) => c;
  async function useQr() {
    const m = await loadQr();
    if (!qr) {
      channelName = m.channelName ?? channelName;
      qr = m.qrPayments(ctx, {
        redraw: () => drawPane(),
        onPaid: (amount) => { qrResult = `${t("qr.paid")} ${ctx.money(amount)}`; lastChange = null; refresh(); },
      });
    }
    return qr;
  }
  const dialogs = ctx.lazy(() => import("./refund.js")); // discount and refund dialogs
  // The Idempotency-Key of the payment in the form: minted before its first send, re-sent by
  // every retry of it, replaced only once it succeeded or the cashier changed the payment.
  let payKey = newKey();
  let shiftOpen = null;

  async function refresh() {
    try {
      const q = listMode === "completed" && query.trim() ? `&q=${encodeURIComponent(query.trim().slice(0, 50))}` : "";
      const res = await ctx.api.get(`/api/v1/orders?status=${listMode}&limit=${listMode === "open" ? 500 : 200}${q}`);
      orders = res.items;
      if (selectedId) selected = orders.find((o) => o.id === selectedId) ?? selected;
      if (selected && selected.id === selectedId && payOrderId !== selected.id) resetPay();
      if (selected && selected.status === "completed") await loadRefunds();
      error = "";
      await settleOutcome();
    } catch (err) { error = ctx.describe(err); }
    drawWhenReleased(); // a live event's refresh must not swallow a tap on a row (common/press.js)
  }

  async function loadShift() {
    try { shiftOpen = Boolean((await ctx.api.get("/api/v1/shifts/current", { retries: 0 }))?.id); }
    catch (err) { shiftOpen = err.status === 404 ? false : shiftOpen; }
  }

  async function loadSettings() {
    try { paySettings = await ctx.api.get("/api/v1/payments/settings", { retries: 1 }); }
    catch { paySettings = paySettings ?? null; }
  }

  async function loadMenu() {
    try { await ctx.loadMenu(); } catch { /* names fall back to the order's own */ }
  }

  async function loadRefunds() {
    try { refunds = (await ctx.api.get(`/api/v1/orders/${encodeURIComponent(selected.id)}/refunds`)).items; }
    catch (err) { refunds = []; error = ctx.describe(err); }
  }

  async function select(id) {
    selectedId = id;
    lastChange = null; qrResult = "";
    if (outcome?.orderId !== id) outcome = null;
    try {
      const order = await ctx.api.get(`/api/v1/orders/${encodeURIComponent(id)}`);
      if (selectedId !== id) return; // another order was opened meanwhile: its select draws
      selected = order;
      if (selected.status === "completed") await loadRefunds(); else await (await useQr()).load(id);
      error = "";
    } catch (err) { error = ctx.describe(err); }
    if (selectedId !== id) return;
    // A live refresh may have shown this order's form while it loaded (the QR module comes on
    // first use) and the cashier may already be filling it in: keep that, do not wipe it.
    if (payOrderId !== id) resetPay();
    draw();
  }

  function due(o) { return Math.max(0, o.total - (o.paid ?? 0)); }
  function resetPay() {
    pay = { method: "cash", amount: selected ? String(due(selected)) : "", tendered: "", reference: "",
      channel: paySettings?.ewallet_channels?.[0] ?? "" };
    payKey = newKey();
    payOrderId = selected?.id ?? null;
  }

  /** A payment whose answer never came: once the edge answers again, read the order and say
   * whether the payment is on it (a payment that was not there before, same method and amount). */
  async function settleOutcome() {
    if (outcome?.kind !== "unknown" || reachability.online === false) return;
    const o = await ctx.api.get(`/api/v1/orders/${encodeURIComponent(outcome.orderId)}`, { retries: 0 });
    const made = (o.payments ?? []).find((p) => !outcome.before.includes(p.id)
      && p.method === outcome.method && p.amount === outcome.amount);
    outcome = { ...outcome, kind: made ? "back_done" : "back_none" };
    if (made) { lastChange = made.change ?? 0; resetPay(); }
    if (selectedId === o.id) selected = o;
  }

  reachability.addEventListener("change", () => {
    if (reachability.online && el && outcome?.kind === "unknown") refresh();
  });

  let timer = null;
  function onLiveEvent(ev) {
    if (ev.type === "payment_attempt" && ev.data?.order_id === selectedId && ev.data.status === "pending"
        && !qr?.tracks(ev.data.id)) {
      // a QR opened elsewhere (the kiosk, another till)
      useQr().then((q) => q.load(selectedId)).then(drawPane, () => {});
    } else qr?.onLiveEvent(ev);
    if (ev.topic !== "orders" || !el) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 150); // coalesce bursts of status changes
  }

  // ---------------------------------------------------------------- the list

  function matches(o, q) {
    if (!q) return true;
    const needle = q.toLowerCase().replace(/^#/, "");
    if (/^\d+$/.test(needle) && String(o.number) === needle) return true;
    return [o.customer_name, o.table].some((s) => s && s.toLowerCase().includes(q.toLowerCase()));
  }

  function shown() {
    const q = listMode === "open" ? query.trim() : ""; // history is searched by the edge
    return orders.filter((o) => matches(o, q) && (listMode !== "open" || filter === "all"
      || (filter === "unpaid" && due(o) > 0) || (filter === "ready" && o.status === "ready")));
  }

  function itemsSummary(o) {
    return o.lines.filter((l) => l.state !== "voided").map((l) => `${l.qty}× ${ctx.lineName(l)}`).join(", ");
  }

  function where(o) {
    const bits = [];
    if (o.table) bits.push(`<span class="table" data-testid="card-table">${esc(t("order.table", { t: o.table }))}</span>`);
    if (o.split_part) bits.push(`<span class="badge split" data-testid="card-split">${esc(t("order.split", { p: o.split_part }))}</span>`);
    if (o.customer_name) bits.push(`<span class="customer">${esc(o.customer_name)}</span>`);
    return bits.join(" · ");
  }

  function listItem(o) {
    const paid = (o.paid ?? 0) >= o.total;
    const time = outletTime(o.created_at, ctx.i18n.lang(), { hour: "2-digit", minute: "2-digit" });
    return `<button class="order-card" data-action="select" data-id="${esc(o.id)}" aria-current="${o.id === selectedId}" data-testid="open-order">
        <span class="num">#${o.number}</span>
        <span class="who">${where(o) || esc(t(`type.short.${o.type}`))}</span>
        <span class="money total">${ctx.money(o.total)}</span>
        <span class="items muted" data-testid="card-items">${esc(itemsSummary(o))}</span>
        <span class="badge pay ${paid ? "paid" : "unpaid"}" data-testid="card-paid">${o.refunded ? t("refund.open") : paid ? t("order.paid") : t("order.unpaid")}</span>
        <span class="meta muted">${where(o) ? `${esc(t(`type.short.${o.type}`))} · ` : ""}${esc(time)}${o.source ? ` · ${esc(o.source)}` : ""}</span>
        <span class="badge state ${o.status === "ready" ? "ready" : ""}">${t(`status.${o.status}`)}</span>
      </button>`;
  }

  function rowsHtml() {
    const list = shown();
    if (list.length) return list.map(listItem).join("");
    if (query.trim() && orders.length) return `<p class="muted" data-testid="no-match">${esc(t("list.no_match", { q: query.trim() }))}</p>`;
    return `<p class="muted">${t(listMode === "open" ? "orders.none" : "orders.none_done")}</p>`;
  }

  function filtersHtml() {
    if (listMode !== "open") return "";
    const count = { all: orders.length, unpaid: orders.filter((o) => due(o) > 0).length,
      ready: orders.filter((o) => o.status === "ready").length };
    return `<div class="methods filters" role="group" aria-label="${t("list.filter")}">${["all", "unpaid", "ready"].map((f) =>
      `<button data-action="filter" data-filter="${f}" aria-pressed="${filter === f}" data-testid="filter-${f}">${t(`list.${f}`)} <span class="count">${count[f]}</span></button>`).join("")}</div>`;
  }

  function drawRows() {
    const rows = el?.querySelector("[data-slot=rows]");
    if (rows) rows.innerHTML = rowsHtml();
    const f = el?.querySelector("[data-slot=filters]");
    if (f) f.innerHTML = filtersHtml();
  }

  // ---------------------------------------------------------------- the order

  function totals(o) {
    const unit = ctx.roundingUnit();
    const rows = [["total.subtotal", o.subtotal]];
    if (o.discount) rows.push(["total.discount", -o.discount]);
    if (o.service_charge) rows.push(["total.service", o.service_charge]);
    if (o.tax) rows.push(["total.tax", o.tax]);
    const rounding = o.rounding || unit > 1
      ? `<span>${unit > 1 ? t("total.rounding_unit", { unit: groupDigits(unit) }) : t("total.rounding")}</span><span class="money" data-testid="order-rounding">${ctx.money(o.rounding)}</span>` : "";
    return `<div class="totals">${rows.map(([k, v]) => `<span>${t(k)}</span><span class="money">${ctx.money(v)}</span>`).join("")}${rounding}
      <span class="grand">${t("total.total")}</span><span class="grand money" data-testid="order-total">${ctx.money(o.total)}</span>
      <span>${t("total.paid")}</span><span class="money">${ctx.money(o.paid ?? 0)}</span>
      <span class="grand">${t("total.due")}</span><span class="grand money" data-testid="order-due">${ctx.money(due(o))}</span>
      ${o.refunded ? `<span>${t("refund.list")}</span><span class="money" data-testid="order-refunded">-${ctx.money(o.refunded)}</span>` : ""}</div>`;
  }

  /** What blocks the payment in the form now (a sentence), or "". */
  function payProblem(o) {
    const amount = Number(pay.amount || 0);
    if (amount <= 0) return t("pay.zero");
    if (amount > due(o)) return t("pay.over", { due: ctx.money(due(o)) });
    if (pay.method === "cash" && pay.tendered !== "" && Number(pay.tendered) < amount) {
      return t("pay.short", { short: ctx.money(amount - Number(pay.tendered)) });
    }
    return "";
  }

  function cashStatus(o) {
    const problem = payProblem(o);
    if (problem) return `<p class="pay-warning" role="alert" data-testid="pay-warning">${esc(problem)}</p>`;
    if (pay.method !== "cash") return "";
    if (pay.tendered === "") return `<p class="muted" data-testid="pay-exact">${t("pay.exact_note")}</p>`;
    return `<p>${t("pay.change")}: <span class="change money" data-testid="pay-change">${ctx.money(Number(pay.tendered) - Number(pay.amount || 0))}</span></p>`;
  }

  function payForm(o) {
    if (shiftOpen === false) return `<p class="error" role="alert">${t("shift.needed")}</p>
      <button class="primary" data-action="to-shift">${t("shift.open")}</button>`;
    const amount = Number(pay.amount || 0);
    const method = (m, off = false) => `<button type="button" data-action="method" data-method="${m}" aria-pressed="${pay.method === m}"
      ${off ? `disabled title="${t("pay.qris_off")}"` : ""}>${t(`pay.${m}`)}</button>`;
    const qrisOff = paySettings !== null && paySettings.provider === "none" && !paySettings.static_qris;
    const channels = paySettings?.ewallet_channels ?? [];
    const gateway = pay.method === "qris" || pay.method === "ewallet";
    const quick = `<button type="button" data-action="tender-exact" data-testid="tender-exact">${t("pay.exact")}</button>${
      NOTES.map((v) => `<button type="button" data-action="tender-add" data-value="${v}" aria-label="${esc(t("pay.add_note_label", { amount: ctx.money(v) }))}" data-testid="tender-${v}">${esc(t("pay.add_note", { amount: ctx.money(v) }))}</button>`).join("")}
      <button type="button" data-action="tender-clear">${t("pay.clear")}</button>`;
    const problem = payProblem(o);
    return `<form class="pay-form card" data-testid="pay-form">
      <h3>${t("pay.title")}</h3>
      <div class="methods" role="group" aria-label="${t("pay.method")}">${method("cash")}${method("card")}${method("qris", qrisOff)}${
        channels.length && paySettings.provider !== "none" ? method("ewallet") : ""}</div>
      <label>${t("pay.amount")} (${t("pay.remaining")}: ${ctx.money(due(o))})
        <span class="rp-input"><span aria-hidden="true">Rp</span><input name="amount" inputmode="numeric" autocomplete="off" value="${esc(groupDigits(pay.amount))}" data-testid="pay-amount"></span></label>
      ${pay.method === "cash" ? `
        <label>${t("pay.tendered")}<span class="rp-input"><span aria-hidden="true">Rp</span><input name="tendered" inputmode="numeric" autocomplete="off" value="${esc(groupDigits(pay.tendered))}" data-testid="pay-tendered"></span></label>
        <div class="quick">${quick}</div>` : gateway ? `
        ${pay.method === "ewallet" ? `<div class="methods" role="group" aria-label="${t("pay.ewallet")}">${channels.map((c) =>
          `<button type="button" data-action="channel" data-channel="${esc(c)}" aria-pressed="${pay.channel === c}">${esc(channelName(c))}</button>`).join("")}</div>` : ""}
        ${qr?.mobileField(pay) ?? ""}` : `
        <p class="muted">${t("pay.card_hint", { amount: `<strong class="money" data-testid="card-amount">${ctx.money(amount)}</strong>` })}</p>
        <label>${t("pay.reference")}<input name="reference" autocomplete="off" value="${esc(pay.reference)}" data-testid="pay-reference" required></label>`}
      <div data-slot="cash-status">${cashStatus(o)}</div>
      <button class="primary big" type="submit" data-testid="pay-submit" ${problem ? "disabled" : ""}>${gateway ? t("pay.qr_show") : t("pay.submit")}</button>
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

  function outcomeHtml(o) {
    if (outcome?.orderId !== o.id) return "";
    const amount = ctx.money(outcome.amount);
    const text = outcome.kind === "unknown" ? t("out.pay_unknown", { amount })
      : outcome.kind === "refused" ? t("out.pay_refused", { amount, why: outcome.why })
      : outcome.kind === "back_none" ? t("out.pay_back_none", { amount }) : t("out.pay_back_done", { amount });
    const good = outcome.kind === "back_done";
    return `<p class="card outcome ${good ? "good" : "bad"}" role="alert" data-testid="pay-outcome" data-kind="${outcome.kind}">${esc(text)}</p>`;
  }

  function lineHtml(l) {
    const off = l.state === "voided";
    return `<li class="${off ? "voided" : ""}" data-testid="order-line"><span>${l.qty} × <span data-testid="line-name">${esc(ctx.lineName(l))}</span>${l.state === "held" ? ` <span class="badge">${esc(l.course || "…")}</span>` : ""}</span><span class="money">${ctx.money(l.line_total)}</span>
        ${l.modifiers?.length ? `<span class="mods muted" data-testid="line-mods">${l.modifiers.map((m) => esc(ctx.modName(m))).join(", ")}</span>` : ""}
        ${l.discount ? `<span class="mods">${t("total.discount")} -${ctx.money(l.discount)}</span>` : ""}
        ${l.note ? `<span class="mods"><em>${esc(l.note)}</em></span>` : ""}</li>`;
  }

  function detail() {
    const o = selected;
    if (!o) return `<p class="muted">${orders.length ? "" : t(listMode === "open" ? "orders.none" : "orders.none_done")}</p>`;
    const open = OPEN.includes(o.status);
    const result = qrResult || (lastChange === null ? "" : due(o) > 0
      ? t("pay.partial", { due: ctx.money(due(o)) })
      : t("pay.done", { change: ctx.money(lastChange) }));
    const refundable = o.status === "completed" && (o.paid ?? 0) - (o.refunded ?? 0) > 0;
    const qrOpen = Boolean(qr?.shownFor(o.id));
    // Offer only what the order's state allows (the edge refuses the rest).
    const handOver = canHandOver(o);
    const handHint = open && !handOver ? (due(o) === 0 ? t("handover.wait_kitchen") : o.status === "ready" ? t("handover.pay_first") : "") : "";
    return `<div class="order-info"><h2 data-testid="order-title">${t("order.number", { n: o.number })} <span class="badge">${t(`status.${o.status}`)}</span>
        <span class="badge">${t(`type.short.${o.type}`)}</span></h2>
      ${where(o) ? `<p class="where" data-testid="order-where">${where(o)}</p>` : ""}
      ${result ? `<p class="card" role="status" data-testid="pay-result" style="font-size:1.4rem;font-weight:800">${esc(result)}</p>` : ""}
      ${outcomeHtml(o)}
      <ul class="lines">${o.lines.map(lineHtml).join("")}</ul>${totals(o)}
      ${o.discount_reason ? `<p class="muted">${t("total.discount")}: ${esc(o.discount_reason)}</p>` : ""}
      ${o.payments?.length ? `<ul class="lines" aria-label="${t("pay.title")}">${o.payments.map(paymentRow).join("")}</ul>` : ""}
      ${o.status === "completed" && refunds.length ? `<h3>${t("refund.list")}</h3><ul class="lines" data-testid="refunds">${refunds.map(refundRow).join("")}</ul>` : ""}
      ${handHint ? `<p class="muted" data-testid="handover-hint">${esc(handHint)}</p>` : ""}
      <div class="actions">
        ${open && handOver ? `<button class="primary" data-action="complete" data-testid="complete">${t("order.complete")}</button>` : ""}
        <button data-action="reprint" data-testid="reprint">${t("order.reprint")}</button>
        ${open && !qrOpen && due(o) > 0 ? `<button data-action="discount" data-testid="discount">${t("discount.open")}</button>` : ""}
        ${open && !qrOpen ? `<button class="danger" data-action="void" data-testid="void">${t("void.open")}</button>` : ""}
        ${refundable ? `<button class="primary" data-action="refund" data-testid="refund-open">${t("refund.open")}</button>` : ""}
      </div></div>
      ${qrOpen ? `<div class="order-pay">${qr.panel(o)}</div>`
        : open && due(o) > 0 ? `<div class="order-pay">${payForm(o)}</div>` : ""}`;
  }

  function drawPane() {
    const pane = el?.querySelector("[data-slot=pane]");
    if (!pane) return;
    const active = document.activeElement;
    const focused = pane.contains(active) ? active.name : null;
    const caret = focused ? active.selectionStart : null;
    pane.innerHTML = `${error ? `<p class="error" role="alert">${esc(error)}</p>` : ""}${detail()}`;
    const input = focused && pane.querySelector(`input[name="${focused}"]`);
    if (input) { input.focus(); try { input.setSelectionRange(caret, caret); } catch { /* not a text input */ } }
  }

  function draw() {
    if (!el) return;
    if (!el.querySelector("[data-slot=rows]")) {
      el.innerHTML = `<div class="split">
        <section class="list" aria-label="${t("orders.open")}" data-testid="order-list">
          <div class="list-tools">
            <div class="methods list-modes" role="group">
              <button data-action="list" data-mode="open" aria-pressed="${listMode === "open"}">${t("orders.open")}</button>
              <button data-action="list" data-mode="completed" aria-pressed="${listMode === "completed"}" data-testid="list-completed">${t("orders.done_list")}</button>
              <button data-action="refresh" aria-label="${t("orders.refresh")}" title="${t("orders.refresh")}">⟳</button></div>
            <input type="search" name="q" class="search" placeholder="${esc(t("list.search"))}" aria-label="${esc(t("list.search"))}"
              value="${esc(query)}" maxlength="50" autocomplete="off" data-testid="order-search">
            <div data-slot="filters"></div>
          </div>
          <div class="rows" data-slot="rows"></div>
        </section>
        <section class="pane order-pane" aria-live="polite" data-slot="pane"></section>
      </div>`;
    }
    drawRows();
    drawPane();
  }

  // ---------------------------------------------------------------- payment

  function editPay(field, value) {
    if (pay[field] === value) return;
    pay[field] = value;
    payKey = newKey(); // another body under the old key would be refused (409)
  }

  async function submitPayment() {
    const o = selected;
    if (payProblem(o)) { drawPane(); return; }
    if (pay.method === "qris" || pay.method === "ewallet") {
      let flow;
      try { flow = await useQr(); } catch (err) { error = ctx.describe(err); drawPane(); return; }
      // A QR for this amount (all that is owed, or a part: the rest by another method).
      const body = { method: pay.method, amount: Number(pay.amount), channel: pay.method === "ewallet" ? pay.channel : "",
                     ...flow.extraBody(pay) };
      lastChange = null; qrResult = ""; error = ""; outcome = null;
      if (await flow.start(o, body, payKey)) resetPay();
      return;
    }
    const body = { method: pay.method, amount: Number(pay.amount) };
    if (pay.method === "cash") body.tendered = Number(pay.tendered || pay.amount);
    else body.reference = pay.reference.trim();
    const before = (o.payments ?? []).map((p) => p.id);
    const submit = el.querySelector("[data-testid=pay-submit]");
    if (submit) submit.disabled = true;
    try {
      // The key makes a repeat safe: the edge records a payment once per key and answers a
      // repeat with the order as it is now. So a payment whose answer was lost (timeout,
      // edge restart) is re-sent by the client with the same key, and if every retry fails
      // the form keeps the key: pressing Pay again cannot take the money twice either.
      selected = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(o.id)}/payments`, body,
        { idempotencyKey: payKey, retries: 2, timeoutMs: 8000 });
      const made = selected.payments?.[selected.payments.length - 1];
      lastChange = made?.change ?? 0; qrResult = "";
      error = ""; outcome = null;
      resetPay();
      refresh();
    } catch (err) {
      lastChange = null;
      if (err.isNetwork) {
        // No answer: the edge may or may not have it. Say so, keep the key, check when it is back.
        outcome = { orderId: o.id, kind: "unknown", amount: body.amount, method: body.method, before };
      } else {
        outcome = { orderId: o.id, kind: "refused", amount: body.amount, method: body.method, before,
          why: ctx.describe(err) };
      }
      error = "";
      drawPane();
    }
  }

  function voidDialog() {
    const d = ctx.dialog;
    d.innerHTML = `<form class="dlg" data-testid="void-dialog">
        <h2 id="dlg-title">${t("void.title")} #${selected.number}</h2>
        <p class="void-warning">${t("void.warning")}</p>
        <label>${t("void.reason")}<input name="reason" required maxlength="200"></label>
        <label>${t("void.manager_pin")}<input name="pin" type="password" inputmode="numeric" required autocomplete="off" maxlength="12"></label>
        <p class="error" role="alert"></p>
        <div class="row dlg-buttons"><button type="button" value="cancel" data-close data-testid="void-back">${t("void.back")}</button>
        <button class="danger" type="submit" data-testid="void-submit">${t("void.submit")}</button></div></form>`;
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
      } catch (err) {
        out.textContent = err.status === 401 ? t("login.wrong_pin") : ctx.failed("act.void", err);
      }
    };
  }

  async function onClick(ev) {
    const btn = ev.target.closest("button[data-action], button[data-qr]");
    if (!btn || btn.disabled) return;
    const a = btn.dataset.action;
    if (selected && qr?.onClick(btn, selected)) return;
    try {
      if (a === "select") await select(btn.dataset.id);
      else if (a === "list") {
        listMode = btn.dataset.mode; selectedId = null; selected = null;
        el.querySelectorAll("[data-action=list]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === listMode)));
        await refresh();
      }
      else if (a === "filter") { filter = btn.dataset.filter; drawRows(); }
      else if (a === "channel") { editPay("channel", btn.dataset.channel); drawPane(); }
      else if (a === "discount") (await dialogs()).discountDialog(ctx, selected, (o) => { selected = o; refresh(); });
      else if (a === "refund") (await dialogs()).refundDialog(ctx, selected, refunds, async () => { await refresh(); });
      else if (a === "refund-retry") {
        const failed = refunds.find((r) => r.id === btn.dataset.id);
        if (failed) (await dialogs()).retryRefundDialog(ctx, selected, failed, async () => { await refresh(); });
      }
      else if (a === "refresh") await refresh();
      else if (a === "method") { editPay("method", btn.dataset.method); drawPane(); }
      else if (a === "tender-exact") { editPay("tendered", digitsOf(pay.amount)); drawPane(); }
      else if (a === "tender-add") { editPay("tendered", String(Number(pay.tendered || 0) + Number(btn.dataset.value))); drawPane(); }
      else if (a === "tender-clear") { editPay("tendered", ""); drawPane(); }
      else if (a === "to-shift") ctx.go("shift");
      else if (a === "void") voidDialog();
      else if (a === "reprint") {
        try {
          await ctx.api.post(`/api/v1/orders/${encodeURIComponent(selected.id)}/print`, { kind: "receipt" });
          ctx.toast(t("print.sent"));
        } catch (err) { error = ctx.failed("act.reprint", err); drawPane(); }
      } else if (a === "complete") {
        try {
          selected = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(selected.id)}/complete`, undefined);
          error = "";
        } catch (err) { error = ctx.failed("act.complete", err); }
        await refresh();
      }
    } catch (err) { error = ctx.describe(err); drawPane(); }
  }

  /** Keep "148.995" grouped while typing, the caret staying before the same digits. */
  function regroup(input) {
    const old = input.value, pos = input.selectionStart ?? old.length;
    const digitsRight = old.slice(pos).replace(/\D/g, "").length;
    const digits = digitsOf(old);
    const shownText = groupDigits(digits);
    if (shownText !== old) {
      input.value = shownText;
      let caret = shownText.length, seen = 0;
      while (caret > 0 && seen < digitsRight) { caret--; if (/\d/.test(shownText[caret])) seen++; }
      try { input.setSelectionRange(caret, caret); } catch { /* not focused */ }
    }
    return digits;
  }

  function onInput(ev) {
    const { name } = ev.target;
    if (name === "q") {
      query = ev.target.value;
      if (listMode === "open") drawRows();
      else { clearTimeout(searchTimer); searchTimer = setTimeout(refresh, 250); }
      return;
    }
    if (!(name in pay)) return;
    editPay(name, name === "reference" ? ev.target.value : regroup(ev.target));
    if (name !== "reference" && selected) {
      // Update the change and the warnings live without re-rendering the input being typed in.
      const slot = el.querySelector("[data-slot=cash-status]");
      if (slot) slot.innerHTML = cashStatus(selected);
      const submit = el.querySelector("[data-testid=pay-submit]");
      if (submit) submit.disabled = Boolean(payProblem(selected));
      const card = el.querySelector("[data-testid=card-amount]");
      if (card) card.textContent = ctx.money(Number(pay.amount || 0));
    }
  }

  return {
    async mount(target) {
      el = target;
      el.addEventListener("click", onClick);
      el.addEventListener("input", onInput);
      el.addEventListener("submit", (ev) => { ev.preventDefault(); submitPayment(); });
      draw();
      await Promise.all([loadShift(), loadSettings(), loadMenu()]);
      await refresh();
    },
    async refresh() { await refresh(); await qr?.refresh(); },
    onLiveEvent,
    /** Select an order from elsewhere (after a counter order is placed). */
    async show(id) { ctx.go("orders"); await select(id); },
  };
}
