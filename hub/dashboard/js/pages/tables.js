// Tables: table service by area and table (GET /reports/tables) for a period and one or all
// outlets: covers, sales, spend per cover, turns, turn time, seating to first order, voided
// lines, as tiles and two tables; the figures on screen download as one CSV (csv.js).
import { get, query } from "../api.js";
import { downloadCsv } from "../csv.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { isoDay, openOnOutletsWeek, money, seconds } from "../format.js";
import { t } from "../i18n.js";
import { R, items } from "../routes.js";

// [key in TableFigures, column title, definition key, how it shows]
const FIGURES = [
  ["parties", "Parties", "DEF_T_PARTIES", String],
  ["covers", "Covers", "DEF_T_COVERS", String],
  ["turns", "Turns", "DEF_T_TURNS", String],
  ["sales", "Sales at tables", "DEF_T_SALES", (v) => money(v)],
  ["average_spend_per_cover", "Spend per cover", "DEF_T_SPEND", (v) => (v === null ? "–" : money(v))],
  ["average_turn_seconds", "Turn time", "DEF_T_TURN", seconds],
  ["average_first_order_seconds", "Seated to first order", "DEF_T_FIRST", seconds],
  ["voided_lines", "Voided lines", "DEF_T_VOIDED", String],
];
const areaName = (r) => r.area || t("(no area)");

/** Everything the page shows as CSV rows (money in minor units, times in seconds). */
export function csvRows(r) {
  const head = FIGURES.map(([, title]) => t(title));
  const values = (f) => FIGURES.map(([key]) => f[key] ?? "");
  return [[t("Tables"), r.from, r.to, r.currency || ""],
    ["", ...head], [t("All"), ...values(r.totals)], [],
    [t("Outlet"), t("Area"), ...head], ...r.by_area.map((a) => [a.outlet_name, areaName(a), ...values(a.figures)]), [],
    [t("Outlet"), t("Area"), t("Table"), ...head],
    ...r.by_table.map((x) => [x.outlet_name, areaName(x), x.table, ...values(x.figures)])];
}

export async function render(main) {
  const today = new Date();
  const outletSel = selectField(t("Outlet"), [["", t("All my outlets")]], { name: "outlet" });
  const from = field(t("From"), { type: "date", name: "from", value: isoDay(new Date(today.getTime() - 6 * 86400_000)), required: true });
  const to = field(t("To"), { type: "date", name: "to", value: isoDay(today), required: true });
  const apply = h("button", { type: "submit", class: "primary" }, t("Show report"));
  const csv = h("button", { type: "button", dataset: { testid: "tables-csv" }, disabled: true }, t("Download CSV"));
  const message = h("p", { role: "alert", hidden: true });
  const report = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); load(); } },
    outletSel.wrap, from.wrap, to.wrap, apply, csv);
  let shown = null;
  csv.addEventListener("click", () => { if (shown) downloadCsv(`tables-${shown.from}-${shown.to}.csv`, csvRows(shown)); });
  main.append(h("h2", {}, t("Table service by area and table")), form, message, report);
  try {
    const defaults = [from.input.value, to.input.value];
    const outlets = items(await get(R.outlets));
    for (const o of outlets) outletSel.input.append(h("option", { value: o.id }, o.name));
    // the outlets' business days, not the browser's calendar
    openOnOutletsWeek(from.input, to.input, defaults, outlets);
  } catch (err) {
    notice(message, t("Could not load outlets: {error}", { error: err.message }), "error");
  }

  async function load() {
    apply.disabled = csv.disabled = true;
    notice(message, "");
    try {
      shown = await get(R.tablesReport + query({ outlet_id: outletSel.input.value, from: from.input.value, to: to.input.value }));
      show(shown);
      csv.disabled = false;
    } catch (err) {
      shown = null;
      mount(report);
      notice(message, err.message, "error");
    } finally {
      apply.disabled = false;
    }
  }

  const cells = (f) => FIGURES.map(([key, , , fmt]) => h("td", { class: "num", dataset: { col: key } }, fmt(f[key])));
  const heads = () => FIGURES.map(([, title, def]) => h("th", { scope: "col", class: "num", title: t(def) }, t(title)));

  function show(r) {
    const tiles = h("div", { class: "kpis" }, ...FIGURES.map(([key, title, def, fmt]) =>
      h("div", { class: "kpi", title: t(def) }, h("div", { class: "k-label" }, t(title)),
        h("div", { class: "k-value", dataset: { kpi: key } }, fmt(r.totals[key])))));
    if (!r.by_table.length) {
      mount(report, tiles, h("p", { class: "muted" }, t("No table service in this period.")));
      return;
    }
    const areas = h("table", { dataset: { table: "areas" } },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Outlet")), h("th", { scope: "col" }, t("Area")), ...heads())),
      h("tbody", {}, ...r.by_area.map((a) => h("tr", { dataset: { area: `${a.outlet_id}:${a.area_id}` } },
        h("td", {}, a.outlet_name), h("th", { scope: "row" }, areaName(a)), ...cells(a.figures)))));
    const tables = h("table", { dataset: { table: "tables" } },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Outlet")), h("th", { scope: "col" }, t("Area")),
        h("th", { scope: "col" }, t("Table")), ...heads())),
      h("tbody", {}, ...r.by_table.map((x) => h("tr", { dataset: { table: x.table_id } },
        h("td", {}, x.outlet_name), h("td", {}, areaName(x)), h("th", { scope: "row" }, x.table), ...cells(x.figures)))));
    const defs = h("dl", { dataset: { testid: "definitions" } }, ...FIGURES.flatMap(([, title, def]) =>
      [h("dt", {}, t(title)), h("dd", {}, t(def))]));
    mount(report, tiles,
      h("section", { class: "card scroll", "aria-labelledby": "h-areas" }, h("h3", { id: "h-areas" }, t("By area")), areas),
      h("section", { class: "card scroll", "aria-labelledby": "h-tables" }, h("h3", { id: "h-tables" }, t("By table")), tables),
      h("section", { class: "card", "aria-labelledby": "h-defs" }, h("h3", { id: "h-defs" }, t("What the figures mean")), defs));
  }

  load();
}
