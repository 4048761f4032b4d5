// Menu editor: categories, products and prices, modifier groups, per-outlet price and
// availability overrides, and publishing the brand's menu as a new catalog version.
// Edits change the hub's draft; outlets receive them only after "Publish".
import { del, get, patch, post, put } from "../api.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { dateTime, money, moneyInput, parseMoney, parsePrice } from "../format.js";
import { R, items } from "../routes.js";
import { label, lang, t } from "../i18n.js";

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

export async function render(main) {
  const message = h("p", { role: "status", hidden: true });
  const brandSel = selectField(t("Brand"), [], { name: "brand" });
  const scopeSel = selectField(t("Prices for"), [["", t("All outlets (brand price)")]], { name: "scope" });
  const publishBtn = h("button", { type: "button", class: "primary" }, t("Publish menu"));
  const versionText = h("span", { class: "muted", dataset: { testid: "catalog-version" } });
  const catList = h("ul", { class: "cat-list", "aria-label": t("Categories") });
  const productPanel = h("div");
  const groupPanel = h("div");

  const state = { brands: [], outlets: [], categories: [], products: [], groups: [],
    prices: {}, availability: {}, categoryId: null, currency: "IDR" };

  const brandId = () => brandSel.input.value;
  const outletId = () => scopeSel.input.value;

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
      get(R.categories + q), get(R.products + q), get(R.modifierGroups + q)]);
    state.categories = items(cats).filter((c) => !c.archived).sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
    state.products = items(prods).filter((p) => !p.archived);
    state.groups = items(groups).filter((g) => !g.archived);
    if (!state.categories.some((c) => c.id === state.categoryId)) {
      state.categoryId = state.categories.length ? state.categories[0].id : null;
    }
    await loadOverrides();
    await loadVersions();
    drawCategories();
    drawProducts();
    drawGroups();
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
  function productRow(p) {
    const cur = state.currency;
    const overridden = outletId() !== "";
    const priceValue = overridden ? (p.id in state.prices ? moneyInput(state.prices[p.id], cur) : "")
      : moneyInput(p.price, cur);
    const price = h("input", {
      type: "text", inputmode: "decimal", value: priceValue, size: 9, name: "price",
      "aria-label": overridden ? t("Outlet price of {name} (empty = brand price)", { name: p.name }) : t("Price of {name}", { name: p.name }),
      placeholder: overridden ? moneyInput(p.price, cur) : "",
    });
    const availableNow = overridden ? (state.availability[p.id] ?? p.available) : p.available;
    const available = h("input", { type: "checkbox", name: "available", "aria-label": t("{name} available", { name: p.name }), checked: availableNow });
    const nameId = overridden ? null : h("input", { type: "text", name: "name_id", value: p.names?.id || "", maxlength: 200,
      size: 16, "aria-label": t("Indonesian name of {name}", { name: p.name }), placeholder: t("Name (Indonesian)") });
    const save = h("button", { type: "button" }, t("Save"));
    save.setAttribute("aria-label", t("Save {name}", { name: p.name }));
    save.addEventListener("click", () => guard(async () => {
      const text = price.value.trim();
      if (!overridden && text === "") throw new Error(t("A product needs a price"));
      const amount = text === "" ? null : parsePrice(text, cur);
      if (!overridden) {
        await patch(R.product(p.id), { price: amount, available: available.checked,
          names: namesWith(p.names, p.name, nameId.value) });
      } else {
        if (amount === null) {
          if (p.id in state.prices) await del(R.outletPrice(outletId(), p.id));
        } else {
          await put(R.outletPrice(outletId(), p.id), { price: amount });
        }
        if (available.checked !== availableNow) {
          await put(R.outletProductAvailability(outletId(), p.id), { available: available.checked });
        }
      }
      await loadBrand();
      say(t("Saved {name}. Publish to send it to the outlets.", { name: p.name }));
    }));
    const groups = (p.modifier_group_ids || []).map((id) => state.groups.find((g) => g.id === id)?.name).filter(Boolean);
    return h("tr", { dataset: { product: p.id } },
      h("th", { scope: "row" }, p.name, groups.length ? h("div", { class: "muted" }, groups.join(", ")) : null),
      overridden ? h("td", {}, p.names?.id || "–") : h("td", {}, nameId),
      overridden ? h("td", { class: "num" }, money(p.price, cur)) : null,
      h("td", {}, price), h("td", {}, available), h("td", {}, save));
  }

  function drawProducts() {
    const category = state.categories.find((c) => c.id === state.categoryId);
    if (!category) {
      mount(productPanel, h("p", { class: "muted" }, t("Add a category to start the menu.")));
      return;
    }
    const overridden = outletId() !== "";
    const products = state.products.filter((p) => p.category_id === category.id)
      .sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
    const pName = field(t("Name"), { name: "product_name", required: true, maxlength: 200 });
    const pNameId = field(t("Name (Indonesian)"), { name: "product_name_id", maxlength: 200 });
    const pPrice = field(t("Price ({currency})", { currency: state.currency }), { name: "product_price", required: true,
      inputmode: "decimal", placeholder: state.currency === "IDR" ? "21.500" : "12.50" });
    const groupChoice = state.groups.map((g) => {
      const box = h("input", { type: "checkbox", value: g.id, id: `pg-${g.id}` });
      return h("div", { class: "field check" }, box, h("label", { for: `pg-${g.id}` }, g.name));
    });
    const addForm = h("form", {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        guard(async () => {
          const amount = parsePrice(pPrice.input.value, state.currency);
          const chosen = [...addForm.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
          const created = await post(R.products, {
            brand_id: brandId(), category_id: category.id, name: pName.input.value.trim(),
            price: amount, modifier_group_ids: chosen, sort: products.length,
            names: namesWith({}, pName.input.value, pNameId.input.value),
          });
          await loadBrand();
          say(t("Product “{name}” added.", { name: created.name }));
        });
      },
    }, pName.wrap, pNameId.wrap, pPrice.wrap, groupChoice, h("button", { type: "submit" }, t("Add product")));
    mount(productPanel,
      h("section", { class: "card", "aria-labelledby": "products-h" },
        h("h3", { id: "products-h" }, t("{name}: products", { name: localName(category) }),
          overridden ? h("span", { class: "muted" }, t(" · overrides for {outlet}", { outlet: scopeSel.input.selectedOptions[0].textContent })) : null),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Product")), h("th", { scope: "col" }, t("Name (Indonesian)")),
            overridden ? h("th", { scope: "col", class: "num" }, t("Brand price")) : null,
            h("th", { scope: "col" }, overridden ? t("Outlet price") : t("Price")),
            h("th", { scope: "col" }, t("Available")), h("th", { scope: "col" }, h("span", { class: "skip" }, t("Actions"))))),
          h("tbody", {}, products.length ? products.map(productRow)
            : h("tr", {}, h("td", { colspan: 6 }, t("No products in this category yet."))))),
        overridden ? null : h("h3", {}, t("Add a product")), overridden ? null : addForm));
  }

  // ------------------------------------------------------------ modifier groups
  function drawGroups() {
    const gName = field(t("Group name"), { name: "group_name", required: true, maxlength: 200 });
    const gNameId = field(t("Name (Indonesian)"), { name: "group_name_id", maxlength: 200 });
    const gMin = field(t("Min choices"), { type: "number", min: 0, max: 50, value: 0, name: "min_choices" });
    const gMax = field(t("Max choices"), { type: "number", min: 1, max: 50, value: 1, name: "max_choices" });
    const gOptions = field(t("Options, one per line: name, price change"), {
      name: "options", rows: 4, placeholder: "Less sugar, 0\nExtra shot, 5000",
    }, "textarea");
    const form = h("form", {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        guard(async () => {
          const options = gOptions.input.value.split("\n").map((l) => l.trim()).filter(Boolean).map((line) => {
            const [name, delta = "0"] = line.split(/,(?=[^,]*$)/);
            const amount = parseMoney(delta, state.currency);
            if (amount === null) throw new Error(t("Option “{line}”: {error}", { line, error: t("PRICE_BAD", { text: delta.trim(), example: "5000" }) }));
            return { name: name.trim(), price_delta: amount };
          }).map((option, index) => ({ ...option, sort: index }));
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
    mount(groupPanel, h("section", { class: "card", "aria-labelledby": "groups-h" },
      h("h3", { id: "groups-h" }, t("Modifier groups")),
      state.groups.length ? h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Group")), h("th", { scope: "col" }, t("Choices")),
          h("th", { scope: "col" }, t("Options")))),
        h("tbody", {}, state.groups.map((g) => h("tr", {},
          h("th", { scope: "row" }, localName(g)), h("td", {}, `${g.min_choices}–${g.max_choices}`),
          h("td", {}, g.options.map((o) => `${o.name}${o.price_delta ? ` (${o.price_delta > 0 ? "+" : ""}${money(o.price_delta, state.currency)})` : ""}`).join(", "))))))
        : h("p", { class: "muted" }, t("No modifier groups yet.")),
      form));
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
  brandSel.input.addEventListener("change", () => guard(loadBrand));
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
}
