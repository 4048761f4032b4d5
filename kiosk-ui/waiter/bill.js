// One table's bill(s): lines by round, held lines by course with a "fire" button each, the
// new round being composed (course, seat, hold per item; the menu and modifier sheet of
// common/menu.js), and what a waiter does to a bill: send a round, fire a course, change or
// delete a held item, void a sent one (manager PIN when the edge asks), request the bill,
// print a pre-bill, move the party, merge another table's bill, split, close, clean.
//
// A round is never lost and never doubled: the draft lives in localStorage per bill; its
// Idempotency-Key is minted on the first send and kept (the draft locked) until the edge
// answers, across retries, reconnects and reloads. No answer -> sent again with the same key
// as soon as the edge is reachable; the edge applies a key once.
import { newKey } from "../common/api.js";
import { Menu, groupHint, toggleOption } from "../common/menu.js";
import { reachability } from "../common/status.js";
import { splitDialog } from "./split.js";

const OPEN = new Set(["placed", "in_kitchen", "ready"]);
const DRAFT_KEY = (orderId) => `pos.waiter.draft.${orderId}`;

export function billView(ctx) {
  const { t, esc } = ctx;
  let el = null, tableId = null, table = null, orders = [], orderId = null, message = "", menuOpen = false;
  let menu = null, menuEtag = null, category = null;
  const pick = { course: "", seat: 0, hold: false }; // applied to the next items added
  let loading = null;
  let shown = ""; // what the bill view last drew from: a reload that changes nothing draws nothing

  // ------------------------------------------------------------ data

  const order = () => orders.find((o) => o.id === orderId) ?? null;

  function readDraft(id) {
    try { return JSON.parse(localStorage.getItem(DRAFT_KEY(id))) ?? { lines: [], key: null }; }
    catch { return { lines: [], key: null }; }
  }
  function writeDraft(id, draft) {
    if (!draft.lines.length && !draft.key) localStorage.removeItem(DRAFT_KEY(id));
    else localStorage.setItem(DRAFT_KEY(id), JSON.stringify(draft));
  }

  async function reload() {
    if (!tableId || !ctx.session) return;
    const mine = tableId;
    const run = (async () => {
      const res = await ctx.api.get(`/api/v1/tables/${encodeURIComponent(mine)}`, { retries: 1 });
      if (mine !== tableId) return;
      table = res.table;
      ctx.tables.set(table.id, table);
      orders = (res.orders ?? []).filter((o) => OPEN.has(o.status));
      if (!orders.some((o) => o.id === orderId)) orderId = orders[0]?.id ?? null;
    })();
    loading = run;
    const before = shown;
    try { await run; } finally { if (loading === run) loading = null; }
    shown = JSON.stringify([table, orders, orderId]);
    if (shown !== before || !el?.querySelector(".bill-body")?.childElementCount) draw();
    resumePending();
  }

  async function loadMenu() {
    try {
      const res = await ctx.api.get("/api/v1/menu", { etag: menuEtag });
      if (res.notModified) return;
      menu = new Menu(res); menuEtag = res._etag; ctx.currency = menu.currency;
      if (!category || !menu.categories.some((c) => c.id === category)) setCategory(menu.categories[0]?.id);
    } catch (err) { message = ctx.describe(err); }
  }

  function setCategory(id) {
    category = id;
    // A sensible course for what is being added: drinks from the bar, the rest as mains;
    // the waiter changes it with one tap.
    const station = menu?.categories.find((c) => c.id === id)?.station;
    const want = station === "bar" ? "minuman" : "makanan";
    if (ctx.courses.includes(want)) pick.course = want;
  }

  // ------------------------------------------------------------ drawing

  // Names in the screen's language from the menu where it knows the item; the bill's own
  // name otherwise (an even split's share line, an item gone from the menu).
  function lineMods(l) {
    return (l.modifiers ?? []).map((m) => esc(typeof m === "string" ? ctx.i18n.name(menu?.options.get(m))
      : ctx.i18n.name(menu?.options.get(m.option_id)) || m.name)).join(", ");
  }
  const lineName = (l) => esc(ctx.i18n.name(menu?.products.get(l.product_id)) || l.name);
  ctx.itemName = lineName; // the guest requests list names items as the bill does

  function lineTags(l) {
    const tags = [];
    if (l.course) tags.push(`<span class="tag course">${esc(ctx.courseName(l.course))}</span>`);
    if (l.seat) tags.push(`<span class="tag">${t("w.seatno")} ${l.seat}</span>`);
    return tags.join("");
  }

  function heldSection(o) {
    const held = o.lines.filter((l) => l.state === "held");
    if (!held.length) return "";
    const byCourse = new Map();
    for (const l of held) byCourse.set(l.course ?? "", [...(byCourse.get(l.course ?? "") ?? []), l]);
    const order = [...ctx.courses, ""].filter((c) => byCourse.has(c)).concat([...byCourse.keys()].filter((c) => ![...ctx.courses, ""].includes(c)));
    return order.map((c) => `<section class="group held" data-testid="held-course" data-course="${esc(c)}">
        <h3>${t("w.held")} · ${esc(ctx.courseName(c))}
          <button class="primary fire" data-action="fire" data-course="${esc(c)}" data-testid="fire">${t("w.fire", { course: esc(ctx.courseName(c)) })}</button></h3>
        <ul class="lines">${byCourse.get(c).map((l) => `<li data-testid="held-line" data-id="${esc(l.id)}">
          <span>${l.qty} × ${lineName(l)} ${lineTags(l)}</span><span class="money">${ctx.money(l.line_total)}</span>
          ${l.modifiers?.length ? `<span class="mods muted">${lineMods(l)}</span>` : ""}
          ${l.note ? `<span class="mods"><em>${esc(l.note)}</em></span>` : ""}
          <span class="row acts"><button data-action="edit" data-id="${esc(l.id)}" data-testid="edit-held">${t("w.edit")}</button>
          <button data-action="delete" data-id="${esc(l.id)}" data-testid="delete-held">${t("w.delete")}</button></span></li>`).join("")}</ul>
      </section>`).join("");
  }

  function roundsSection(o) {
    const sent = o.lines.filter((l) => l.state !== "held");
    const rounds = [...new Set(sent.map((l) => l.round ?? 0))].sort((a, b) => a - b);
    return rounds.map((r) => `<section class="group" data-testid="round" data-round="${r}">
        <h3>${t("w.round", { n: r || 1 })}</h3>
        <ul class="lines">${sent.filter((l) => (l.round ?? 0) === r).map((l) => `<li data-testid="sent-line" data-id="${esc(l.id)}" class="${l.state === "voided" ? "voided" : ""}">
          <span>${l.qty} × ${lineName(l)} ${lineTags(l)}${l.state === "voided" ? ` <span class="tag bad">${t("w.voided")}${l.void_reason ? `: ${esc(l.void_reason)}` : ""}</span>` : ""}</span>
          <span class="money">${ctx.money(l.line_total)}</span>
          ${l.modifiers?.length ? `<span class="mods muted">${lineMods(l)}</span>` : ""}
          ${l.state === "voided" || l.product_id === "split-share" ? "" : `<span class="row acts"><button data-action="void" data-id="${esc(l.id)}" data-testid="void-line">${t("w.void")}</button></span>`}
        </li>`).join("")}</ul></section>`).join("");
  }

  function totals(o) {
    const rows = [["total.subtotal", o.subtotal]];
    if (o.discount) rows.push(["total.discount", -o.discount]);
    if (o.service_charge) rows.push(["total.service", o.service_charge]);
    if (o.tax) rows.push(["total.tax", o.tax]);
    if (o.rounding) rows.push(["total.rounding", o.rounding]);
    const due = Math.max(0, o.total - (o.paid ?? 0));
    return `<div class="totals">${rows.map(([k, v]) => `<span>${t(k)}</span><span class="money">${ctx.money(v)}</span>`).join("")}
      <span class="grand">${t("total.total")}</span><span class="grand money" data-testid="bill-total">${ctx.money(o.total)}</span>
      ${o.paid ? `<span>${t("total.paid")}</span><span class="money">${ctx.money(o.paid)}</span>
      <span class="grand">${t("w.due")}</span><span class="grand money" data-testid="bill-due">${ctx.money(due)}</span>` : ""}</div>`;
  }

  function draftSection(o) {
    const draft = readDraft(o.id);
    const locked = Boolean(draft.key);
    const courseSel = (i, c) => `<select data-draft="course" data-i="${i}" ${locked ? "disabled" : ""} aria-label="${t("w.course")}">
        <option value="">${t("w.course_none")}</option>${ctx.courses.map((k) => `<option value="${esc(k)}" ${k === c ? "selected" : ""}>${esc(ctx.courseName(k))}</option>`).join("")}</select>`;
    const seatSel = (i, s) => `<select data-draft="seat" data-i="${i}" ${locked ? "disabled" : ""} aria-label="${t("w.seatno")}">
        ${Array.from({ length: Math.max(o.covers || 0, 1) + 1 }, (_, n) => `<option value="${n}" ${n === s ? "selected" : ""}>${n ? `${t("w.seatno")} ${n}` : t("w.seat_shared")}</option>`).join("")}</select>`;
    return `<section class="group draft" data-testid="draft">
      <h3>${t("w.new_round")}</h3>
      ${draft.lines.length ? `<ul class="lines">${draft.lines.map((l, i) => `<li data-testid="draft-line">
          <span>${l.qty} × ${esc(ctx.i18n.name(menu?.products.get(l.product_id)) || l.name || "")}</span>
          <span class="money">${menu ? ctx.money(menu.unitPrice(l) * l.qty) : ""}</span>
          ${l.modifiers.length ? `<span class="mods muted">${lineMods(l)}</span>` : ""}
          <span class="row acts">${courseSel(i, l.course)}${seatSel(i, l.seat)}
            <label class="chk"><input type="checkbox" data-draft="hold" data-i="${i}" ${l.hold ? "checked" : ""} ${locked ? "disabled" : ""}>${t("w.hold")}</label></span>
          <span class="row acts"><button data-action="less" data-i="${i}" ${locked ? "disabled" : ""} aria-label="${t("qty.less")}">−</button>
            <button data-action="more" data-i="${i}" ${locked ? "disabled" : ""} aria-label="${t("qty.more")}">+</button>
            <button data-action="remove" data-i="${i}" ${locked ? "disabled" : ""}>${t("w.remove")}</button></span></li>`).join("")}</ul>` : `<p class="muted">${t("w.draft_empty")}</p>`}
      ${locked ? `<p class="warn" role="status" data-testid="round-kept">${t("w.round_kept")}</p>` : ""}
      <button class="primary big send" data-action="send" data-testid="send-round" ${draft.lines.length && !sending.has(o.id) ? "" : "disabled"}>${sending.has(o.id) ? t("w.sending") : t("w.send_round")}${draft.lines.length ? ` (${draft.lines.reduce((a, l) => a + l.qty, 0)})` : ""}</button>
    </section>`;
  }

  function actions(o) {
    const due = Math.max(0, o.total - (o.paid ?? 0));
    const held = o.lines.some((l) => l.state === "held");
    const hasLines = o.lines.some((l) => l.state !== "voided");
    return `<div class="actions" data-testid="bill-actions">
      <button data-action="menu" data-testid="add-items">${t("w.add_items")}</button>
      ${held ? `<button data-action="fire" data-course="" data-all="1">${t("w.fire_all")}</button>` : ""}
      ${hasLines && !o.bill_requested_at ? `<button data-action="request-bill" data-testid="request-bill">${t("w.request_bill")}</button>` : ""}
      ${hasLines ? `<button data-action="prebill" data-testid="prebill">${t("w.prebill")}</button>` : ""}
      <button data-action="move" data-testid="move">${t("w.move")}</button>
      <button data-action="merge" data-testid="merge">${t("w.merge")}</button>
      ${hasLines && !o.paid ? `<button data-action="split" data-testid="split">${t("w.split")}</button>` : ""}
      ${hasLines && due === 0 ? `<button class="primary" data-action="complete" data-testid="close-bill">${t("w.close_bill")}</button>` : ""}
    </div>`;
  }

  function headHtml() {
    const tv = table ?? ctx.tables.get(tableId);
    if (!tv) return "";
    const o = order();
    const tabs = orders.length > 1 ? `<nav class="bill-tabs" role="tablist">${orders.map((x) =>
      `<button role="tab" data-action="tab" data-id="${esc(x.id)}" aria-selected="${x.id === orderId}" data-testid="bill-tab">
        ${x.split_part ? t("w.part", { p: esc(x.split_part) }) : t("w.bill", { n: x.number })}
        <span class="money">${ctx.money(x.total)}</span>${x.total && (x.paid ?? 0) >= x.total ? ` ✓` : ""}</button>`).join("")}</nav>` : "";
    return `<div class="bill-title"><h2 data-testid="bill-table">${esc(tv.name)}</h2>
        <span class="badge status" data-status="${esc(tv.status)}" data-testid="table-status">${t(`table.${tv.status}`)}</span>
        ${tv.covers ? `<span class="muted">${t("w.guests", { n: tv.covers })}</span>` : ""}
        ${o ? `<span class="muted">${o.split_part ? t("w.part", { p: esc(o.split_part) }) : t("w.bill", { n: o.number })}</span>` : ""}
        ${tv.status === "needs_cleaning" ? `<button class="primary" data-action="clean" data-testid="clean">${t("w.clean")}</button>` : ""}</div>${tabs}`;
  }

  function draw() {
    if (!el?.isConnected) return;
    const o = order();
    el.classList.toggle("menu-open", menuOpen);
    el.querySelector(".bill-head").innerHTML = headHtml();
    el.querySelector(".bill-body").innerHTML = `${message ? `<p class="error" role="alert" data-testid="bill-message">${esc(message)}</p>` : ""}
      ${o ? `${heldSection(o)}${roundsSection(o)}${totals(o)}${draftSection(o)}${actions(o)}`
        : `<p class="muted">${loading ? "…" : t("w.bill_gone")}</p>`}`;
    drawMenu();
  }

  function drawMenu() {
    const panel = el?.querySelector(".menu-panel");
    if (!panel) return;
    panel.hidden = !menuOpen;
    if (!menuOpen) { panel.innerHTML = ""; return; }
    if (!menu) { panel.innerHTML = `<p class="muted pad">${t("menu.loading")}</p>`; return; }
    const o = order();
    const draft = o ? readDraft(o.id) : { lines: [] };
    const n = draft.lines.reduce((a, l) => a + l.qty, 0);
    const scroll = panel.querySelector(".products")?.scrollTop ?? 0;
    panel.innerHTML = `<nav class="cats" aria-label="${t("menu.categories")}">${menu.categories.map((c) =>
        `<button data-action="cat" data-id="${esc(c.id)}" aria-current="${c.id === category}">${esc(ctx.i18n.name(c))}</button>`).join("")}</nav>
      <div class="pick" role="group">
        <select data-pick="course" aria-label="${t("w.course")}" data-testid="pick-course"><option value="">${t("w.course_none")}</option>${ctx.courses.map((k) =>
          `<option value="${esc(k)}" ${k === pick.course ? "selected" : ""}>${esc(ctx.courseName(k))}</option>`).join("")}</select>
        <select data-pick="seat" aria-label="${t("w.seatno")}" data-testid="pick-seat">${Array.from({ length: Math.max(o?.covers || 0, 1) + 1 }, (_, s) =>
          `<option value="${s}" ${s === pick.seat ? "selected" : ""}>${s ? `${t("w.seatno")} ${s}` : t("w.seat_shared")}</option>`).join("")}</select>
        <label class="chk" title="${t("w.hold_hint")}"><input type="checkbox" data-pick="hold" data-testid="pick-hold" ${pick.hold ? "checked" : ""}>${t("w.hold")}</label>
      </div>
      <div class="products">${menu.productsIn(category).map((p) => {
        const off = p.available === false;
        return `<button data-action="product" data-id="${esc(p.id)}" ${off ? "disabled" : ""} data-testid="menu-product">
          <strong>${esc(ctx.i18n.name(p))}</strong><span class="money">${off ? t("menu.soldout") : ctx.money(p.price)}</span></button>`;
      }).join("")}</div>
      <div class="draft-bar"><button data-action="menu" data-testid="review-round">${t("w.new_round")}: ${n}</button>
        <button class="primary" data-action="send" data-testid="menu-send" ${n && o && !sending.has(o.id) && !draft.key ? "" : "disabled"}>${t("w.send_round")}</button></div>`;
    const list = panel.querySelector(".products");
    if (list) list.scrollTop = scroll;
  }

  // ------------------------------------------------------------ the new round

  function addToDraft(line) {
    const o = order();
    if (!o) return;
    const draft = readDraft(o.id);
    if (draft.key) { message = t("w.round_kept"); draw(); return; } // locked until the edge answers
    const sig = (l) => [l.product_id, [...l.modifiers].sort().join(), l.note ?? "", l.course, l.seat, l.hold].join("|");
    const same = draft.lines.find((l) => sig(l) === sig(line));
    if (same) same.qty += line.qty; else draft.lines.push(line);
    writeDraft(o.id, draft);
    message = "";
    draw();
  }

  function productSheet(productId) {
    const p = menu.products.get(productId);
    const draft = { product_id: productId, qty: 1, modifiers: [], note: "", course: pick.course, seat: pick.seat, hold: pick.hold };
    if (!menu.groupsOf(p).length) { addToDraft(draft); ctx.toast(`+ ${ctx.i18n.name(p)}`); return; }
    // Single-choice required groups start on their first available option.
    for (const g of menu.groupsOf(p)) {
      if ((g.min_choices ?? 0) >= 1 && (g.max_choices ?? 1) === 1) {
        const first = g.options.find((o) => o.available !== false);
        if (first) draft.modifiers.push(first.id);
      }
    }
    const d = ctx.dialog;
    const drawSheet = () => {
      const unmet = menu.unmetGroups(p, draft.modifiers);
      d.innerHTML = `<div class="dlg sheet" data-testid="product-sheet"><h2 id="dlg-title">${esc(ctx.i18n.name(p))}</h2>
        ${menu.groupsOf(p).map((g) => {
          const chosen = draft.modifiers.filter((id) => menu.options.get(id)?.group_id === g.id).length;
          const full = g.max_choices > 1 && chosen >= g.max_choices;
          return `<fieldset class="group"><legend><strong>${esc(ctx.i18n.name(g))}</strong> · ${groupHint(g, t)}</legend>
            <div class="opts">${g.options.map((o) => {
              const on = draft.modifiers.includes(o.id);
              return `<button data-opt="${esc(o.id)}" aria-pressed="${on}" ${o.available === false || (full && !on) ? "disabled" : ""}>${esc(ctx.i18n.name(o))}${o.price_delta ? ` <span class="money">+${ctx.money(o.price_delta)}</span>` : ""}</button>`;
            }).join("")}</div></fieldset>`;
        }).join("")}
        <div class="row"><button data-q="-1" aria-label="${t("qty.less")}">−</button><strong data-testid="sheet-qty">${draft.qty}</strong>
          <button data-q="1" aria-label="${t("qty.more")}">+</button></div>
        <label>${t("sheet.note")}<input name="note" maxlength="200" value="${esc(draft.note)}"></label>
        <p class="error">${unmet.length ? t("sheet.missing", { groups: unmet.map((g) => esc(ctx.i18n.name(g))).join(", ") }) : ""}</p>
        <div class="row"><button data-sheet="cancel">${t("sheet.cancel")}</button>
        <button class="primary" data-sheet="add" data-testid="sheet-add" ${unmet.length ? "disabled" : ""}>${t("sheet.add")} · ${ctx.money(menu.unitPrice(draft) * draft.qty)}</button></div></div>`;
    };
    drawSheet();
    d.oninput = (ev) => { if (ev.target.name === "note") draft.note = ev.target.value; };
    d.onsubmit = null;
    d.onclick = (ev) => {
      const b = ev.target.closest("button");
      if (!b || b.disabled) return;
      if (b.dataset.opt) { draft.modifiers = toggleOption(menu, draft.modifiers, b.dataset.opt); drawSheet(); }
      else if (b.dataset.q) { draft.qty = Math.min(99, Math.max(1, draft.qty + Number(b.dataset.q))); drawSheet(); }
      else if (b.dataset.sheet === "cancel") d.close();
      else if (b.dataset.sheet === "add") { d.close(); addToDraft({ ...draft, note: draft.note.trim() }); }
    };
    d.showModal();
  }

  const sending = new Set(); // bill ids with a send in flight

  async function sendRound(id) {
    if (!id || sending.has(id)) return;
    const draft = readDraft(id);
    if (!draft.lines.length) return;
    // The key is written down BEFORE the request leaves, so a reload mid-send re-sends the
    // same key instead of a new one.
    if (!draft.key) { draft.key = newKey(); writeDraft(id, draft); }
    sending.add(id);
    draw();
    const body = { lines: draft.lines.map((l) => {
      const out = { product_id: l.product_id, qty: l.qty, modifiers: [...l.modifiers], course: l.course ?? "", seat: Number(l.seat) || 0, hold: Boolean(l.hold) };
      if (l.note) out.note = l.note;
      return out;
    }) };
    try {
      const updated = await ctx.api.post(`/api/v1/orders/${encodeURIComponent(id)}/lines`, body,
        { idempotencyKey: draft.key, retries: 2, timeoutMs: 8000 });
      writeDraft(id, { lines: [], key: null });
      sending.delete(id);
      const onScreen = orders.some((x) => x.id === id);
      replaceOrder(updated);
      const round = Math.max(0, ...updated.lines.map((l) => l.round ?? 0));
      ctx.toast(t("w.round_sent", { n: round }) + (onScreen ? "" : ` · ${updated.table ?? ""}`));
      if (onScreen) { message = ""; menuOpen = false; }
      draw();
    } catch (err) {
      sending.delete(id);
      if (err.isNetwork || err.status >= 500 || err.status === 429) {
        if (orders.some((x) => x.id === id)) message = t("w.round_kept"); // key kept: the next send is the same request
        draw();
        reachability.whenOnline().then(() => setTimeout(flushPending, 300));
      } else {
        // The edge answered no: nothing was applied, the waiter may edit and send again.
        writeDraft(id, { ...readDraft(id), key: null });
        if (orders.some((x) => x.id === id)) await fail(err); else ctx.toast(ctx.describe(err));
      }
    }
  }

  /** Re-send every round on this phone still waiting for an answer (same key), whichever
   * table is on screen: a round is never left behind because the waiter moved on. */
  function flushPending() {
    if (reachability.online === false || !ctx.session) return;
    for (let i = 0; i < localStorage.length; i++) {
      const name = localStorage.key(i);
      if (!name?.startsWith("pos.waiter.draft.")) continue;
      const id = name.slice("pos.waiter.draft.".length);
      const d = readDraft(id);
      if (d.key && d.lines.length && !sending.has(id)) sendRound(id);
    }
  }
  const resumePending = flushPending;

  function replaceOrder(updated) {
    if (!updated?.id) return;
    const i = orders.findIndex((x) => x.id === updated.id);
    if (i >= 0) orders[i] = updated; else if (OPEN.has(updated.status) && updated.table_id === tableId) orders.push(updated);
    orders = orders.filter((x) => OPEN.has(x.status));
    if (!orders.some((x) => x.id === orderId)) orderId = orders[0]?.id ?? null;
  }

  // ------------------------------------------------------------ amendments

  /** A refused change: refresh the bill and say in plain words what happened. */
  async function fail(err, { held = false } = {}) {
    if (err.status === 409) {
      await reload().catch(() => null);
      message = err.code === "conflict" ? t("w.conflict")
        : held ? t("w.conflict_sent") : t("w.invalid_state", { why: err.message.replace(/\.?$/, ".") });
    } else message = ctx.describe(err);
    draw();
  }

  async function act(fn, opts) {
    try {
      const out = await fn();
      message = "";
      if (out?.id) replaceOrder(out);
      draw();
      return out;
    } catch (err) { await fail(err, opts); return null; }
  }

  const path = (o, rest = "") => `/api/v1/orders/${encodeURIComponent(o.id)}${rest}`;
  const ifMatch = (o) => ({ headers: { "If-Match": String(o.revision ?? 0) } });

  function editDialog(o, line) {
    const d = ctx.dialog;
    const edit = { qty: line.qty, seat: line.seat ?? 0, course: line.course ?? "", note: line.note ?? "" };
    const drawIt = () => {
      d.innerHTML = `<form class="dlg" data-testid="edit-dialog"><h2 id="dlg-title">${esc(line.name)}</h2>
        <div class="row"><button type="button" data-q="-1" aria-label="${t("qty.less")}">−</button><strong data-testid="edit-qty">${edit.qty}</strong>
          <button type="button" data-q="1" aria-label="${t("qty.more")}">+</button></div>
        <label>${t("w.course")}<select name="course"><option value="">${t("w.course_none")}</option>${ctx.courses.map((k) =>
          `<option value="${esc(k)}" ${k === edit.course ? "selected" : ""}>${esc(ctx.courseName(k))}</option>`).join("")}</select></label>
        <label>${t("w.seatno")}<select name="seat">${Array.from({ length: Math.max(o.covers || 0, edit.seat, 1) + 1 }, (_, s) =>
          `<option value="${s}" ${s === edit.seat ? "selected" : ""}>${s ? `${t("w.seatno")} ${s}` : t("w.seat_shared")}</option>`).join("")}</select></label>
        <label>${t("sheet.note")}<input name="note" maxlength="200" value="${esc(edit.note)}"></label>
        <div class="row"><button type="button" data-close>${t("w.cancel")}</button>
        <button class="primary" type="submit" data-testid="edit-save">${t("w.save")}</button></div></form>`;
    };
    drawIt();
    d.oninput = (ev) => { const { name, value } = ev.target; if (name in edit) edit[name] = name === "seat" ? Number(value) : value; };
    d.onclick = (ev) => {
      const b = ev.target.closest("button");
      if (!b) return;
      if (b.hasAttribute("data-close")) d.close();
      else if (b.dataset.q) { edit.qty = Math.min(99, Math.max(1, edit.qty + Number(b.dataset.q))); drawIt(); }
    };
    d.onsubmit = async (ev) => {
      ev.preventDefault();
      d.close();
      await act(() => ctx.call("PATCH", path(o, `/lines/${encodeURIComponent(line.id)}`),
        { qty: edit.qty, seat: edit.seat, course: edit.course, note: edit.note.trim() }, { ...ifMatch(o), retries: 0 }), { held: true });
    };
    d.showModal();
  }

  function voidDialog(o, line) {
    const d = ctx.dialog;
    let needPin = false;
    const key = newKey();
    const drawIt = (msg = "") => {
      d.innerHTML = `<form class="dlg" data-testid="void-dialog"><h2 id="dlg-title">${t("w.void_title", { item: `${line.qty} × ${esc(line.name)}` })}</h2>
        <label>${t("w.void_reason")}<input name="reason" required maxlength="200" value="${esc(d.querySelector("input[name=reason]")?.value ?? "")}"></label>
        ${needPin ? `<p class="warn">${t("w.manager_needed")}</p><label>${t("w.manager_pin")}<input name="pin" type="password" inputmode="numeric" autocomplete="off" required maxlength="12" data-testid="manager-pin"></label>` : ""}
        <p class="error" role="alert">${esc(msg)}</p>
        <div class="row"><button type="button" data-close>${t("w.cancel")}</button>
        <button class="primary" type="submit" data-testid="void-submit">${t("w.void")}</button></div></form>`;
      d.querySelector(needPin ? "input[name=pin]" : "input[name=reason]").focus();
    };
    drawIt();
    d.oninput = null;
    d.onclick = (ev) => { if (ev.target.closest("[data-close]")) d.close(); };
    d.onsubmit = async (ev) => {
      ev.preventDefault();
      const form = d.querySelector("form");
      const headers = needPin ? { "X-Manager-PIN": form.pin.value.trim() } : {};
      try {
        const updated = await ctx.api.post(path(o, `/lines/${encodeURIComponent(line.id)}/void`),
          { reason: form.reason.value.trim() }, { headers, idempotencyKey: key, retries: 1 });
        d.close();
        replaceOrder(updated); message = ""; draw();
      } catch (err) {
        if (err.status === 403 && err.details?.approval === "manager" && !needPin) { needPin = true; drawIt(); return; }
        if (err.status === 409) { d.close(); await fail(err); return; }
        drawIt(ctx.describe(err));
      }
    };
    d.showModal();
  }

  function pickDialog(title, items, onPick, empty) {
    const d = ctx.dialog;
    d.innerHTML = `<div class="dlg" data-testid="pick-dialog"><h2 id="dlg-title">${esc(title)}</h2>
      <div class="pick-list">${items.map((it) => `<button data-pick-id="${esc(it.id)}" data-testid="pick-item">${it.html}</button>`).join("") || `<p class="muted">${esc(empty)}</p>`}</div>
      <button data-close>${t("w.cancel")}</button></div>`;
    d.oninput = null; d.onsubmit = null;
    d.onclick = async (ev) => {
      const b = ev.target.closest("button");
      if (!b) return;
      if (b.hasAttribute("data-close")) { d.close(); return; }
      if (b.dataset.pickId) { d.close(); await onPick(b.dataset.pickId); }
    };
    d.showModal();
  }

  function moveDialog(o) {
    const free = [...ctx.tables.values()].filter((tv) => tv.status === "free" && tv.id !== tableId);
    pickDialog(t("w.move_title"), free.map((tv) => ({ id: tv.id, html: `<strong>${esc(tv.name)}</strong> <span class="muted">${esc(tv.area)} · ${t("w.seats", { n: tv.seats })}</span>` })),
      async (target) => {
        const moved = await act(() => ctx.api.post(path(o, "/move"), { table_id: target }, { idempotencyKey: newKey() }));
        if (moved) {
          writeDraft(o.id, readDraft(o.id)); // the draft follows the bill (keyed by bill id)
          ctx.toast(t("w.moved", { table: ctx.tableName(target) }));
          ctx.openTable(target);
        }
      }, t("w.no_free"));
  }

  function mergeDialog(o) {
    const others = [];
    for (const tv of ctx.tables.values()) {
      if (tv.id === tableId) continue;
      for (const id of tv.order_ids ?? []) others.push({ id, html: `<strong>${esc(tv.name)}</strong> <span class="money">${ctx.money(tv.amount)}</span>`, table: tv.name });
    }
    for (const x of orders) if (x.id !== o.id) others.push({ id: x.id, html: `${t("w.bill", { n: x.number })} <span class="money">${ctx.money(x.total)}</span>`, table: table?.name });
    pickDialog(t("w.merge_title"), others, async (other) => {
      const merged = await act(() => ctx.api.post(path(o, "/merge"), { order_id: other }, { idempotencyKey: newKey() }));
      if (merged) { ctx.toast(t("w.merged", { table: others.find((x) => x.id === other)?.table ?? "" })); await reload(); }
    }, t("w.no_other"));
  }

  async function onClick(ev) {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.disabled) return;
    const o = order();
    const draft = o ? readDraft(o.id) : null;
    const i = Number(b.dataset.i);
    const line = o?.lines.find((l) => l.id === b.dataset.id);
    switch (b.dataset.action) {
      case "tab": orderId = b.dataset.id; message = ""; draw(); break;
      case "menu": menuOpen = !menuOpen; if (menuOpen && !menu) { draw(); await loadMenu(); } draw(); break;
      case "cat": setCategory(b.dataset.id); drawMenu(); break;
      case "product": productSheet(b.dataset.id); break;
      case "less": if (draft.lines[i].qty > 1) draft.lines[i].qty--; else draft.lines.splice(i, 1); writeDraft(o.id, draft); draw(); break;
      case "more": draft.lines[i].qty = Math.min(99, draft.lines[i].qty + 1); writeDraft(o.id, draft); draw(); break;
      case "remove": draft.lines.splice(i, 1); writeDraft(o.id, draft); draw(); break;
      case "send": await sendRound(o?.id); break;
      case "fire": {
        const course = b.dataset.course ?? "";
        const done = await act(() => ctx.api.post(path(o, "/fire"), { course }, { idempotencyKey: newKey() }));
        if (done) ctx.toast(t("w.fired", { course: course ? ctx.courseName(course) : t("w.held") }));
        break;
      }
      case "edit": if (line) editDialog(o, line); break;
      case "delete": if (line) await act(() => ctx.call("DELETE", path(o, `/lines/${encodeURIComponent(line.id)}`), undefined, { ...ifMatch(o), retries: 0 }), { held: true }); break;
      case "void": if (line) voidDialog(o, line); break;
      case "request-bill": await act(() => ctx.api.post(path(o, "/request-bill"), {}, { idempotencyKey: newKey() })); break;
      case "prebill":
        try {
          await ctx.api.post(path(o, "/print"), { kind: "prebill" }, { idempotencyKey: newKey() });
          ctx.toast(t("w.printed"));
        } catch (err) { await fail(err); }
        break;
      case "move": moveDialog(o); break;
      case "merge": mergeDialog(o); break;
      case "split": splitDialog(ctx, o, async (parts) => {
        ctx.toast(t("w.split_done", { n: parts.length }));
        await reload();
      }, fail); break;
      case "complete": await act(() => ctx.api.post(path(o, "/complete"), undefined)); await reload(); break;
      case "clean": {
        try {
          await ctx.api.post(`/api/v1/tables/${encodeURIComponent(tableId)}/clean`, {});
          ctx.toast(t("w.cleaned", { table: table?.name ?? "" }));
          ctx.showFloor();
        } catch (err) { await fail(err); }
        break;
      }
    }
  }

  function onChange(ev) {
    const target = ev.target;
    if (target.dataset.pick) {
      const k = target.dataset.pick;
      pick[k] = k === "hold" ? target.checked : k === "seat" ? Number(target.value) : target.value;
      return;
    }
    if (target.dataset.draft) {
      const o = order();
      const draft = readDraft(o.id);
      const l = draft.lines[Number(target.dataset.i)];
      if (!l || draft.key) return;
      const k = target.dataset.draft;
      l[k] = k === "hold" ? target.checked : k === "seat" ? Number(target.value) : target.value;
      writeDraft(o.id, draft);
    }
  }

  let timer = null;
  function soon() { clearTimeout(timer); timer = setTimeout(() => reload().catch(() => null), 150); }

  return {
    mount(target) {
      if (tableId !== ctx.tableId) { orders = []; orderId = null; table = null; message = ""; menuOpen = false; }
      tableId = ctx.tableId;
      el = target;
      el.innerHTML = `<div class="bill-view"><section class="bill-head"></section><div class="bill-body" aria-live="polite"></div>
        <section class="menu-panel" aria-label="${t("menu.title")}" hidden></section></div>`;
      el = el.firstElementChild;
      el.addEventListener("click", onClick);
      el.addEventListener("change", onChange);
      draw();
      reload().catch((err) => { message = ctx.describe(err); draw(); });
      loadMenu().then(() => drawMenu());
    },
    reload: () => (el?.isConnected && tableId ? reload() : Promise.resolve(flushPending())),
    flushPending,
    onOrder(o) {
      if (!el?.isConnected || !o) return;
      if (o.table_id === tableId || orders.some((x) => x.id === o.id)) soon();
    },
    onTable(tv) {
      // A payment, a guest round, a status: the table's event says something changed on
      // one of its bills; the bill is read again (and redrawn only if it differs).
      if (!el?.isConnected || tv.id !== tableId) return;
      table = tv;
      soon();
    },
  };
}
