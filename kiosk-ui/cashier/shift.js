// The till's shift: open with a counted float, cash in/out, X report while open, close with
// the counted cash and show expected vs counted and the difference (Z report).
export function shiftView(ctx) {
  const { t, esc } = ctx;
  let el = null, shift = null, report = null, closed = null, error = "", loaded = false;

  async function refresh() {
    try {
      shift = await ctx.api.get("/api/v1/shifts/current", { retries: 0 });
      report = shift?.id ? await ctx.api.get(`/api/v1/shifts/${encodeURIComponent(shift.id)}/report`) : null;
      error = "";
    } catch (err) {
      if (err.status === 404) { shift = null; report = null; } else error = ctx.describe(err);
    }
    loaded = true;
    draw();
  }

  const amount = (v) => Number(String(v ?? "").replace(/\D/g, "") || 0);

  function reportHtml(r) {
    const row = (label, value, strong = false, id = "") =>
      `<span class="${strong ? "strong" : ""}">${label}</span><span class="money ${strong ? "strong" : ""}" ${id ? `data-testid="${id}"` : ""}>${value}</span>`;
    const methods = Object.entries(r.sales_by_method || {}).map(([m, v]) => row(t(`pay.${m}`), ctx.money(v))).join("");
    return `<div class="report card" data-testid="shift-report"><h3 style="grid-column:1/-1">${t("shift.report")} (${esc(r.kind)})</h3>
      ${row(t("shift.float"), ctx.money(r.shift.opening_float))}
      ${methods}
      ${row(t("shift.cash_in"), ctx.money(r.cash_in))}${row(t("shift.cash_out"), ctx.money(r.cash_out))}
      ${row(t("shift.orders"), r.order_count)}${row(t("shift.voids"), `${r.void_count} · ${ctx.money(r.void_amount)}`)}
      ${row(t("shift.expected"), ctx.money(r.expected_cash), true, "expected-cash")}
      ${r.counted_cash != null ? row(t("shift.counted"), ctx.money(r.counted_cash), true, "counted-cash") : ""}
      ${r.difference != null ? row(t("shift.difference"), ctx.money(r.difference), true, "cash-difference") : ""}</div>`;
  }

  function draw() {
    if (!el) return;
    let body;
    if (!loaded) body = `<p class="muted">…</p>`;
    else if (!shift?.id) {
      body = `${closed ? `<section aria-live="polite" style="margin-bottom:1rem"><h2>${t("shift.closed")}</h2>${reportHtml(closed)}</section>` : ""}
        <form class="card pay-form" data-form="open" data-testid="shift-open">
        <h2>${t("shift.none")}</h2>
        <label>${t("shift.float")}<input name="float" inputmode="numeric" required data-testid="shift-float"></label>
        <button class="primary big" type="submit">${t("shift.open")}</button></form>`;
    } else {
      body = `<h2>${t("shift.title")} · ${t("shift.opened_at")} ${new Date(shift.opened_at).toLocaleString(ctx.i18n.lang())}</h2>
        ${report ? reportHtml(report) : ""}
        <form class="card pay-form" data-form="movement" style="margin-top:1rem">
          <div class="methods" role="radiogroup"><label><input type="radio" name="direction" value="in" checked style="width:auto;min-height:auto"> ${t("shift.cash_in")}</label>
          <label><input type="radio" name="direction" value="out" style="width:auto;min-height:auto"> ${t("shift.cash_out")}</label></div>
          <label>${t("pay.amount")}<input name="amount" inputmode="numeric" required></label>
          <label>${t("shift.movement_reason")}<input name="reason" required maxlength="200"></label>
          <button type="submit">${t("shift.cash_in")} / ${t("shift.cash_out")}</button></form>
        <form class="card pay-form" data-form="close" data-testid="shift-close" style="margin-top:1rem">
          <label>${t("shift.counted")}<input name="counted" inputmode="numeric" required data-testid="shift-counted"></label>
          <button class="primary big" type="submit">${t("shift.close")}</button></form>`;
    }
    el.innerHTML = `<section class="pane" style="max-width:48rem">${error ? `<p class="error" role="alert">${esc(error)}</p>` : ""}${body}</section>`;
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    const f = ev.target;
    try {
      if (f.dataset.form === "open") {
        closed = null;
        await ctx.api.post("/api/v1/shifts", { opening_float: amount(f.float.value) });
      } else if (f.dataset.form === "movement") {
        await ctx.api.post(`/api/v1/shifts/${encodeURIComponent(shift.id)}/cash-movements`,
          { direction: f.direction.value, amount: amount(f.amount.value), reason: f.reason.value.trim() });
      } else if (f.dataset.form === "close") {
        const done = await ctx.api.post(`/api/v1/shifts/${encodeURIComponent(shift.id)}/close`, { counted_cash: amount(f.counted.value) });
        closed = await ctx.api.get(`/api/v1/shifts/${encodeURIComponent(done.id)}/report`);
      }
      error = "";
    } catch (err) { error = ctx.describe(err); }
    await refresh();
  }

  return {
    async mount(target) {
      el = target;
      el.addEventListener("submit", onSubmit);
      draw();
      await refresh();
    },
    refresh,
  };
}
