// Menu editor: categories; products (rename, Indonesian name, price, availability, modifier
// groups, display order, delete and restore); modifier groups (options with their price
// changes, order and availability, min/max choice rules); per-outlet price and availability
// overrides; and publishing the brand's menu as a new catalog version.
// Edits change the hub's draft; outlets receive them only after "Publish".
// The base `name` is the English name (also sent as names.en); names.id is the Indonesian one.
import { del, get, patch, post, put } from "../api.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { dateTime, money, moneyInput, parsePrice } from "../format.js";
import { R, items } from "../routes.js";
import { label, lang, t } from "../i18n.js";

const productOrder = (categoryId) => `/catalog/categories/${encodeURIComponent(categoryId)}/product-order`;
const productRestore = (productId) => `/catalog/products/${encodeURIComponent(productId)}/restore`;

/** The catalog's Indonesian name when the dashboard speaks Indonesian, else the base name. */
function localName(item) {
  return (lang() === "id" && item.names?.id) || item.name;
}

/** `names` with the Indonesian one set (or removed when empty) and English = the base name. */
function namesWith(names, base, indonesian) {
  const next = { ...(names || {}) };
  const id = String(indonesian || "").trim();
  if (id) next.id = id; else delete next.id;
  if (String(base || "").trim()) next.en = String(base).trim();
  return next;
}

/** A modifier's price change as typed: "" = 0, "5.000", "+5.000", "-2.000" (parsePrice rules). */
function parseDelta(text, currency) {
  const raw = String(text ?? "").trim();
  if (raw === "") return 0;
  const sign = raw.startsWith("-") ? -1 : 1;
  return sign * parsePrice(raw.replace(/^[+-]\s*/, ""), currency);
}

/** Minor units -> the text a price-change field shows ("5.000", "-2.000", "" for none). */
function deltaInput(amount, currency) {
  return amount ? moneyInput(amount, currency) : "";
}

/** A group's min/max rule in words ("Exactly 1", "Up to 3, optional", "1 to 2"). */
function choiceRule(g) {
  const min = g.min_choices, max = g.max_choices;
  if (min === max) return t("Exactly {n}", { n: min });
  if (min === 0) return t("Up to {max}, optional", { max });
  return t("{min} to {max}", { min, max });
}

/** `list` with the item at `from` moved to `to`. */
function moved(list, from, to) {
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item);
  return next;
}

/**
 * Ask before a destructive action, in a modal <dialog> in the page's language.
 * Resolves true only when the person presses the confirm button.
 */
function confirmAction(question, confirmText) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-q" });
    const done = (answer) => { dialog.close(); dialog.remove(); resolve(answer); };
    const cancel = h("button", { type: "button", onclick: () => done(false) }, t("Cancel"));
    dialog.append(
      h("p", { id: "confirm-q" }, question),
      h("div", { class: "row-actions" }, cancel,
        h("button", { type: "button", class: "danger", onclick: () => done(true) }, confirmText)));
    dialog.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus(); // the safe answer is the default
  });
}

export async function render(main) {
  const message = h("p", { role: "status", hidden: true });
  const brandSel = selectField(t("Brand"), [], { name: "brand" });
  const scopeSel = selectField(t("Prices for"), [["", t("All outlets (brand price)")]], { name: "scope" });
  const publishBtn = h("button", { type: "button", class: "primary" }, t("Publish menu"));
  const versionText = h("span", { class: "muted", dataset: { testid: "catalog-version" } });
  const catList = h("ul", { class: "cat-list", "aria-label": t("Categories") });
  const productPanel = h("div");
  const groupPanel = h("div");

  const state = { brands: [], outlets: [], categories: [], products: [], archived: [], groups: [],
    prices: {}, availability: {}, categoryId: null, currency: "IDR", editing: null };

  const brandId = () => brandSel.input.value;
  const outletId = () => scopeSel.input.value;
  const cur = () => state.currency;
  const bySort = (a, b) => a.sort - b.sort || a.name.localeCompare(b.name);

  function say(text, kind = "ok") { notice(message, text, kind); }

  // Runs one user action: the previous message goes at once (so a repeated "Saved X" is a new
  // message, not the old one), and any failure is shown instead of swallowed.
  async function guard(fn) {
    notice(message, "");
    try { await fn(); } catch (err) { say(err.message, "error"); }
  }

  // ------------------------------------------------------------ loading
  async function loadBrand() {
    const q = `?brand_id=${encodeURIComponent(brandId())}`;
    const [cats, prods, groups] = await Promise.all([
      get(R.categories + q), get(R.products + q + "&include_archived=true"), get(R.modifierGroups + q)]);
    state.categories = items(cats).filter((c) => !c.archived).sort(bySort);
    const all = items(prods);
    state.products = all.filter((p) => !p.archived);
    state.archived = all.filter((p) => p.archived);
    state.groups = items(groups).filter((g) => !g.archived);
    if (!state.categories.some((c) => c.id === state.categoryId)) {
      state.categoryId = state.categories.length ? state.categories[0].id : null;
    }
    if (state.editing && !state.groups.some((g) => g.id === state.editing)) state.editing = null;
    await loadOverrides();
    await loadVersions();
    drawCategories();
    drawProducts();
    if (!state.editing) drawGroups(); // a group being edited keeps its unsaved options
  }

  async function loadOverrides() {
    state.prices = {};
    state.availability = {};
    if (!outletId()) return;
    const [prices, avail] = await Promise.all([
      get(R.outletPrices(outletId())), get(R.outletAvailability(outletId()))]);
    for (const p of items(prices)) state.prices[p.product_id] = p.price;
    for (const a of items(avail)) state.availability[a.product_id] = a.available;
  }

  async function loadVersions() {
    try {
      const versions = items(await get(R.versions(brandId())));
      const latest = versions.reduce((a, v) => (!a || v.version > a.version ? v : a), null);
      versionText.textContent = latest
        ? t("Published version {version} · {time}", { version: latest.version, time: dateTime(latest.published_at) }) : t("Never published");
    } catch {
      versionText.textContent = "";
    }
  }

  // ------------------------------------------------------------ categories
  function drawCategories() {
    mount(catList, state.categories.map((c) => h("li", {},
      h("button", {
        type: "button", "aria-pressed": String(c.id === state.categoryId),
        onclick: () => { state.categoryId = c.id; drawCategories(); drawProducts(); },
      }, localName(c), h("span", { class: "muted" }, ` · ${label(c.station)}`)))));
  }

  const catName = field(t("Name"), { name: "category_name", required: true, maxlength: 200 });
  const catNameId = field(t("Name (Indonesian)"), { name: "category_name_id", maxlength: 200 });
  const catStation = selectField(t("Kitchen station"), [["kitchen", label("kitchen")], ["bar", label("bar")]], { name: "station" });
  const catForm = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      guard(async () => {
        const created = await post(R.categories, {
          brand_id: brandId(), name: catName.input.value.trim(),
          station: catStation.input.value || "kitchen", sort: state.categories.length,
          names: namesWith({}, catName.input.value, catNameId.input.value),
        });
        catNameId.input.value = "";
        state.categoryId = created.id;
        catName.input.value = "";
        await loadBrand();
        say(t("Category “{name}” added.", { name: created.name }));
      });
    },
  }, catName.wrap, catNameId.wrap, catStation.wrap, h("button", { type: "submit" }, t("Add category")));

  // ------------------------------------------------------------ products
  const categoryProducts = () => state.products.filter((p) => p.category_id === state.categoryId).sort(bySort);

  async function move(p, step) {
    const list = categoryProducts();
    const from = list.findIndex((x) => x.id === p.id);
    const to = from + step;
    if (from < 0 || to < 0 || to >= list.length) return;
    try {
      await put(productOrder(state.categoryId), { product_ids: moved(list, from, to).map((x) => x.id) });
    } catch (err) {
      if (err.status !== 409) throw err;
      await loadBrand(); // someone else changed the category: show what is there now
      throw new Error(t("The category changed meanwhile; it is shown again. Try the move once more."));
    }
    await loadBrand();
    say(t("Order saved. Publish to send it to the outlets."));
    // Keep the keyboard where it was: on the moved product's same button (or its other one).
    const buttons = [...productPanel.querySelectorAll(`[data-product='${CSS.escape(p.id)}'] button[data-move]`)];
    const same = buttons.find((b) => b.dataset.move === (step < 0 ? "up" : "down"));
    (same && !same.disabled ? same : buttons.find((b) => !b.disabled))?.focus();
  }

  async function remove(p) {
    const sure = await confirmAction(
      t("Delete “{name}” from the menu? Past orders and reports keep it; you can restore it later.", { name: localName(p) }),
      t("Delete"));
    if (!sure) return;
    await del(R.product(p.id));
    await loadBrand();
    say(t("“{name}” deleted. Publish to remove it from the outlets.", { name: localName(p) }));
  }

  function groupPicker(p) {
    const chosen = p.modifier_group_ids || [];
    // The product's groups first, in its order, then the brand's others.
    const ordered = [...chosen.map((id) => state.groups.find((g) => g.id === id)).filter(Boolean),
      ...state.groups.filter((g) => !chosen.includes(g.id))];
    const boxes = ordered.map((g) => {
      const box = h("input", { type: "checkbox", value: g.id, id: `pg-${p.id}-${g.id}`, checked: chosen.includes(g.id) });
      return { box, wrap: h("div", { class: "field check" }, box, h("label", { for: box.id }, localName(g))) };
    });
    const names = chosen.map((id) => state.groups.find((g) => g.id === id)).filter(Boolean).map(localName);
    const details = h("details", { class: "product-groups" },
      h("summary", {}, names.length ? t("Modifier groups: {names}", { names: names.join(", ") }) : t("No modifier groups")),
      boxes.length ? boxes.map((b) => b.wrap) : h("p", { class: "muted" }, t("No modifier groups yet.")));
    const value = () => {
      const on = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
      return [...chosen.filter((id) => on.includes(id)), ...on.filter((id) => !chosen.includes(id))];
    };
    return { details, value };
  }

  function productRow(p, index, count) {
    const overridden = outletId() !== "";
    const priceValue = overridden ? (p.id in state.prices ? moneyInput(state.prices[p.id], cur()) : "")
      : moneyInput(p.price, cur());
    const price = h("input", {
      type: "text", inputmode: "decimal", value: priceValue, size: 9, name: "price",
      "aria-label": overridden ? t("Outlet price of {name} (empty = brand price)", { name: p.name }) : t("Price of {name}", { name: p.name }),
      placeholder: overridden ? moneyInput(p.price, cur()) : "",
    });
    const availableNow = overridden ? (state.availability[p.id] ?? p.available) : p.available;
    const available = h("input", { type: "checkbox", name: "available", "aria-label": t("{name} available", { name: p.name }), checked: availableNow });
    const save = h("button", { type: "button" }, t("Save"));
    save.setAttribute("aria-label", t("Save {name}", { name: p.name }));
    const groupNames = (p.modifier_group_ids || []).map((id) => state.groups.find((g) => g.id === id)).filter(Boolean).map(localName);

    if (overridden) {
      save.addEventListener("click", () => guard(async () => {
        const text = price.value.trim();
        const amount = text === "" ? null : parsePrice(text, cur());
        if (amount === null) {
          if (p.id in state.prices) await del(R.outletPrice(outletId(), p.id));
        } else {
          await put(R.outletPrice(outletId(), p.id), { price: amount });
        }
        if (available.checked !== availableNow) {
          await put(R.outletProductAvailability(outletId(), p.id), { available: available.checked });
        }
        await loadBrand();
        say(t("Saved {name}. Publish to send it to the outlets.", { name: p.name }));
      }));
      return h("tr", { dataset: { product: p.id } },
        h("th", { scope: "row" }, localName(p), groupNames.length ? h("div", { class: "muted" }, groupNames.join(", ")) : null),
        h("td", { class: "num" }, money(p.price, cur())),
        h("td", {}, price), h("td", {}, available), h("td", {}, save));
    }

    const nameEn = h("input", { type: "text", name: "name", value: p.name, maxlength: 200, size: 16, required: true,
      "aria-label": t("English name of {name}", { name: p.name }), placeholder: t("Name (English)") });
    const nameId = h("input", { type: "text", name: "name_id", value: p.names?.id || "", maxlength: 200,
      size: 16, "aria-label": t("Indonesian name of {name}", { name: p.name }), placeholder: t("Name (Indonesian)") });
    const groups = groupPicker(p);
    save.addEventListener("click", () => guard(async () => {
      const text = price.value.trim();
      if (text === "") throw new Error(t("A product needs a price"));
      const name = nameEn.value.trim();
      if (!name) throw new Error(t("A product needs a name"));
      await patch(R.product(p.id), { name, price: parsePrice(text, cur()), available: available.checked,
        names: namesWith(p.names, name, nameId.value), modifier_group_ids: groups.value() });
      await loadBrand();
      say(t("Saved {name}. Publish to send it to the outlets.", { name }));
    }));
    const up = h("button", { type: "button", class: "icon", dataset: { move: "up" }, disabled: index === 0,
      "aria-label": t("Move {name} up", { name: p.name }), title: t("Move up"),
      onclick: () => guard(() => move(p, -1)) }, "↑");
    const down = h("button", { type: "button", class: "icon", dataset: { move: "down" }, disabled: index === count - 1,
      "aria-label": t("Move {name} down", { name: p.name }), title: t("Move down"),
      onclick: () => guard(() => move(p, 1)) }, "↓");
    const remover = h("button", { type: "button", class: "danger", "aria-label": t("Delete {name}", { name: p.name }),
      onclick: () => guard(() => remove(p)) }, t("Delete"));
    return h("tr", { dataset: { product: p.id } },
      h("td", { class: "order" }, h("div", { class: "row-actions" }, up, down)),
      h("th", { scope: "row" }, h("span", { class: "product-name" }, localName(p)), groups.details),
      h("td", {}, h("div", { class: "names" }, nameEn, nameId)),
      h("td", {}, price), h("td", {}, available), h("td", {}, h("div", { class: "row-actions" }, save, remover)));
  }

  function archivedList(category) {
    const gone = state.archived.filter((p) => p.category_id === category.id).sort((a, b) => a.name.localeCompare(b.name));
    if (!gone.length) return null;
    return h("details", { class: "archived" },
      h("summary", {}, t("Deleted products ({count})", { count: gone.length })),
      h("ul", {}, gone.map((p) => h("li", {}, localName(p), " ",
        h("button", { type: "button", "aria-label": t("Restore {name}", { name: p.name }),
          onclick: () => guard(async () => {
            await post(productRestore(p.id), {});
            await loadBrand();
            say(t("“{name}” restored, last in its category. Publish to send it to the outlets.", { name: localName(p) }));
          }) }, t("Restore"))))));
  }

  function drawProducts() {
    const category = state.categories.find((c) => c.id === state.categoryId);
    if (!category) {
      mount(productPanel, h("p", { class: "muted" }, t("Add a category to start the menu.")));
      return;
    }
    const overridden = outletId() !== "";
    const products = categoryProducts();
    const pName = field(t("Name"), { name: "product_name", required: true, maxlength: 200 });
    const pNameId = field(t("Name (Indonesian)"), { name: "product_name_id", maxlength: 200 });
    const pPrice = field(t("Price ({currency})", { currency: cur() }), { name: "product_price", required: true,
      inputmode: "decimal", placeholder: cur() === "IDR" ? "21.500" : "12.50" });
    const groupChoice = state.groups.map((g) => {
      const box = h("input", { type: "checkbox", value: g.id, id: `pg-${g.id}` });
      return h("div", { class: "field check" }, box, h("label", { for: `pg-${g.id}` }, localName(g)));
    });
    const addForm = h("form", {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        guard(async () => {
          const amount = parsePrice(pPrice.input.value, cur());
          const chosen = [...addForm.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
          const last = products.reduce((m, p) => Math.max(m, p.sort), -1);
          const created = await post(R.products, {
            brand_id: brandId(), category_id: category.id, name: pName.input.value.trim(),
            price: amount, modifier_group_ids: chosen, sort: last + 1,
            names: namesWith({}, pName.input.value, pNameId.input.value),
          });
          await loadBrand();
          say(t("Product “{name}” added.", { name: created.name }));
        });
      },
    }, pName.wrap, pNameId.wrap, pPrice.wrap, groupChoice, h("button", { type: "submit" }, t("Add product")));
    const col = (text, attrs = {}) => h("th", { scope: "col", ...attrs }, text);
    const head = overridden
      ? [col(t("Product")), col(t("Brand price"), { class: "num" }), col(t("Outlet price")), col(t("Available")),
        col(h("span", { class: "skip" }, t("Actions")))]
      : [col(h("span", { class: "skip" }, t("Order"))), col(t("Product")), col(t("Name: English, Indonesian")),
        col(t("Price")), col(t("Available")), col(h("span", { class: "skip" }, t("Actions")))];
    mount(productPanel,
      h("section", { class: "card", "aria-labelledby": "products-h" },
        h("h3", { id: "products-h" }, t("{name}: products", { name: localName(category) }),
          overridden ? h("span", { class: "muted" }, t(" · overrides for {outlet}", { outlet: scopeSel.input.selectedOptions[0].textContent })) : null),
        overridden ? null : h("p", { class: "muted" }, t("Products show in this order on the kiosk, the till and the waiter's phone.")),
        h("table", { class: "menu-products" },
          h("thead", {}, h("tr", {}, head)),
          h("tbody", {}, products.length ? products.map((p, i) => productRow(p, i, products.length))
            : h("tr", {}, h("td", { colspan: head.length }, t("No products in this category yet."))))),
        overridden ? null : archivedList(category),
        overridden ? null : h("h3", {}, t("Add a product")), overridden ? null : addForm));
  }

  // ------------------------------------------------------------ modifier groups
  function groupEditor(g) {
    const gName = field(t("Group name"), { name: "group_name", required: true, maxlength: 200, value: g.name });
    const gNameId = field(t("Name (Indonesian)"), { name: "group_name_id", maxlength: 200, value: g.names?.id || "" });
    const gMin = field(t("Min choices"), { type: "number", min: 0, max: 50, value: g.min_choices, name: "min_choices" });
    const gMax = field(t("Max choices"), { type: "number", min: 1, max: 50, value: g.max_choices, name: "max_choices" });
    // The options being edited; inputs are read back into it before every redraw.
    let draft = g.options.map((o) => ({ id: o.id, name: o.name, nameId: o.names?.id || "", names: o.names || {},
      delta: deltaInput(o.price_delta, cur()), available: o.available }));
    const body = h("tbody");

    function readBack() {
      [...body.querySelectorAll("tr")].forEach((row, i) => {
        const q = (n) => row.querySelector(`[name=${n}]`);
        Object.assign(draft[i], { name: q("option_name").value, nameId: q("option_name_id").value,
          delta: q("option_delta").value, available: q("option_available").checked });
      });
    }

    function redraw(focusSelector) {
      mount(body, draft.length ? draft.map((o, i) => {
        const n = i + 1;
        const step = (by) => () => { readBack(); draft = moved(draft, i, i + by); redraw(`tr:nth-child(${i + by + 1}) [data-move=${by < 0 ? "up" : "down"}]`); };
        return h("tr", {},
          h("td", { class: "order" }, h("div", { class: "row-actions" },
            h("button", { type: "button", class: "icon", dataset: { move: "up" }, disabled: i === 0,
              "aria-label": t("Move option {n} up", { n }), title: t("Move up"), onclick: step(-1) }, "↑"),
            h("button", { type: "button", class: "icon", dataset: { move: "down" }, disabled: i === draft.length - 1,
              "aria-label": t("Move option {n} down", { n }), title: t("Move down"), onclick: step(1) }, "↓"))),
          h("td", {}, h("input", { type: "text", name: "option_name", value: o.name, maxlength: 200, size: 14, required: true,
            "aria-label": t("Option {n}: name", { n }) })),
          h("td", {}, h("input", { type: "text", name: "option_name_id", value: o.nameId, maxlength: 200, size: 14,
            "aria-label": t("Option {n}: Indonesian name", { n }) })),
          h("td", {}, h("input", { type: "text", name: "option_delta", value: o.delta, size: 8, inputmode: "decimal",
            placeholder: "0", "aria-label": t("Option {n}: price change", { n }) })),
          h("td", {}, h("input", { type: "checkbox", name: "option_available", checked: o.available,
            "aria-label": t("Option {n}: available", { n }) })),
          h("td", {}, h("button", { type: "button", class: "danger", "aria-label": t("Remove option {n}", { n }),
            onclick: () => { readBack(); draft.splice(i, 1); redraw(); } }, t("Remove"))));
      }) : h("tr", {}, h("td", { colspan: 6, class: "muted" }, t("No options yet."))));
      if (focusSelector) body.querySelector(focusSelector)?.focus();
    }
    redraw();

    const addOption = h("button", { type: "button", onclick: () => {
      readBack();
      draft.push({ id: null, name: "", nameId: "", names: {}, delta: "", available: true });
      redraw(`tr:last-child [name=option_name]`);
    } }, t("Add option"));

    const close = () => { state.editing = null; drawGroups(); };
    const form = h("form", {
      class: "group-editor", "aria-labelledby": "group-edit-h",
      onsubmit: (e) => {
        e.preventDefault();
        guard(async () => {
          readBack();
          const min = Number(gMin.input.value), max = Number(gMax.input.value);
          const options = draft.map((o, i) => {
            const name = o.name.trim();
            if (!name) throw new Error(t("Option {n} needs a name.", { n: i + 1 }));
            let delta;
            try { delta = parseDelta(o.delta, cur()); } catch (err) {
              throw new Error(t("Option “{line}”: {error}", { line: name, error: err.message }));
            }
            return { ...(o.id ? { id: o.id } : {}), name, price_delta: delta, available: o.available, sort: i,
              names: namesWith(o.names, name, o.nameId) };
          });
          if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < 1) throw new Error(t("Choices must be whole numbers: min 0 or more, max 1 or more."));
          if (min > max) throw new Error(t("Min choices cannot be more than max choices."));
          if (min > options.length) throw new Error(t("Min choices cannot be more than the number of options."));
          const dropped = g.options.filter((o) => !options.some((x) => x.id === o.id));
          if (dropped.length && !(await confirmAction(
            t("Remove {names} from “{group}”? Past orders keep them.", { names: dropped.map(localName).join(", "), group: localName(g) }),
            t("Remove")))) return;
          const name = gName.input.value.trim();
          await patch(R.modifierGroup(g.id), { name, min_choices: min, max_choices: max, options,
            names: namesWith(g.names, name, gNameId.input.value) });
          state.editing = null;
          await loadBrand();
          say(t("Saved {name}. Publish to send it to the outlets.", { name }));
        });
      },
    },
    h("h4", { id: "group-edit-h" }, t("Edit modifier group “{name}”", { name: localName(g) })),
    h("div", { class: "inline" }, gName.wrap, gNameId.wrap, gMin.wrap, gMax.wrap),
    h("p", { class: "muted" }, t("Min 0 makes the group optional; min 1 and max 1 means exactly one choice.")),
    h("table", { class: "menu-options" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("span", { class: "skip" }, t("Order"))),
        h("th", { scope: "col" }, t("Name (English)")), h("th", { scope: "col" }, t("Name (Indonesian)")),
        h("th", { scope: "col" }, t("Price change ({currency})", { currency: cur() })),
        h("th", { scope: "col" }, t("Available")), h("th", { scope: "col" }, h("span", { class: "skip" }, t("Actions"))))),
      body),
    h("div", { class: "row-actions" }, addOption,
      h("button", { type: "submit", class: "primary" }, t("Save group")),
      h("button", { type: "button", onclick: close }, t("Cancel"))));
    return form;
  }

  async function removeGroup(g) {
    const users = state.products.filter((p) => (p.modifier_group_ids || []).includes(g.id)).map(localName);
    const question = users.length
      ? t("Delete modifier group “{name}”? {products} will no longer offer it.", { name: localName(g), products: users.join(", ") })
      : t("Delete modifier group “{name}”?", { name: localName(g) });
    if (!(await confirmAction(question, t("Delete")))) return;
    await del(R.modifierGroup(g.id));
    state.editing = null;
    await loadBrand();
    say(t("Modifier group “{name}” deleted. Publish to send it to the outlets.", { name: localName(g) }));
  }

  function drawGroups(focusEditor = false) {
    const editing = state.groups.find((g) => g.id === state.editing);
    const gName = field(t("Group name"), { name: "group_name", required: true, maxlength: 200 });
    const gNameId = field(t("Name (Indonesian)"), { name: "group_name_id", maxlength: 200 });
    const gMin = field(t("Min choices"), { type: "number", min: 0, max: 50, value: 0, name: "min_choices" });
    const gMax = field(t("Max choices"), { type: "number", min: 1, max: 50, value: 1, name: "max_choices" });
    const gOptions = field(t("Options, one per line: name, price change"), {
      name: "options", rows: 4, placeholder: "Less sugar, 0\nExtra shot, 5.000",
    }, "textarea");
    const form = h("form", {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        guard(async () => {
          const options = gOptions.input.value.split("\n").map((l) => l.trim()).filter(Boolean).map((line, index) => {
            const [name, delta = "0"] = line.split(/,(?=[^,]*$)/);
            let amount;
            try { amount = parseDelta(delta, cur()); } catch (err) {
              throw new Error(t("Option “{line}”: {error}", { line, error: err.message }));
            }
            return { name: name.trim(), price_delta: amount, sort: index };
          });
          await post(R.modifierGroups, {
            brand_id: brandId(), name: gName.input.value.trim(), min_choices: Number(gMin.input.value),
            max_choices: Number(gMax.input.value), options,
            names: namesWith({}, gName.input.value, gNameId.input.value),
          });
          const groupName = gName.input.value.trim();
          await loadBrand();
          say(t("Modifier group “{name}” added.", { name: groupName }));
        });
      },
    }, gName.wrap, gNameId.wrap, gMin.wrap, gMax.wrap, gOptions.wrap, h("button", { type: "submit" }, t("Add modifier group")));
    const optionText = (o) => `${localName(o)}${o.price_delta ? ` (${o.price_delta > 0 ? "+" : ""}${money(o.price_delta, cur())})` : ""}${o.available ? "" : ` · ${t("sold out")}`}`;
    const editor = editing ? groupEditor(editing) : null;
    mount(groupPanel, h("section", { class: "card", "aria-labelledby": "groups-h" },
      h("h3", { id: "groups-h" }, t("Modifier groups")),
      state.groups.length ? h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Group")), h("th", { scope: "col" }, t("Choices")),
          h("th", { scope: "col" }, t("Options")), h("th", { scope: "col" }, h("span", { class: "skip" }, t("Actions"))))),
        h("tbody", {}, state.groups.map((g) => h("tr", { dataset: { group: g.id } },
          h("th", { scope: "row" }, localName(g)),
          h("td", {}, choiceRule(g)),
          h("td", {}, g.options.map(optionText).join(", ")),
          h("td", {}, h("div", { class: "row-actions" },
            h("button", { type: "button", "aria-label": t("Edit {name}", { name: g.name }),
              onclick: () => { state.editing = g.id; drawGroups(true); } }, t("Edit")),
            h("button", { type: "button", class: "danger", "aria-label": t("Delete {name}", { name: g.name }),
              onclick: () => guard(() => removeGroup(g)) }, t("Delete"))))))))
        : h("p", { class: "muted" }, t("No modifier groups yet.")),
      editor || h("h3", {}, t("Add a modifier group")), editor ? null : form));
    if (editor && focusEditor) editor.querySelector("input")?.focus();
  }

  // ------------------------------------------------------------ wiring
  publishBtn.addEventListener("click", () => guard(async () => {
    publishBtn.disabled = true;
    try {
      const version = await post(R.publish(brandId()), {});
      say(t("Published version {version} to {count} outlet(s).", { version: version.version, count: version.outlets }));
      await loadVersions();
    } finally {
      publishBtn.disabled = false;
    }
  }));
  brandSel.input.addEventListener("change", () => guard(async () => { state.editing = null; await loadBrand(); }));
  scopeSel.input.addEventListener("change", () => guard(async () => { await loadOverrides(); drawProducts(); }));

  main.append(
    h("h2", {}, t("Menu")),
    h("div", { class: "toolbar" }, brandSel.wrap, scopeSel.wrap, publishBtn, versionText),
    message,
    h("div", { class: "menu-layout" },
      h("aside", { class: "card", "aria-labelledby": "cats-h" }, h("h3", { id: "cats-h" }, t("Categories")), catList,
        h("h3", {}, t("Add a category")), catForm),
      h("div", {}, productPanel, groupPanel)));

  await guard(async () => {
    const [brands, outlets] = await Promise.all([get(R.brands), get(R.outlets)]);
    state.brands = items(brands);
    state.outlets = items(outlets);
    state.currency = state.outlets[0]?.currency || "IDR";
    mount(brandSel.input, state.brands.map((b) => h("option", { value: b.id }, b.name)));
    for (const o of state.outlets) scopeSel.input.append(h("option", { value: o.id }, o.name));
    if (!state.brands.length) { say(t("Create a brand first."), "error"); return; }
    await loadBrand();
  });

  // Leaving the page: a confirmation left open belongs to it.
  return () => { for (const d of document.querySelectorAll("dialog.confirm")) d.remove(); };
}
