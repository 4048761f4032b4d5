// The till's shift: open with a counted float, cash in/out, X report while open, close with
// a blind count: the cashier counts the drawer and enters the total before seeing what the
// drawer should hold; the Z report then shows expected, counted and the difference. While
// the shift is open the X report keeps the drawer's figures (cash sales, expected cash) for
// a manager: a cashier who sees them could "count" to match.
import { outletTime } from "../common/clock.js";
import { sentence } from "./strings.js";

export function shiftView(ctx) {
  const { t, esc } = ctx;
  let el = null, shift = null, report = null, closed = null, error = "", message = "", loaded = false;
  let direction = "in";
  let submitted = false;  // a form just went through: its fields start empty again

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
  const grouped = (v) => { const d = String(v ?? "").replace(/\D/g, "").replace(/^0+(?=\d)/, ""); return d.replace(/\B(?=(\d{3})+(?!\d))/g, "."); };
  const isManager = () => ctx.session?.staff?.role === "manager";

  /** blind: the drawer's figures stay hidden (an open shift seen by a cashier). */
  function reportHtml(r, blind) {
    const row = (label, value, strong = false, id = "") =>
      `<span class="${strong ? "strong" : ""}">${label}</span><span class="money ${strong ? "strong" : ""}" ${id ? `data-testid="${id}"` : ""}>${value}</span>`;
    const methods = Object.entries(r.sales_by_method || {})
      .filter(([m]) => !blind || m !== "cash")
      .map(([m, v]) => row(t(`pay.${m}`), ctx.money(v))).join("");
    return `<div class="report card" data-testid="shift-report"><h3 style="grid-column:1/-1">${t("shift.report")} (${esc(r.kind)})</h3>
      ${row(t("shift.float"), ctx.money(r.shift.opening_float))}
      ${methods}
      ${row(t("shift.cash_in"), ctx.money(r.cash_in))}${row(t("shift.cash_out"), ctx.money(r.cash_out))}
      ${row(t("shift.orders"), r.order_count)}${row(t("shift.voids"), `${r.void_count} · ${ctx.money(r.void_amount)}`)}
      ${blind ? `<p class="muted" style="grid-column:1/-1;margin:.4rem 0 0" data-testid="blind-note">${t("shift.blind_report")}</p>`
        : row(t("shift.expected"), ctx.money(r.expected_cash), true, "expected-cash")}
      ${r.counted_cash != null ? row(t("shift.counted"), ctx.money(r.counted_cash), true, "counted-cash") : ""}
      ${r.difference != null ? row(t("shift.difference"), ctx.money(r.difference), true, "cash-difference") : ""}</div>`;
  }

  const seg = (value, label) => `<label class="seg"><input type="radio" name="direction" value="${value}" ${direction === value ? "checked" : ""}><span>${label}</span></label>`;

  function draw() {
    if (!el) return;
    let body;
    if (!loaded) body = `<p class="muted">…</p>`;
    else if (!shift?.id) {
      body = `${closed ? `<section aria-live="polite" style="margin-bottom:1rem"><h2>${t("shift.closed")}</h2>${reportHtml(closed, false)}</section>` : ""}
        <form class="card pay-form" data-form="open" data-testid="shift-open">
        <h2>${t("shift.none")}</h2>
        <label>${t("shift.float")}<span class="rp-input"><span aria-hidden="true">Rp</span><input name="float" inputmode="numeric" autocomplete="off" required data-testid="shift-float"></span></label>
        <button class="primary big" type="submit">${t("shift.open")}</button></form>`;
    } else {
      body = `<h2>${t("shift.title")} · ${t("shift.opened_at")} ${outletTime(shift.opened_at, ctx.i18n.lang())}</h2>
        ${report ? reportHtml(report, !isManager()) : ""}
        <form class="card pay-form" data-form="movement" style="margin-top:1rem">
          <fieldset class="segmented"><legend>${t("shift.direction")}</legend>${seg("in", t("shift.cash_in"))}${seg("out", t("shift.cash_out"))}</fieldset>
          <label>${t("pay.amount")}<span class="rp-input"><span aria-hidden="true">Rp</span><input name="amount" inputmode="numeric" autocomplete="off" required></span></label>
          <label>${t("shift.movement_reason")}<input name="reason" required maxlength="200"></label>
          <button type="submit">${t("shift.cash_in")} / ${t("shift.cash_out")}</button></form>
        <form class="card pay-form" data-form="close" data-testid="shift-close" style="margin-top:1rem">
          <h3>${t("shift.close")}</h3>
          <p class="muted">${t("shift.blind")}</p>
          <label>${t("shift.counted")}<span class="rp-input"><span aria-hidden="true">Rp</span><input name="counted" inputmode="numeric" autocomplete="off" required data-testid="shift-counted"></span></label>
          <button class="primary big" type="submit">${t("shift.close")}</button></form>`;
    }
    const before = submitted ? null : typed();
    submitted = false;
    el.innerHTML = `<section class="pane" style="max-width:48rem">${error ? `<p class="error" role="alert">${esc(error)}</p>` : ""}
      ${message ? `<p class="card outcome good" role="status" data-testid="shift-message">${esc(message)}</p>` : ""}${body}</section>`;
    if (before) retype(before);
  }

  // What the cashier is typing survives a redraw: the tab shows the last figures at once and
  // redraws when the fresh report arrives, which used to wipe an amount typed meanwhile.
  const fields = () => el.querySelectorAll("form[data-form] input:not([type=radio])");
  const keyOf = (input) => `${input.form.dataset.form}.${input.name}`;
  function typed() {
    const values = new Map([...fields()].filter((i) => i.value).map((i) => [keyOf(i), i.value]));
    const active = document.activeElement;
    const focus = active && el.contains(active) && active.form?.dataset.form
      ? { key: keyOf(active), start: active.selectionStart, end: active.selectionEnd } : null;
    return { values, focus };
  }
  function retype({ values, focus }) {
    for (const input of fields()) {
      const key = keyOf(input);
      if (values.has(key)) input.value = values.get(key);
      if (focus?.key === key) {
        input.focus();
        try { input.setSelectionRange(focus.start, focus.end); } catch { /* not a text field */ }
      }
    }
  }

  async function onSubmit(ev) {
    ev.preventDefault();
    const f = ev.target;
    const action = { open: "act.shift_open", movement: "act.movement", close: "act.shift_close" }[f.dataset.form];
    message = "";
    try {
      if (f.dataset.form === "open") {
        closed = null;
        await ctx.api.post("/api/v1/shifts", { opening_float: amount(f.float.value) });
      } else if (f.dataset.form === "movement") {
        const moved = { direction: f.direction.value, amount: amount(f.amount.value), reason: f.reason.value.trim() };
        await ctx.api.post(`/api/v1/shifts/${encodeURIComponent(shift.id)}/cash-movements`, moved);
        message = t("shift.moved", { dir: t(`shift.cash_${moved.direction}`), amount: ctx.money(moved.amount) });
      } else if (f.dataset.form === "close") {
        const done = await ctx.api.post(`/api/v1/shifts/${encodeURIComponent(shift.id)}/close`, { counted_cash: amount(f.counted.value) });
        closed = await ctx.api.get(`/api/v1/shifts/${encodeURIComponent(done.id)}/report`);
      }
      error = "";
      submitted = true;
    } catch (err) { error = sentence(ctx.failed(action, err)); }
    await refresh();
  }

  function onInput(ev) {
    const input = ev.target;
    if (input.name === "direction") { direction = input.value; return; }
    if (!["float", "amount", "counted"].includes(input.name)) return;
    // Thousands separators while typing, the caret kept before the same digits.
    const old = input.value, pos = input.selectionStart ?? old.length;
    const right = old.slice(pos).replace(/\D/g, "").length;
    const shown = grouped(old);
    if (shown === old) return;
    input.value = shown;
    let caret = shown.length, seen = 0;
    while (caret > 0 && seen < right) { caret--; if (/\d/.test(shown[caret])) seen++; }
    try { input.setSelectionRange(caret, caret); } catch { /* not focused */ }
  }

  return {
    async mount(target) {
      el = target;
      el.addEventListener("submit", onSubmit);
      el.addEventListener("input", onInput);
      el.addEventListener("change", onInput);
      message = "";
      draw();
      await refresh();
    },
    refresh,
  };
}
