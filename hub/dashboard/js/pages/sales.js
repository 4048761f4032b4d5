// Sales: the report of /reports/sales for a period and one or all outlets, as KPI tiles,
// SVG charts (by day, by hour, top products, payment methods) and a per-outlet table.
import { get, query } from "../api.js";
import { R, items } from "../routes.js";
import { barChart, rankChart } from "../charts.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { isoDay, money, percent, seconds } from "../format.js";

export async function render(main) {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400_000);
  const outletSel = selectField("Outlet", [["", "All my outlets"]], { name: "outlet" });
  const from = field("From", { type: "date", name: "from", value: isoDay(weekAgo), required: true });
  const to = field("To", { type: "date", name: "to", value: isoDay(today), required: true });
  const apply = h("button", { type: "submit", class: "primary" }, "Show report");
  const message = h("p", { role: "alert", hidden: true });
  const results = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); load(); } },
    outletSel.wrap, from.wrap, to.wrap, apply);
  main.append(h("h2", {}, "Sales"), form, message, results);

  try {
    for (const o of items(await get(R.outlets))) outletSel.input.append(h("option", { value: o.id }, o.name));
  } catch (err) {
    notice(message, `Could not load outlets: ${err.message}`, "error");
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

  function kpi(label, value, key) {
    return h("div", { class: "kpi" }, h("div", { class: "k-label" }, label),
      h("div", { class: "k-value", dataset: { kpi: key } }, value));
  }

  function show(r) {
    const cur = r.currency || "IDR";
    const m = (v) => money(v, cur);
    const k = r.kitchen;
    mount(results,
      h("div", { class: "kpis" },
        kpi("Gross sales", m(r.gross_total), "gross_total"),
        kpi("Orders", r.order_count.toLocaleString(), "order_count"),
        kpi("Average order", m(r.average_order_value), "average_order_value"),
        kpi("Payment success", percent(r.payment_success.rate), "payment_success"),
        kpi("Voids", `${r.voids.count} · ${m(r.voids.amount)}`, "voids"),
        kpi("Refunds", `${r.refunds.count} · ${m(r.refunds.amount)}`, "refunds"),
        kpi("Prep time p50 / p90", `${seconds(k.p50_seconds)} / ${seconds(k.p90_seconds)}`, "prep"),
        kpi("Kitchen tickets", `${k.tickets} · avg ${seconds(k.average_seconds)}`, "tickets")),
      h("div", { class: "grid two" },
        h("section", { class: "card", "aria-labelledby": "h-day" }, h("h3", { id: "h-day" }, "Sales by day"),
          barChart(r.by_day.map((d) => ({ label: d.day.slice(5), value: d.gross_total })),
            { title: "Sales by day", format: m })),
        h("section", { class: "card", "aria-labelledby": "h-hour" }, h("h3", { id: "h-hour" }, "Orders by hour (outlet time)"),
          barChart(r.by_hour.map((d) => ({ label: String(d.hour), value: d.order_count })),
            { title: "Orders by hour", format: (v) => `${v} orders` })),
        h("section", { class: "card", "aria-labelledby": "h-prod" }, h("h3", { id: "h-prod" }, "Top products by revenue"),
          r.by_product.length
            ? rankChart(r.by_product.slice(0, 10).map((p) => ({ label: p.name, value: p.revenue, note: `${p.qty} sold` })),
              { title: "Top products", format: m })
            : h("p", { class: "muted" }, "No sales in this period.")),
        h("section", { class: "card", "aria-labelledby": "h-pay" }, h("h3", { id: "h-pay" }, "Payments by method"),
          r.by_payment_method.length
            ? rankChart(r.by_payment_method.map((p) => ({ label: p.method, value: p.amount, note: `${p.count}×` })),
              { title: "Payments by method", format: m })
            : h("p", { class: "muted" }, "No payments in this period."))),
      h("section", { class: "card", "aria-labelledby": "h-outlets" }, h("h3", { id: "h-outlets" }, "By outlet"),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Outlet"),
            h("th", { scope: "col", class: "num" }, "Orders"), h("th", { scope: "col", class: "num" }, "Gross sales"),
            h("th", { scope: "col", class: "num" }, "Voids"))),
          h("tbody", {}, r.by_outlet.map((o) => h("tr", { dataset: { outlet: o.outlet_id } },
            h("th", { scope: "row" }, o.name), h("td", { class: "num" }, String(o.order_count)),
            h("td", { class: "num" }, money(o.gross_total, o.currency)), h("td", { class: "num" }, String(o.void_count))))))),
      h("section", { class: "card", "aria-labelledby": "h-prodt" }, h("h3", { id: "h-prodt" }, "Products"),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"),
            h("th", { scope: "col", class: "num" }, "Qty"), h("th", { scope: "col", class: "num" }, "Revenue"))),
          h("tbody", {}, r.by_product.map((p) => h("tr", {},
            h("th", { scope: "row" }, p.name), h("td", { class: "num" }, String(p.qty)),
            h("td", { class: "num" }, m(p.revenue))))))),
      h("p", { class: "muted" }, `Payment success = ${r.payment_success.definition}.`),
    );
  }

  load();
}
