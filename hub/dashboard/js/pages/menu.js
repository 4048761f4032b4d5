// Menu editor: categories, products and prices, modifier groups, per-outlet price and
// availability overrides, and publishing the brand's menu as a new catalog version.
// Edits change the hub's draft; outlets receive them only after "Publish".
import { del, get, patch, post, put } from "../api.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { dateTime, money, moneyInput, parseMoney } from "../format.js";
import { R, items } from "../routes.js";

export async function render(main) {
  const message = h("p", { role: "status", hidden: true });
  const brandSel = selectField("Brand", [], { name: "brand" });
  const scopeSel = selectField("Prices for", [["", "All outlets (brand price)"]], { name: "scope" });
  const publishBtn = h("button", { type: "button", class: "primary" }, "Publish menu");
  const versionText = h("span", { class: "muted", dataset: { testid: "catalog-version" } });
  const catList = h("ul", { class: "cat-list", "aria-label": "Categories" });
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
        ? `Published version ${latest.version} · ${dateTime(latest.published_at)}` : "Never published";
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
      }, c.name, h("span", { class: "muted" }, ` · ${c.station}`)))));
  }

  const catName = field("Name", { name: "category_name", required: true, maxlength: 200 });
  const catStation = field("Kitchen station", { name: "station", value: "kitchen", maxlength: 200 });
  const catForm = h("form", {
    onsubmit: (e) => {
      e.preventDefault();
      guard(async () => {
        const created = await post(R.categories, {
          brand_id: brandId(), name: catName.input.value.trim(),
          station: catStation.input.value.trim() || "kitchen", sort: state.categories.length,
        });
        state.categoryId = created.id;
        catName.input.value = "";
        await loadBrand();
        say(`Category “${created.name}” added.`);
      });
    },
  }, catName.wrap, catStation.wrap, h("button", { type: "submit" }, "Add category"));

  // ------------------------------------------------------------ products
  function productRow(p) {
    const cur = state.currency;
    const overridden = outletId() !== "";
    const priceValue = overridden ? (p.id in state.prices ? moneyInput(state.prices[p.id], cur) : "")
      : moneyInput(p.price, cur);
    const price = h("input", {
      type: "text", inputmode: "decimal", value: priceValue, size: 9, name: "price",
      "aria-label": overridden ? `Outlet price of ${p.name} (empty = brand price)` : `Price of ${p.name}`,
      placeholder: overridden ? moneyInput(p.price, cur) : "",
    });
    const availableNow = overridden ? (state.availability[p.id] ?? p.available) : p.available;
    const available = h("input", { type: "checkbox", name: "available", "aria-label": `${p.name} available`, checked: availableNow });
    const save = h("button", { type: "button" }, "Save");
    save.setAttribute("aria-label", `Save ${p.name}`);
    save.addEventListener("click", () => guard(async () => {
      const text = price.value.trim();
      const amount = text === "" ? null : parseMoney(text, cur);
      if (text !== "" && (amount === null || amount < 0)) throw new Error(`“${text}” is not a price`);
      if (!overridden) {
        if (amount === null) throw new Error("A product needs a price");
        await patch(R.product(p.id), { price: amount, available: available.checked });
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
      say(`Saved ${p.name}. Publish to send it to the outlets.`);
    }));
    const groups = (p.modifier_group_ids || []).map((id) => state.groups.find((g) => g.id === id)?.name).filter(Boolean);
    return h("tr", { dataset: { product: p.id } },
      h("th", { scope: "row" }, p.name, groups.length ? h("div", { class: "muted" }, groups.join(", ")) : null),
      overridden ? h("td", { class: "num" }, money(p.price, cur)) : null,
      h("td", {}, price), h("td", {}, available), h("td", {}, save));
  }

  function drawProducts() {
    const category = state.categories.find((c) => c.id === state.categoryId);
    if (!category) {
      mount(productPanel, h("p", { class: "muted" }, "Add a category to start the menu."));
      return;
    }
    const overridden = outletId() !== "";
    const products = state.products.filter((p) => p.category_id === category.id)
      .sort((a, b) => a.sort - b.sort || a.name.localeCompare(b.name));
    const pName = field("Name", { name: "product_name", required: true, maxlength: 200 });
    const pPrice = field(`Price (${state.currency})`, { name: "product_price", required: true, inputmode: "decimal" });
    const groupChoice = state.groups.map((g) => {
      const box = h("input", { type: "checkbox", value: g.id, id: `pg-${g.id}` });
      return h("div", { class: "field check" }, box, h("label", { for: `pg-${g.id}` }, g.name));
    });
    const addForm = h("form", {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        guard(async () => {
          const amount = parseMoney(pPrice.input.value, state.currency);
          if (amount === null || amount < 0) throw new Error(`“${pPrice.input.value}” is not a price`);
          const chosen = [...addForm.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.value);
          const created = await post(R.products, {
            brand_id: brandId(), category_id: category.id, name: pName.input.value.trim(),
            price: amount, modifier_group_ids: chosen, sort: products.length,
          });
          await loadBrand();
          say(`Product “${created.name}” added.`);
        });
      },
    }, pName.wrap, pPrice.wrap, groupChoice, h("button", { type: "submit" }, "Add product"));
    mount(productPanel,
      h("section", { class: "card", "aria-labelledby": "products-h" },
        h("h3", { id: "products-h" }, `${category.name}: products`,
          overridden ? h("span", { class: "muted" }, ` · overrides for ${scopeSel.input.selectedOptions[0].textContent}`) : null),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"),
            overridden ? h("th", { scope: "col", class: "num" }, "Brand price") : null,
            h("th", { scope: "col" }, overridden ? "Outlet price" : "Price"),
            h("th", { scope: "col" }, "Available"), h("th", { scope: "col" }, h("span", { class: "skip" }, "Actions")))),
          h("tbody", {}, products.length ? products.map(productRow)
            : h("tr", {}, h("td", { colspan: 5 }, "No products in this category yet.")))),
        overridden ? null : h("h3", {}, "Add a product"), overridden ? null : addForm));
  }

  // ------------------------------------------------------------ modifier groups
  function drawGroups() {
    const gName = field("Group name", { name: "group_name", required: true, maxlength: 200 });
    const gMin = field("Min choices", { type: "number", min: 0, max: 50, value: 0, name: "min_choices" });
    const gMax = field("Max choices", { type: "number", min: 1, max: 50, value: 1, name: "max_choices" });
    const gOptions = field("Options, one per line: name, price change", {
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
            if (amount === null) throw new Error(`Option “${line}”: price change must be a number`);
            return { name: name.trim(), price_delta: amount };
          }).map((option, index) => ({ ...option, sort: index }));
          await post(R.modifierGroups, {
            brand_id: brandId(), name: gName.input.value.trim(), min_choices: Number(gMin.input.value),
            max_choices: Number(gMax.input.value), options,
          });
          const groupName = gName.input.value.trim();
          await loadBrand();
          say(`Modifier group “${groupName}” added.`);
        });
      },
    }, gName.wrap, gMin.wrap, gMax.wrap, gOptions.wrap, h("button", { type: "submit" }, "Add modifier group"));
    mount(groupPanel, h("section", { class: "card", "aria-labelledby": "groups-h" },
      h("h3", { id: "groups-h" }, "Modifier groups"),
      state.groups.length ? h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Group"), h("th", { scope: "col" }, "Choices"),
          h("th", { scope: "col" }, "Options"))),
        h("tbody", {}, state.groups.map((g) => h("tr", {},
          h("th", { scope: "row" }, g.name), h("td", {}, `${g.min_choices}–${g.max_choices}`),
          h("td", {}, g.options.map((o) => `${o.name}${o.price_delta ? ` (${o.price_delta > 0 ? "+" : ""}${money(o.price_delta, state.currency)})` : ""}`).join(", "))))))
        : h("p", { class: "muted" }, "No modifier groups yet."),
      form));
  }

  // ------------------------------------------------------------ wiring
  publishBtn.addEventListener("click", () => guard(async () => {
    publishBtn.disabled = true;
    try {
      const version = await post(R.publish(brandId()), {});
      say(`Published version ${version.version} to ${version.outlets} outlet(s).`);
      await loadVersions();
    } finally {
      publishBtn.disabled = false;
    }
  }));
  brandSel.input.addEventListener("change", () => guard(loadBrand));
  scopeSel.input.addEventListener("change", () => guard(async () => { await loadOverrides(); drawProducts(); }));

  main.append(
    h("h2", {}, "Menu"),
    h("div", { class: "toolbar" }, brandSel.wrap, scopeSel.wrap, publishBtn, versionText),
    message,
    h("div", { class: "menu-layout" },
      h("aside", { class: "card", "aria-labelledby": "cats-h" }, h("h3", { id: "cats-h" }, "Categories"), catList,
        h("h3", {}, "Add a category"), catForm),
      h("div", {}, productPanel, groupPanel)));

  await guard(async () => {
    const [brands, outlets] = await Promise.all([get(R.brands), get(R.outlets)]);
    state.brands = items(brands);
    state.outlets = items(outlets);
    state.currency = state.outlets[0]?.currency || "IDR";
    mount(brandSel.input, state.brands.map((b) => h("option", { value: b.id }, b.name)));
    for (const o of state.outlets) scopeSel.input.append(h("option", { value: o.id }, o.name));
    if (!state.brands.length) { say("Create a brand first.", "error"); return; }
    await loadBrand();
  });
}
