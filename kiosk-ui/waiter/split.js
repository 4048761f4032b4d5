// Split a bill (POST /api/v1/orders/{id}/split): by item (each line to a part; every line
// must land in one), by seat (the edge groups the lines by their seat) or evenly in N parts.
// The edge does the money: parts add up to the bill to the rupiah, rounding done once.
import { newKey } from "../common/api.js";

export function splitDialog(ctx, order, onDone, onFail) {
  const { t, esc } = ctx;
  const d = ctx.dialog;
  const lines = order.lines.filter((l) => l.state !== "voided");
  let mode = "item", parts = 2, even = 2, error = "";
  const assign = new Map(lines.map((l) => [l.id, 1]));
  let key = newKey(); // one split, one key; a different split gets another

  const partSum = (p) => lines.filter((l) => assign.get(l.id) === p).reduce((a, l) => a + l.line_total, 0);

  function draw() {
    const tab = (m, label) => `<button type="button" data-mode="${m}" aria-pressed="${mode === m}" data-testid="split-${m}">${label}</button>`;
    let body = "";
    if (mode === "item") {
      body = `<div class="row"><span>${t("w.parts")}</span>${[2, 3, 4, 5, 6].map((n) =>
          `<button type="button" data-parts="${n}" aria-pressed="${n === parts}">${n}</button>`).join("")}</div>
        <ul class="lines split-lines">${lines.map((l) => `<li data-testid="split-line" data-id="${esc(l.id)}"><span>${l.qty} × ${esc(l.name)}${l.seat ? ` · ${t("w.seatno")} ${l.seat}` : ""}</span>
          <span class="money">${ctx.money(l.line_total)}</span>
          <span class="row acts">${Array.from({ length: parts }, (_, i) => i + 1).map((p) =>
            `<button type="button" data-line="${esc(l.id)}" data-part="${p}" aria-pressed="${assign.get(l.id) === p}">${p}</button>`).join("")}</span></li>`).join("")}</ul>
        <p class="muted">${Array.from({ length: parts }, (_, i) => `${i + 1}: ${ctx.money(partSum(i + 1))}`).join(" · ")}</p>`;
    } else if (mode === "seat") {
      const seats = [...new Set(lines.map((l) => l.seat ?? 0))].sort((a, b) => a - b);
      body = `<p>${seats.map((s) => `${s ? `${t("w.seatno")} ${s}` : t("w.seat_shared")}: ${ctx.money(lines.filter((l) => (l.seat ?? 0) === s).reduce((a, l) => a + l.line_total, 0))}`).join(" · ")}</p>`;
    } else {
      body = `<div class="row"><span>${t("w.parts")}</span>
        <button type="button" data-even="-1" aria-label="${t("qty.less")}">−</button><strong data-testid="split-even-n">${even}</strong>
        <button type="button" data-even="1" aria-label="${t("qty.more")}">+</button></div>
        <p class="muted">≈ ${ctx.money(Math.floor(order.total / even))} × ${even}</p>`;
    }
    d.innerHTML = `<form class="dlg" data-testid="split-dialog"><h2 id="dlg-title">${t("w.split_title")} · ${ctx.money(order.total)}</h2>
      <div class="methods" role="group">${tab("item", t("w.split_item"))}${tab("seat", t("w.split_seat"))}${tab("even", t("w.split_even"))}</div>
      ${body}
      <p class="error" role="alert">${esc(error)}</p>
      <div class="row"><button type="button" data-close>${t("w.cancel")}</button>
      <button class="primary" type="submit" data-testid="split-submit">${t("w.split_do")}</button></div></form>`;
  }

  draw();
  d.oninput = null;
  d.onclick = (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.hasAttribute("data-close")) { d.close(); return; }
    if (b.dataset.mode) mode = b.dataset.mode;
    else if (b.dataset.parts) {
      parts = Number(b.dataset.parts);
      for (const [id, p] of assign) if (p > parts) assign.set(id, parts);
    } else if (b.dataset.line) assign.set(b.dataset.line, Number(b.dataset.part));
    else if (b.dataset.even) even = Math.min(20, Math.max(2, even + Number(b.dataset.even)));
    else return;
    key = newKey();
    error = "";
    draw();
  };
  d.onsubmit = async (ev) => {
    ev.preventDefault();
    let body;
    if (mode === "item") {
      const groups = Array.from({ length: parts }, (_, i) => lines.filter((l) => assign.get(l.id) === i + 1).map((l) => l.id))
        .filter((ids) => ids.length);
      // Voided lines belong to a part too (the edge wants every line placed): the first one.
      const voided = order.lines.filter((l) => l.state === "voided").map((l) => l.id);
      if (groups.length && voided.length) groups[0].push(...voided);
      body = { parts: groups.map((ids) => ({ line_ids: ids })) };
    } else body = mode === "seat" ? { by: "seat" } : { even };
    try {
      const res = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(order.id)}/split`, body, { idempotencyKey: key });
      d.close();
      await onDone(res.orders ?? []);
    } catch (err) {
      if (err.status === 409) { d.close(); await onFail(err); return; }
      error = ctx.describe(err);
      draw();
    }
  };
  d.showModal();
}
