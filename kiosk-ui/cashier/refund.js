// The till's two money-changing dialogs that need a manager:
// * discount: on the whole order or one line, percent or amount, with a reason from head
//   office's list (GET /api/v1/me -> outlet.discount_reasons); above the outlet's threshold a
//   manager approves with their PIN (X-Manager-PIN on that one request);
// * refund of a handed-over order: whole or by item, in cash, on the card terminal, or back
//   through the gateway that took a QRIS / e-wallet payment; always a manager's approval.
// * retry of a gateway refund that failed (the gateway refused or could not be reached):
//   the edge asks the gateway again with the refund's own id as its key, so it never gives
//   back twice; a manager approves.
// A manager logged in approves by themselves (no PIN asked). Each refund body gets its own
// Idempotency-Key, so a retried send never gives money back twice.
import { newKey } from "../common/api.js";

const GATEWAYS = ["midtrans", "xendit"];

let outletRules = null; // {discount_reasons, discount_approval_percent}, read once per page
async function rules(ctx) {
  if (!outletRules) {
    const me = await ctx.api.get("/api/v1/me", { retries: 1 });
    outletRules = { reasons: me.outlet?.discount_reasons ?? [], percent: me.outlet?.discount_approval_percent ?? null };
  }
  return outletRules;
}

const isManager = (ctx) => ctx.session?.staff?.role === "manager";

function pinField(ctx, hint) {
  if (isManager(ctx)) return `<p class="muted">${ctx.t("approval.self")}</p>`;
  return `<p class="muted">${hint}</p>
    <label>${ctx.t("void.manager_pin")}<input name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="12"></label>`;
}

function approvalError(ctx, err) {
  if (err.status === 403 && err.details?.approval === "manager") return ctx.t("approval.refused");
  if (err.status === 403 && err.details?.permission) return ctx.t("approval.needed");
  return ctx.describe(err);
}

function open(ctx, html, onSubmit) {
  const d = ctx.dialog;
  d.innerHTML = html;
  d.showModal();
  const form = d.querySelector("form");
  d.querySelector("[data-close]").onclick = () => d.close();
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const out = form.querySelector(".error");
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try { out.textContent = (await onSubmit(form)) ?? ""; }
    catch (err) { out.textContent = approvalError(ctx, err); }
    finally { submit.disabled = false; }
  };
  return form;
}

const headers = (form) => (form.pin?.value.trim() ? { "X-Manager-PIN": form.pin.value.trim() } : {});

/** Discount an open order (or one of its lines). `done(order)` gets the re-priced order. */
export async function discountDialog(ctx, order, done) {
  const { t, esc } = ctx;
  let r;
  try { r = await rules(ctx); } catch (err) { ctx.toast(ctx.describe(err)); return; }
  const reason = r.reasons.length
    ? `<select name="reason" required>${r.reasons.map((x) => `<option>${esc(x)}</option>`).join("")}</select>`
    : `<input name="reason" required maxlength="200">`;
  const hint = r.percent === null ? t("discount.approval_always") : t("discount.approval_above", { p: r.percent });
  open(ctx, `<form class="dlg" data-testid="discount-dialog">
      <h2 id="dlg-title">${t("discount.title", { n: order.number })}</h2>
      <label>${t("discount.target")}<select name="target">
        <option value="">${t("discount.whole")} · ${ctx.money(order.subtotal)}</option>
        ${order.lines.map((l) => `<option value="${esc(l.id)}">${l.qty} × ${esc(l.name)} · ${ctx.money(l.line_total)}</option>`).join("")}</select></label>
      <div class="row"><label style="flex:1">${t("discount.value")}<input name="value" inputmode="numeric" required maxlength="14" data-testid="discount-value"></label>
        <label style="flex:1">&nbsp;<select name="kind"><option value="percent">${t("discount.percent")} (%)</option>
          <option value="amount">${t("discount.amount")} (Rp)</option></select></label></div>
      <p class="muted">${t("discount.zero")}</p>
      <label>${t("discount.reason")}${reason}</label>
      ${pinField(ctx, hint)}
      <p class="error" role="alert"></p>
      <div class="row"><button type="button" data-close>${t("sheet.cancel")}</button>
      <button class="primary" type="submit">${t("discount.submit")}</button></div></form>`,
  async (form) => {
    const value = Number(form.value.value.replace(/\D/g, "") || 0);
    const body = { reason: form.reason.value.trim(), [form.kind.value]: value };
    if (form.target.value) body.line_id = form.target.value;
    const updated = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(order.id)}/discount`, body,
      { headers: headers(form), retries: 0 });
    ctx.dialog.close();
    ctx.toast(t("discount.done"));
    done(updated);
  });
}

/** Refund a handed-over order. `refunds` are its refunds so far; `done()` after a refund. */
export function refundDialog(ctx, order, refunds, done) {
  const { t, esc } = ctx;
  const left = (order.paid ?? 0) - (order.refunded ?? 0);
  const taken = {};
  for (const r of refunds) if (r.status !== "failed") for (const l of r.lines ?? []) taken[l.line_id] = (taken[l.line_id] ?? 0) + l.qty;
  const ways = [["cash", "", t("pay.cash")]];
  if (order.payments.some((p) => p.method === "card")) ways.push(["card", "", t("pay.card")]);
  for (const p of order.payments) {
    if (GATEWAYS.includes(p.gateway)) {
      ways.push([p.method, p.id, `${t("refund.via", { method: t(`pay.${p.method}`), gateway: esc(p.gateway) })} · ${ctx.money(p.amount)}`]);
    }
  }
  let sent = null; // {body json, key}: one key per distinct refund
  const form = open(ctx, `<form class="dlg" data-testid="refund-dialog">
      <h2 id="dlg-title">${t("refund.title", { n: order.number })}</h2>
      <p>${t("refund.refundable")}: <strong class="money" data-testid="refundable">${ctx.money(left)}</strong></p>
      <div class="methods" role="group">
        <label class="choice"><input type="radio" name="scope" value="whole" checked> ${t("refund.whole")}</label>
        <label class="choice"><input type="radio" name="scope" value="lines" data-testid="refund-by-line"> ${t("refund.by_line")}</label></div>
      <fieldset class="refund-lines" hidden>${order.lines.map((l) => {
        const max = l.qty - (taken[l.id] ?? 0);
        return `<label class="row">${esc(l.name)} <span class="muted">(${max}/${l.qty})</span><span class="spacer"></span>
          <input type="number" name="line" data-id="${esc(l.id)}" min="0" max="${max}" value="0" ${max ? "" : "disabled"} style="width:6rem"></label>`;
      }).join("")}</fieldset>
      <label>${t("refund.method")}<select name="way" data-testid="refund-method">${ways.map(([m, id, label], i) =>
        `<option value="${i}" ${id ? `data-payment="${esc(id)}"` : ""}>${label}</option>`).join("")}</select></label>
      <label>${t("refund.reason")}<input name="reason" required maxlength="200"></label>
      ${pinField(ctx, t("approval.pin_hint"))}
      <p class="error" role="alert"></p>
      <div class="row"><button type="button" data-close>${t("sheet.cancel")}</button>
      <button class="primary" type="submit">${t("refund.submit")}</button></div></form>`,
  async (f) => {
    const [method, paymentId] = ways[Number(f.way.value)];
    const body = { method, reason: f.reason.value.trim() };
    if (paymentId) body.payment_id = paymentId;
    if (f.scope.value === "lines") {
      body.lines = [...f.querySelectorAll("input[name=line]")]
        .map((i) => ({ line_id: i.dataset.id, qty: Number(i.value) })).filter((l) => l.qty > 0);
      if (!body.lines.length) return t("refund.pick_line");
    }
    const json = JSON.stringify(body);
    if (sent?.json !== json) sent = { json, key: newKey() };
    const refund = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(order.id)}/refunds`, body,
      { headers: headers(f), idempotencyKey: sent.key, retries: 2, timeoutMs: 15000 });
    await done();
    if (refund.status === "failed") {
      sent = null;
      return t("refund.failed", { error: refund.error });
    }
    ctx.dialog.close();
    ctx.toast(t(refund.status === "pending" ? "refund.pending" : "refund.done", { amount: ctx.money(refund.amount) }));
    return "";
  });
  form.addEventListener("change", () => {
    form.querySelector(".refund-lines").hidden = form.scope.value !== "lines";
  });
}

/** Ask the gateway again for a failed gateway refund (`POST /refunds/{id}/retry`). */
export function retryRefundDialog(ctx, order, refund, done) {
  const { t, esc } = ctx;
  open(ctx, `<form class="dlg" data-testid="refund-retry-dialog">
      <h2 id="dlg-title">${t("refund.title", { n: order.number })}</h2>
      <p>${t("refund.retry_title", { amount: `<strong class="money">${ctx.money(refund.amount)}</strong>` })}
        · ${t(`pay.${refund.method}`)}${refund.gateway ? ` · ${esc(refund.gateway)}` : ""} · ${esc(refund.reason)}</p>
      ${refund.error ? `<p class="muted">${esc(refund.error)}</p>` : ""}
      ${pinField(ctx, t("approval.pin_hint"))}
      <p class="error" role="alert"></p>
      <div class="row"><button type="button" data-close>${t("sheet.cancel")}</button>
      <button class="primary" type="submit">${t("refund.retry_submit")}</button></div></form>`,
  async (f) => {
    // No resend on a lost answer: the refund is no longer "failed" then, and the list shows it.
    const answer = await ctx.api.post(`/api/v1/refunds/${encodeURIComponent(refund.id)}/retry`, undefined,
      { headers: headers(f), retries: 0, timeoutMs: 15000 }).finally(done);
    if (answer.status === "failed") return t("refund.failed", { error: answer.error });
    ctx.dialog.close();
    ctx.toast(t(answer.status === "pending" ? "refund.pending" : "refund.done", { amount: ctx.money(answer.amount) }));
    return "";
  });
}
