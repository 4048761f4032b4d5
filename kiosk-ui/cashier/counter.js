// A new order taken at the counter: menu grid, an option sheet enforcing each modifier
// group's min/max, the ticket with running totals, order type, the customer's name (called
// out, and searchable in the open-orders list) and a note, then place the order (one
// idempotency key per ticket) and go straight to payment. "Mark sold out" turns the grid
// into availability switches: the kiosk and every other screen see it live. The menu is the
// shell's cached one (ctx.loadMenu), which the open-orders view also names lines from.
import { newKey } from "../common/api.js";
import { groupHint, toggleOption, toOrderLine } from "../common/menu.js";

export function counterView(ctx) {
  const { t, esc } = ctx;
  let el = null, menu = null, category = null, cart = [], type = "takeaway", note = "", customer = "";
  let key = newKey(), error = "", draft = null, placing = false, availabilityMode = false;

  async function loadMenu() {
    try {
      menu = await ctx.loadMenu();
      if (!category || !menu.categories.some((c) => c.id === category)) category = menu.categories[0]?.id;
    } catch (err) { error = ctx.describe(err); }
  }

  function onLiveEvent(ev) {
    if (ev.topic !== "menu" || !menu) return;
    // The shell already applied an availability change to the shared menu; a new catalog
    // is read again.
    if (ev.type !== "product.availability") { loadMenu().then(() => { if (el) draw(); }); return; }
    if (el) draw();
  }

  function draw() {
    if (!el) return;
    if (!menu) { el.innerHTML = `<p class="muted" style="padding:1rem">${t("menu.loading")}</p>`; return; }
    const tot = menu.totals(cart);
    el.innerHTML = `<div class="pos">
      <nav class="cats" aria-label="${t("menu.categories")}">${menu.categories.map((c) =>
        `<button data-action="cat" data-id="${esc(c.id)}" aria-current="${c.id === category}">${esc(ctx.i18n.name(c))}</button>`).join("")}</nav>
      <section class="grid" aria-label="${t("menu.title")}">
        <div class="grid-tools" style="grid-column:1/-1">
          <button data-action="availability" aria-pressed="${availabilityMode}" data-testid="availability-mode">${availabilityMode ? t("avail.done") : t("avail.mode")}</button>
          ${availabilityMode ? `<span class="muted">${t("avail.hint")}</span>` : ""}</div>
        ${menu.productsIn(category).map((p) => {
          const soldOut = p.available === false;
          const action = availabilityMode ? "toggle-available" : "product";
          return `<button data-action="${action}" data-id="${esc(p.id)}" ${soldOut && !availabilityMode ? "disabled" : ""}
            ${availabilityMode ? `aria-pressed="${soldOut}"` : ""} class="${soldOut ? "soldout" : ""}" data-testid="counter-product">
            <strong>${esc(ctx.i18n.name(p))}</strong><span class="money">${soldOut ? t("menu.soldout") : ctx.money(p.price)}</span></button>`;
        }).join("")}</section>
      <section class="ticket" aria-label="${t("cart.title")}">
        <h2>${t("orders.new")}</h2>
        <ul class="lines">${cart.map((l, i) => `<li><span>${l.qty} × ${esc(ctx.i18n.name(menu.products.get(l.product_id)))}</span>
          <span class="money">${ctx.money(menu.unitPrice(l) * l.qty)}</span>
          <span class="mods muted">${l.modifiers.map((id) => esc(ctx.i18n.name(menu.options.get(id)))).join(", ")}</span>
          <span class="row"><button data-action="less" data-i="${i}" aria-label="${t("qty.less")}">−</button>
          <button data-action="more" data-i="${i}" aria-label="${t("qty.more")}">+</button>
          <button data-action="remove" data-i="${i}">${t("cart.remove")}</button></span></li>`).join("") || `<li class="muted">${t("cart.empty")}</li>`}</ul>
        <div class="totals">
          <span>${t("total.subtotal")}</span><span class="money">${ctx.money(tot.subtotal)}</span>
          <span>${t("total.service")}</span><span class="money">${ctx.money(tot.serviceCharge)}</span>
          <span>${t("total.tax")}</span><span class="money">${ctx.money(tot.tax)}</span>
          ${tot.rounding || ctx.roundingUnit() > 1 ? `<span>${ctx.roundingUnit() > 1 ? t("total.rounding_unit", { unit: ctx.money(ctx.roundingUnit()).replace(/^Rp /, "") }) : t("total.rounding")}</span><span class="money" data-testid="counter-rounding">${ctx.money(tot.rounding)}</span>` : ""}
          <span class="grand">${t("total.total")}</span><span class="grand money" data-testid="counter-total">${ctx.money(tot.total)}</span></div>
        <div class="methods" role="group" aria-label="${t("type.title")}">
          <button data-action="type" data-type="dine_in" aria-pressed="${type === "dine_in"}">${t("type.dine_in")}</button>
          <button data-action="type" data-type="takeaway" aria-pressed="${type === "takeaway"}">${t("type.takeaway")}</button></div>
        <label>${t("order.customer")}<input name="customer" maxlength="200" autocomplete="off" value="${esc(customer)}" data-testid="counter-customer"></label>
        <label>${t("sheet.note")}<input name="note" maxlength="500" value="${esc(note)}"></label>
        <p class="error" role="alert">${esc(error)}</p>
        <button class="primary big" data-action="place" data-testid="place-order" ${cart.length && !placing ? "" : "disabled"}>${t("order.place")}</button>
      </section></div>`;
  }

  function openSheet(productId) {
    const p = menu.products.get(productId);
    if (!menu.groupsOf(p).length) { addLine({ product_id: productId, qty: 1, modifiers: [] }); return; }
    draft = { product_id: productId, qty: 1, modifiers: [] };
    drawSheet();
    ctx.dialog.showModal();
  }

  function drawSheet() {
    const p = menu.products.get(draft.product_id);
    const unmet = menu.unmetGroups(p, draft.modifiers);
    ctx.dialog.innerHTML = `<div class="dlg" data-testid="counter-sheet"><h2 id="dlg-title">${esc(ctx.i18n.name(p))}</h2>
      ${menu.groupsOf(p).map((g) => {
        const chosen = draft.modifiers.filter((id) => menu.options.get(id)?.group_id === g.id).length;
        const full = g.max_choices > 1 && chosen >= g.max_choices;
        return `<fieldset class="group" style="border:none;padding:0"><legend><strong>${esc(ctx.i18n.name(g))}</strong> · ${groupHint(g, t)}</legend>
          <div class="opts">${g.options.map((o) => {
            const on = draft.modifiers.includes(o.id);
            return `<button data-opt="${esc(o.id)}" aria-pressed="${on}" ${o.available === false || (full && !on) ? "disabled" : ""}>${esc(ctx.i18n.name(o))}${o.price_delta ? ` <span class="money">+${ctx.money(o.price_delta)}</span>` : ""}</button>`;
          }).join("")}</div></fieldset>`;
      }).join("")}
      <p class="error">${unmet.length ? t("sheet.missing", { groups: unmet.map((g) => esc(ctx.i18n.name(g))).join(", ") }) : ""}</p>
      <div class="row"><button data-sheet="cancel">${t("sheet.cancel")}</button>
      <button class="primary" data-sheet="add" ${unmet.length ? "disabled" : ""}>${t("sheet.add")} · ${ctx.money(menu.unitPrice(draft))}</button></div></div>`;
  }

  ctx.dialog.addEventListener("click", (ev) => {
    if (!draft) return;
    const b = ev.target.closest("button");
    if (!b || b.disabled) return;
    if (b.dataset.opt) { draft.modifiers = toggleOption(menu, draft.modifiers, b.dataset.opt); drawSheet(); }
    else if (b.dataset.sheet === "cancel") { ctx.dialog.close(); draft = null; }
    else if (b.dataset.sheet === "add") { addLine(draft); ctx.dialog.close(); draft = null; }
  });

  function addLine(line) {
    const sig = (l) => l.product_id + "|" + [...l.modifiers].sort().join();
    const same = cart.find((l) => sig(l) === sig(line));
    if (same) same.qty += line.qty; else cart.push({ ...line, modifiers: [...line.modifiers] });
    key = newKey(); // the ticket changed: it is a different order now
    draw();
  }

  async function place() {
    placing = true; draw();
    const body = { type, lines: cart.map(toOrderLine) };
    if (note.trim()) body.note = note.trim();
    if (customer.trim()) body.customer_name = customer.trim();
    try {
      const order = await ctx.api.post("/api/v1/orders", body, { idempotencyKey: key, timeoutMs: 8000 });
      cart = []; note = ""; customer = ""; key = newKey(); error = "";
      ctx.toast(t("order.placed", { n: order.number }));
      await ctx.showOrder(order.id);
    } catch (err) {
      // No answer: the edge may have it; the same key is re-sent on the next tap, so it is
      // never placed twice. Refused: nothing was placed, say why.
      error = err.isNetwork ? t("out.order_unknown", { button: t("order.place") }) : ctx.failed("act.place", err);
    } finally {
      placing = false;
      draw();
    }
  }

  async function toggleAvailable(productId) {
    const p = menu.products.get(productId);
    const available = p.available === false;
    try {
      await ctx.api.put(`/api/v1/menu/products/${encodeURIComponent(productId)}/availability`, { available });
      menu.setAvailable(productId, available);
      error = "";
    } catch (err) { error = ctx.failed("act.availability", err); }
    draw();
  }

  function onClick(ev) {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.disabled) return;
    const i = Number(b.dataset.i);
    switch (b.dataset.action) {
      case "availability": availabilityMode = !availabilityMode; break;
      case "toggle-available": toggleAvailable(b.dataset.id); return;
      case "cat": category = b.dataset.id; break;
      case "product": openSheet(b.dataset.id); return;
      case "less": cart[i].qty > 1 ? cart[i].qty-- : cart.splice(i, 1); key = newKey(); break;
      case "more": cart[i].qty++; key = newKey(); break;
      case "remove": cart.splice(i, 1); key = newKey(); break;
      case "type": type = b.dataset.type; key = newKey(); break;
      case "place": place(); return;
    }
    draw();
  }

  return {
    async mount(target) {
      el = target;
      el.addEventListener("click", onClick);
      el.addEventListener("input", (ev) => {
        if (ev.target.name === "note") { note = ev.target.value; key = newKey(); }
        if (ev.target.name === "customer") { customer = ev.target.value; key = newKey(); }
      });
      draw();
      await loadMenu();
      draw();
    },
    refresh: loadMenu,
    onLiveEvent,
  };
}
