// Sales: the report of /reports/sales for a period and one or all outlets, as KPI tiles,
// the sales statement (gross sales to what is still to collect, for the sales paid in full,
// the open ones and all), SVG charts (by day, by hour, top products, payment methods) and a
// per-outlet table. Every figure is named and defined the way an accountant reads it ("Sales
// incl. open orders" is what the orders add up to, not money received; "Paid" is), and the
// whole report downloads as one CSV (client-side: the figures on screen, one section per
// table). The statement's rules: hub/reports/__init__.py.
import { get, query } from "../api.js";
import { R, items } from "../routes.js";
import { barChart, rankChart } from "../charts.js";
import { downloadCsv } from "../csv.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { isoDay, openOnOutletsWeek, money, percent, seconds } from "../format.js";
import { label, t } from "../i18n.js";

/** The rows of a sales statement: [key of SalesStatement, English label, sign, definition key].
 * `optional` rows show only when some column is not zero. */
export const STATEMENT_ROWS = [
  { key: "gross_sales", name: "Gross sales", sign: "", def: "SALES_DEF_GROSS" },
  { key: "discounts", name: "Discounts", sign: "−", def: "DEF_DISCOUNTS" },
  { key: "included_tax_service", name: "Tax and service in menu prices", sign: "−", def: "SALES_DEF_INCLUDED", optional: true },
  { key: "net_sales", name: "Net sales", sign: "=", def: "SALES_DEF_NET", strong: true },
  { key: "service_charge", name: "Service charge", sign: "+", def: "SALES_DEF_SERVICE" },
  { key: "tax", name: "Tax", sign: "+", def: "SALES_DEF_TAX" },
  { key: "rounding", name: "Cash rounding", sign: "±", def: "SALES_DEF_ROUNDING" },
  { key: "total", name: "Total", sign: "=", def: "SALES_DEF_TOTAL", strong: true },
  { key: "paid", name: "Paid", sign: "", def: "SALES_DEF_PAID" },
  { key: "outstanding", name: "Outstanding", sign: "", def: "DEF_OUTSTANDING" },
  { key: "overpaid", name: "Overpaid", sign: "", def: "SALES_DEF_OVERPAID", optional: true },
];

/** The statement's columns: [report field, English heading, definition key]. */
const PARTS = [
  ["settled", "Paid in full", "SALES_DEF_SETTLED"],
  ["open", "Open (not fully paid)", "SALES_DEF_OPEN"],
  ["sales", "All sales", "DEF_SALES"],
];

/** The statement rows this report shows (optional rows only when not zero anywhere). */
export function shownRows(r) {
  const statements = [r.sales, ...r.by_outlet.map((o) => o.statement)];
  return STATEMENT_ROWS.filter((row) => !row.optional || statements.some((s) => s[row.key] !== 0));
}

/** Money that never breaks across lines in a table cell ("Rp 4.806.000" stays whole). */
const whole = (text) => text.replace(/ /g, "\u00a0");

/** The figures derived from the report that the tiles, definitions and CSV share. */
export function figures(r) {
  const s = r.sales;
  return { sales: r.gross_total, paid: s.paid, outstanding: s.outstanding, discounts: s.discounts,
    net: s.net_sales };
}

export async function render(main) {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400_000);
  const outletSel = selectField(t("Outlet"), [["", t("All my outlets")]], { name: "outlet" });
  const from = field(t("From"), { type: "date", name: "from", value: isoDay(weekAgo), required: true });
  const to = field(t("To"), { type: "date", name: "to", value: isoDay(today), required: true });
  const apply = h("button", { type: "submit", class: "primary" }, t("Show report"));
  const message = h("p", { role: "alert", hidden: true });
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); load(); } },
    outletSel.wrap, from.wrap, to.wrap, apply);
  main.append(h("h2", {}, t("Sales")), form, message, results);

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
    apply.disabled = true;
    notice(message, "");
    try {
      const report = await get(R.salesReport + query({
        outlet_id: outletSel.input.value, from: from.input.value, to: to.input.value,
      }));
      show(report);
    } catch (err) {
      mount(results);
      notice(message, err.message, "error");
    } finally {
      apply.disabled = false;
    }
  }

  function kpi(name, value, key, definition) {
    return h("div", { class: "kpi", title: definition }, h("div", { class: "k-label" }, name),
      h("div", { class: "k-value", dataset: { kpi: key } }, value));
  }

  function csvRows(r) {
    const cur = r.currency || "";
    const rows = shownRows(r);
    const heads = rows.map((row) => t(row.name));
    const amounts = (statement) => rows.map((row) => statement[row.key]);
    return [
      [t("Sales statement"), ...PARTS.map(([, name]) => t(name)), t("Currency")],
      [t("Orders"), ...PARTS.map(([part]) => r[part].orders)],
      ...rows.map((row) => [t(row.name), ...PARTS.map(([part]) => r[part][row.key]), cur]), [],
      [t("Figure"), t("Value"), cur],
      [t("Sales incl. open orders"), r.gross_total], [t("Orders"), r.order_count],
      [t("Average order"), r.average_order_value],
      [`${t("Voids")} (${t("Count")})`, r.voids.count], [`${t("Voids")} (${t("Amount")})`, r.voids.amount],
      [`${t("Refunds")} (${t("Count")})`, r.refunds.count], [`${t("Refunds")} (${t("Amount")})`, r.refunds.amount],
      [t("Payment success"), r.payment_success.rate ?? ""], [],
      [t("Sales by day"), t("Orders"), ...heads],
      ...r.by_day.map((d) => [d.day, d.order_count ?? "", ...amounts(d.statement)]), [],
      [t("Orders by hour"), t("Orders")], ...r.by_hour.map((d) => [d.hour, d.order_count]), [],
      [t("By outlet"), t("Currency"), t("Orders"), ...heads, t("Voids")],
      ...r.by_outlet.map((o) => [o.name, o.currency, o.order_count, ...amounts(o.statement), o.void_count]), [],
      [t("Product"), t("Qty"), t("Revenue")], ...r.by_product.map((p) => [p.name, p.qty, p.revenue]), [],
      [t("Payments by method"), t("Count"), t("Amount")],
      ...r.by_payment_method.map((p) => [label(p.method), p.count, p.amount]), [],
      [t("Refunds by method"), t("Count"), t("Amount")],
      ...(r.refunds_by_method || []).map((p) => [label(p.method), p.count, p.amount]), [],
      [t("Discounts by reason"), t("Orders"), t("Amount")],
      ...(r.discounts_by_reason || []).map((d) => [d.reason || t("(no reason)"), d.count, d.amount])];
  }

  /** The statement as a table: one row per figure, a column per part (paid in full, open, all). */
  function statementTable(r, m) {
    const cell = (row, text) => h("td", { class: "num" }, row.strong ? h("strong", {}, text) : text);
    return h("table", { dataset: { testid: "statement" } },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Figure")),
        PARTS.map(([part, name, def]) => h("th", { scope: "col", class: "num", title: t(def), dataset: { part } }, t(name))))),
      h("tbody", {},
        h("tr", { dataset: { figure: "orders" } }, h("th", { scope: "row" }, t("Orders")),
          PARTS.map(([part]) => h("td", { class: "num", dataset: { part } }, r[part].orders.toLocaleString()))),
        shownRows(r).map((row) => h("tr", { dataset: { figure: row.key }, title: t(row.def) },
          h("th", { scope: "row" }, row.sign ? h("span", { "aria-hidden": "true" }, `${row.sign} `) : "",
            row.strong ? h("strong", {}, t(row.name)) : t(row.name)),
          PARTS.map(([part]) => {
            const td = cell(row, whole(m(r[part][row.key])));
            td.dataset.part = part;
            return td;
          })))));
  }

  function show(r) {
    const cur = r.currency || "IDR";
    const m = (v) => money(v, cur);
    const k = r.kitchen;
    const f = figures(r);
    const rows = shownRows(r);
    const csv = h("button", { type: "button", dataset: { testid: "sales-csv" } }, t("Download CSV"));
    csv.addEventListener("click", () => downloadCsv(`sales-${r.from}-${r.to}.csv`, csvRows(r)));
    const definitions = [
      [t("Sales incl. open orders"), t("DEF_SALES")],
      ...PARTS.slice(0, 2).map(([, name, def]) => [t(name), t(def)]),
      ...rows.map((row) => [t(row.name), t(row.def)]),
      [t("Average order"), t("DEF_AVERAGE")], [t("Voids"), t("DEF_VOIDS")], [t("Refunds"), t("DEF_REFUNDS")],
      [t("Payment success"), t("DEF_SUCCESS")],
    ];
    // On screen per outlet: what sets outlets apart (the CSV has every figure per outlet).
    const outletCols = rows.filter((row) => !["included_tax_service", "rounding", "paid", "overpaid"].includes(row.key));
    mount(results,
      h("div", { class: "toolbar" }, csv),
      h("div", { class: "kpis" },
        kpi(t("Sales incl. open orders"), m(f.sales), "gross_total", t("DEF_SALES")),
        kpi(t("Net sales"), m(f.net), "net_sales", t("SALES_DEF_NET")),
        kpi(t("Paid"), m(f.paid), "paid", t("SALES_DEF_PAID")),
        kpi(t("Outstanding"), m(f.outstanding), "outstanding", t("DEF_OUTSTANDING")),
        kpi(t("Discounts"), m(f.discounts), "discounts", t("DEF_DISCOUNTS")),
        kpi(t("Orders"), r.order_count.toLocaleString(), "order_count"),
        kpi(t("Average order"), m(r.average_order_value), "average_order_value", t("DEF_AVERAGE")),
        kpi(t("Payment success"), percent(r.payment_success.rate), "payment_success", t("DEF_SUCCESS")),
        kpi(t("Voids"), `${r.voids.count} · ${m(r.voids.amount)}`, "voids", t("DEF_VOIDS")),
        kpi(t("Refunds"), `${r.refunds.count} · ${m(r.refunds.amount)}`, "refunds", t("DEF_REFUNDS")),
        kpi(t("Prep time p50 / p90"), `${seconds(k.p50_seconds)} / ${seconds(k.p90_seconds)}`, "prep"),
        kpi(t("Kitchen tickets"), t("{count} · avg {time}", { count: k.tickets, time: seconds(k.average_seconds) }), "tickets")),
      h("section", { class: "card", "aria-labelledby": "h-statement" },
        h("h3", { id: "h-statement" }, t("Sales statement")), statementTable(r, m),
        h("p", { class: "muted" }, t("SALES_STATEMENT_NOTE"))),
      h("div", { class: "grid two" },
        h("section", { class: "card", "aria-labelledby": "h-day" }, h("h3", { id: "h-day" }, t("Sales by day")),
          barChart(r.by_day.map((d) => ({ label: d.day.slice(5), value: d.gross_total })),
            { title: t("Sales by day"), format: m })),
        h("section", { class: "card", "aria-labelledby": "h-hour" }, h("h3", { id: "h-hour" }, t("Orders by hour (outlet time)")),
          barChart(r.by_hour.map((d) => ({ label: String(d.hour), value: d.order_count })),
            { title: t("Orders by hour"), format: (v) => t("{n} orders", { n: v }) })),
        h("section", { class: "card", "aria-labelledby": "h-prod" }, h("h3", { id: "h-prod" }, t("Top products by revenue")),
          r.by_product.length
            ? rankChart(r.by_product.slice(0, 10).map((p) => ({ label: p.name, value: p.revenue, note: t("{n} sold", { n: p.qty }) })),
              { title: t("Top products"), format: m })
            : h("p", { class: "muted" }, t("No sales in this period."))),
        h("section", { class: "card", "aria-labelledby": "h-pay" }, h("h3", { id: "h-pay" }, t("Payments by method")),
          r.by_payment_method.length
            ? rankChart(r.by_payment_method.map((p) => ({ label: label(p.method), value: p.amount, note: `${p.count}×` })),
              { title: t("Payments by method"), format: m })
            : h("p", { class: "muted" }, t("No payments in this period.")))),
      h("section", { class: "card", "aria-labelledby": "h-outlets" }, h("h3", { id: "h-outlets" }, t("By outlet")),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Outlet")),
            h("th", { scope: "col", class: "num" }, t("Orders")),
            outletCols.map((row) => h("th", { scope: "col", class: "num", title: t(row.def) }, t(row.name))),
            h("th", { scope: "col", class: "num" }, t("Voids")))),
          h("tbody", {}, r.by_outlet.map((o) => h("tr", { dataset: { outlet: o.outlet_id } },
            h("th", { scope: "row" }, o.name), h("td", { class: "num" }, String(o.order_count)),
            outletCols.map((row) => h("td", { class: "num", dataset: { figure: row.key } },
              whole(money(o.statement[row.key], o.currency)))),
            h("td", { class: "num" }, String(o.void_count))))))),
      h("section", { class: "card", "aria-labelledby": "h-prodt" }, h("h3", { id: "h-prodt" }, t("Products")),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Product")),
            h("th", { scope: "col", class: "num" }, t("Qty")), h("th", { scope: "col", class: "num" }, t("Revenue")))),
          h("tbody", {}, r.by_product.map((p) => h("tr", {},
            h("th", { scope: "row" }, p.name), h("td", { class: "num" }, String(p.qty)),
            h("td", { class: "num" }, m(p.revenue))))))),
      h("section", { class: "card", "aria-labelledby": "h-defs" }, h("h3", { id: "h-defs" }, t("What the figures mean")),
        h("dl", { class: "definitions", dataset: { testid: "definitions" } },
          definitions.map(([term, text]) => [h("dt", {}, term), h("dd", {}, text)]))),
    );
  }

  load();
}
