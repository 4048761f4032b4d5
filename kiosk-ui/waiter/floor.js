// The floor: one tab per area, each table drawn where head office drew it (x/y/width/height
// on a 0..1000 grid, rect or round) with its state in colour AND words, guests, minutes
// seated and amount. Live updates change the one table's element in place (no redraw of
// the plan, so nothing flickers or loses focus). A free table seats a party; a table that
// needs cleaning can be marked clean; any other opens its bill.
import { newKey } from "../common/api.js";
import { edgeNow } from "../common/clock.js";

export function floorView(ctx) {
  const { t, esc } = ctx;
  let el = null, area = null;
  const nodes = new Map(); // table id -> element of the current area's plan

  /** Areas that have tables, in the plan's order, named in the screen's language. */
  function areas() {
    const seen = new Map();
    for (const tv of ctx.tables.values()) if (!seen.has(tv.area_id)) seen.set(tv.area_id, tv.area);
    const rank = new Map(ctx.areas.map((a, i) => [a.id, i]));
    const named = new Map(ctx.areas.map((a) => [a.id, ctx.i18n.name(a)]));
    return [...seen].map(([id, name]) => ({ id, name: named.get(id) || name }))
      .sort((a, b) => (rank.get(a.id) ?? 1e9) - (rank.get(b.id) ?? 1e9));
  }

  function draw() {
    if (!el) return;
    const list = areas();
    if (!list.some((a) => a.id === area)) area = list[0]?.id ?? null;
    nodes.clear();
    if (!list.length) { el.innerHTML = `<p class="muted pad" data-testid="no-tables">${t("w.no_tables")}</p>`; return; }
    const tables = [...ctx.tables.values()].filter((tv) => tv.area_id === area);
    el.innerHTML = `<nav class="areas" role="tablist" aria-label="${t("w.floor")}">${list.map((a) =>
        `<button role="tab" data-area="${esc(a.id)}" aria-selected="${a.id === area}" data-testid="area-tab">${esc(a.name)}</button>`).join("")}</nav>
      <div class="legend">${["free", "ordering", "eating", "bill_requested", "paid", "needs_cleaning"].map((s) =>
        `<span class="dot" data-status="${s}">${t(`table.${s}`)}</span>`).join("")}</div>
      <section class="plan" role="tabpanel" data-testid="plan"></section>`;
    const plan = el.querySelector(".plan");
    const boxes = layout(tables, plan.clientWidth || 360);
    plan.style.aspectRatio = `${boxes.width}/${boxes.height}`;
    for (const tv of tables) {
      const r = boxes.get(tv.id);
      const b = document.createElement("button");
      b.className = "table";
      b.dataset.testid = "table";
      b.dataset.id = tv.id;
      b.dataset.shape = tv.shape === "round" ? "round" : "rect";
      Object.assign(b.style, {
        left: `${(r.x / boxes.width) * 100}%`, top: `${(r.y / boxes.height) * 100}%`,
        width: `${(r.w / boxes.width) * 100}%`, height: `${(r.h / boxes.height) * 100}%`,
      });
      b.innerHTML = `<strong class="name"></strong><span class="state"></span><span class="info"></span>`;
      plan.append(b);
      nodes.set(tv.id, b);
      update(b, tv);
    }
  }

  /**
   * Where each table goes on a screen `px` wide. Head office draws on a 0..1000 grid for a
   * big screen; on a phone those tables would be a thumb's width. Each table grows around
   * its own centre (the same factor for all, so the room keeps its shape) until it is about
   * 84 px across, never so much that two tables touch; nothing moves out of order.
   */
  function layout(tables, px) {
    const maxX = Math.max(200, ...tables.map((tv) => tv.x + tv.width)) + 20;
    const unit = px / maxX;
    const smallest = Math.min(...tables.map((tv) => Math.min(tv.width, tv.height)));
    let grow = Math.max(1, 84 / (smallest * unit));
    for (let i = 0; i < tables.length; i++) {
      for (let j = i + 1; j < tables.length; j++) {
        const a = tables[i], b = tables[j];
        const dx = Math.abs(a.x + a.width / 2 - (b.x + b.width / 2)), dy = Math.abs(a.y + a.height / 2 - (b.y + b.height / 2));
        const room = Math.max(dx / ((a.width + b.width) / 2), dy / ((a.height + b.height) / 2)) * 0.92;
        grow = Math.min(grow, Math.max(1, room));
      }
    }
    grow = Math.min(grow, 2.5);
    const out = new Map();
    let width = 200, height = 200;
    for (const tv of tables) {
      const w = tv.width * grow, h = tv.height * grow;
      const x = Math.max(10, tv.x + tv.width / 2 - w / 2), y = Math.max(10, tv.y + tv.height / 2 - h / 2);
      out.set(tv.id, { x, y, w, h });
      width = Math.max(width, x + w + 10); height = Math.max(height, y + h + 10);
    }
    out.width = width; out.height = height;
    return out;
  }

  function minutes(tv) {
    return tv.seated_at ? Math.max(0, Math.floor((edgeNow() - Date.parse(tv.seated_at)) / 60000)) : null;
  }

  /** Write a table's figures into its element, touching only what changed. */
  function update(b, tv) {
    const set = (sel, text) => { const n = b.querySelector(sel); if (n.textContent !== text) n.textContent = text; };
    if (b.dataset.status !== tv.status) b.dataset.status = tv.status;
    set(".name", tv.name);
    set(".state", t(`table.${tv.status}`));
    const bits = [];
    if (tv.covers) bits.push(t("w.guests", { n: tv.covers }));
    const m = minutes(tv);
    if (m !== null && tv.status !== "free" && tv.status !== "needs_cleaning") bits.push(t("w.minutes", { n: m }));
    if (tv.amount) bits.push(ctx.money(tv.amount));
    set(".info", bits.join(" · "));
    const label = `${tv.name}: ${t(`table.${tv.status}`)}${bits.length ? ", " + bits.join(", ") : ""}`;
    if (b.getAttribute("aria-label") !== label) b.setAttribute("aria-label", label);
  }

  function seatDialog(tv) {
    const d = ctx.dialog;
    let covers = Math.min(2, tv.seats || 2);
    const key = newKey(); // one party, one key: a retried seat never opens two bills
    const draw = (msg = "") => {
      const max = Math.max(tv.seats || 4, 8);
      d.innerHTML = `<form class="dlg" data-testid="seat-dialog"><h2 id="dlg-title">${t("w.seat_title", { table: esc(tv.name) })}</h2>
        <p class="muted">${t("w.seats", { n: tv.seats })}</p>
        <fieldset class="covers"><legend>${t("w.covers")}</legend>${Array.from({ length: max }, (_, i) => i + 1).map((n) =>
          `<button type="button" data-covers="${n}" aria-pressed="${n === covers}">${n}</button>`).join("")}</fieldset>
        <p class="error" role="alert">${esc(msg)}</p>
        <div class="row"><button type="button" data-close>${t("w.cancel")}</button>
        <button class="primary" type="submit" data-testid="seat-submit">${t("w.seat")} (${covers})</button></div></form>`;
    };
    draw();
    d.onclick = (ev) => {
      const b = ev.target.closest("button");
      if (!b) return;
      if (b.hasAttribute("data-close")) d.close();
      else if (b.dataset.covers) { covers = Number(b.dataset.covers); draw(); }
    };
    d.onsubmit = async (ev) => {
      ev.preventDefault();
      const submit = d.querySelector("[data-testid=seat-submit]");
      submit.disabled = true;
      try {
        const order = await ctx.api.post(`/api/v1/tables/${encodeURIComponent(tv.id)}/seat`, { covers },
          { idempotencyKey: key });
        d.close();
        ctx.openTable(tv.id, order?.id);
      } catch (err) {
        if (err.status === 409) { // someone seated it meanwhile: show what is there now
          d.close();
          await ctx.loadTables().catch(() => null);
          ctx.toast(t("w.conflict"));
          return;
        }
        draw(ctx.describe(err));
      }
    };
    d.showModal();
  }

  async function clean(tv) {
    try {
      const view = await ctx.api.post(`/api/v1/tables/${encodeURIComponent(tv.id)}/clean`, {});
      if (view?.id) tableChanged(view);
      ctx.toast(t("w.cleaned", { table: tv.name }));
    } catch (err) { ctx.toast(ctx.describe(err)); await ctx.loadTables().catch(() => null); }
  }

  function onClick(ev) {
    const tab = ev.target.closest("button[data-area]");
    if (tab) { area = tab.dataset.area; draw(); return; }
    const b = ev.target.closest("button.table");
    if (!b) return;
    const tv = ctx.tables.get(b.dataset.id);
    if (!tv) return;
    if (tv.status === "free") seatDialog(tv);
    else if (tv.status === "needs_cleaning") clean(tv);
    else ctx.openTable(tv.id);
  }

  function tableChanged(tv) {
    ctx.tables.set(tv.id, tv);
    if (!el) return;
    const b = nodes.get(tv.id);
    if (b) update(b, tv);
    else if (tv.area_id === area || !areas().some((a) => a.id === area)) draw(); // a new table
  }

  setInterval(() => { for (const [id, b] of nodes) { const tv = ctx.tables.get(id); if (tv) update(b, tv); } }, 30000);

  return {
    mount(target) {
      el = target;
      el.addEventListener("click", onClick);
      draw();
    },
    tablesChanged() {
      if (!el?.isConnected) return;
      // Same tables as drawn (a reconnect's snapshot): update in place, no redraw.
      const ids = [...ctx.tables.values()].filter((tv) => tv.area_id === area).map((tv) => tv.id);
      if (nodes.size && ids.length === nodes.size && ids.every((id) => nodes.has(id))) {
        for (const id of ids) update(nodes.get(id), ctx.tables.get(id));
      } else draw();
    },
    tableChanged,
  };
}
