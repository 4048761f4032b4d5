// Sales: the report of /reports/sales for a period and one or all outlets, as KPI tiles,
// SVG charts (by day, by hour, top products, payment methods) and a per-outlet table.
// Every figure is named and defined the way an accountant reads it ("Sales incl. open
// orders" is what the orders add up to, not money received; "Paid" is), and the whole
// report downloads as one CSV (client-side: the figures on screen, one section per table).
import { get, query } from "../api.js";
import { R, items } from "../routes.js";
import { barChart, rankChart } from "../charts.js";
import { downloadCsv } from "../csv.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { isoDay, money, percent, seconds } from "../format.js";
import { label, t } from "../i18n.js";

/** The figures derived from the report that the tiles, definitions and CSV share. */
export function figures(r) {
  const paid = r.by_payment_method.reduce((sum, p) => sum + p.amount, 0);
  const discounts = (r.discounts_by_reason || []).reduce((sum, d) => sum + d.amount, 0);
  return { sales: r.gross_total, paid, outstanding: Math.max(0, r.gross_total - paid), discounts };
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
    for (const o of items(await get(R.outlets))) outletSel.input.append(h("option", { value: o.id }, o.name));
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
    const f = figures(r);
    const cur = r.currency || "";
    const rows = [[t("Figure"), t("Value"), cur],
      [t("Sales incl. open orders"), f.sales], [t("Paid"), f.paid], [t("Outstanding"), f.outstanding],
      [t("Discounts"), f.discounts], [t("Orders"), r.order_count], [t("Average order"), r.average_order_value],
      [`${t("Voids")} (${t("Count")})`, r.voids.count], [`${t("Voids")} (${t("Amount")})`, r.voids.amount],
      [`${t("Refunds")} (${t("Count")})`, r.refunds.count], [`${t("Refunds")} (${t("Amount")})`, r.refunds.amount],
      [t("Payment success"), r.payment_success.rate ?? ""], [],
      [t("Sales by day"), t("Sales incl. open orders"), t("Orders")],
      ...r.by_day.map((d) => [d.day, d.gross_total, d.order_count ?? ""]), [],
      [t("Orders by hour"), t("Orders")], ...r.by_hour.map((d) => [d.hour, d.order_count]), [],
      [t("By outlet"), t("Orders"), t("Sales incl. open orders"), t("Voids"), t("Currency")],
      ...r.by_outlet.map((o) => [o.name, o.order_count, o.gross_total, o.void_count, o.currency]), [],
      [t("Product"), t("Qty"), t("Revenue")], ...r.by_product.map((p) => [p.name, p.qty, p.revenue]), [],
      [t("Payments by method"), t("Count"), t("Amount")],
      ...r.by_payment_method.map((p) => [label(p.method), p.count, p.amount]), [],
      [t("Refunds by method"), t("Count"), t("Amount")],
      ...(r.refunds_by_method || []).map((p) => [label(p.method), p.count, p.amount]), [],
      [t("Discounts by reason"), t("Orders"), t("Amount")],
      ...(r.discounts_by_reason || []).map((d) => [d.reason || t("(no reason)"), d.count, d.amount])];
    return rows;
  }

  function show(r) {
    const cur = r.currency || "IDR";
    const m = (v) => money(v, cur);
    const k = r.kitchen;
    const f = figures(r);
    const csv = h("button", { type: "button", dataset: { testid: "sales-csv" } }, t("Download CSV"));
    csv.addEventListener("click", () => downloadCsv(`sales-${r.from}-${r.to}.csv`, csvRows(r)));
    const definitions = [
      [t("Sales incl. open orders"), t("DEF_SALES")], [t("Paid"), t("DEF_PAID")],
      [t("Outstanding"), t("DEF_OUTSTANDING")], [t("Discounts"), t("DEF_DISCOUNTS")],
      [t("Average order"), t("DEF_AVERAGE")], [t("Voids"), t("DEF_VOIDS")], [t("Refunds"), t("DEF_REFUNDS")],
      [t("Payment success"), t("DEF_SUCCESS")],
    ];
    mount(results,
      h("div", { class: "toolbar" }, csv),
      h("div", { class: "kpis" },
        kpi(t("Sales incl. open orders"), m(f.sales), "gross_total", t("DEF_SALES")),
        kpi(t("Paid"), m(f.paid), "paid", t("DEF_PAID")),
        kpi(t("Outstanding"), m(f.outstanding), "outstanding", t("DEF_OUTSTANDING")),
        kpi(t("Discounts"), m(f.discounts), "discounts", t("DEF_DISCOUNTS")),
        kpi(t("Orders"), r.order_count.toLocaleString(), "order_count"),
        kpi(t("Average order"), m(r.average_order_value), "average_order_value", t("DEF_AVERAGE")),
        kpi(t("Payment success"), percent(r.payment_success.rate), "payment_success", t("DEF_SUCCESS")),
        kpi(t("Voids"), `${r.voids.count} · ${m(r.voids.amount)}`, "voids", t("DEF_VOIDS")),
        kpi(t("Refunds"), `${r.refunds.count} · ${m(r.refunds.amount)}`, "refunds", t("DEF_REFUNDS")),
        kpi(t("Prep time p50 / p90"), `${seconds(k.p50_seconds)} / ${seconds(k.p90_seconds)}`, "prep"),
        kpi(t("Kitchen tickets"), t("{count} · avg {time}", { count: k.tickets, time: seconds(k.average_seconds) }), "tickets")),
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
            h("th", { scope: "col", class: "num" }, t("Orders")), h("th", { scope: "col", class: "num" }, t("Sales incl. open orders")),
            h("th", { scope: "col", class: "num" }, t("Voids")))),
          h("tbody", {}, r.by_outlet.map((o) => h("tr", { dataset: { outlet: o.outlet_id } },
            h("th", { scope: "row" }, o.name), h("td", { class: "num" }, String(o.order_count)),
            h("td", { class: "num" }, money(o.gross_total, o.currency)), h("td", { class: "num" }, String(o.void_count))))))),
      h("section", { class: "card", "aria-labelledby": "h-prodt" }, h("h3", { id: "h-prodt" }, t("Products")),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Product")),
            h("th", { scope: "col", class: "num" }, t("Qty")), h("th", { scope: "col", class: "num" }, t("Revenue")))),
          h("tbody", {}, r.by_product.map((p) => h("tr", {},
            h("th", { scope: "row" }, p.name), h("td", { class: "num" }, String(p.qty)),
            h("td", { class: "num" }, m(p.revenue))))))),
      h("section", { class: "card", "aria-labelledby": "h-defs" }, h("h3", { id: "h-defs" }, t("What the figures mean")),
        h("dl", { class: "definitions", dataset: { testid: "definitions" } },
          definitions.map(([term, text]) => [h("dt", {}, term), h("dd", {}, text)])),
        h("p", { class: "muted" }, t("DEF_NOT_YET"))),
    );
  }

  load();
}
