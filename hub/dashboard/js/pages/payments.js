// Payments: /reports/payments for a period (attempts, success rate, pending, expired, late,
// refunds, by method and gateway) and /reports/payments/reconciliation for one UTC day (what
// the gateways confirmed against what the outlets recorded, each difference listed).
import { get, query } from "../api.js";
import { R, items } from "../routes.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { isoDay, money, percent } from "../format.js";

const KINDS = {
  recorded_not_confirmed: "Recorded, not confirmed by the gateway",
  confirmed_not_recorded: "Confirmed by the gateway, not recorded",
  amount_mismatch: "Amount differs",
  unverified_static: "Static QR, confirmed by eye",
};

export async function render(main) {
  const today = new Date();
  const outletSel = selectField("Outlet", [["", "All my outlets"]], { name: "outlet" });
  const from = field("From", { type: "date", name: "from", value: isoDay(new Date(today.getTime() - 6 * 86400_000)), required: true });
  const to = field("To", { type: "date", name: "to", value: isoDay(today), required: true });
  const day = field("Reconcile day (UTC)", { type: "date", name: "day", value: isoDay(new Date(today.getTime() - 86400_000)), required: true });
  const apply = h("button", { type: "submit", class: "primary" }, "Show");
  const message = h("p", { role: "alert", hidden: true });
  const report = h("div", { "aria-live": "polite" });
  const recon = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); load(); } },
    outletSel.wrap, from.wrap, to.wrap, day.wrap, apply);
  main.append(h("h2", {}, "Payments"), form, message, report, recon);
  try {
    for (const o of items(await get(R.outlets))) outletSel.input.append(h("option", { value: o.id }, o.name));
  } catch (err) {
    notice(message, `Could not load outlets: ${err.message}`, "error");
  }

  async function load() {
    apply.disabled = true;
    notice(message, "");
    try {
      const outlet_id = outletSel.input.value;
      const [r, rec] = await Promise.all([
        get(R.paymentsReport + query({ outlet_id, from: from.input.value, to: to.input.value })),
        get(R.reconciliation + query({ outlet_id, day: day.input.value })),
      ]);
      showReport(r);
      showRecon(rec);
    } catch (err) {
      mount(report);
      mount(recon);
      notice(message, err.message, "error");
    } finally {
      apply.disabled = false;
    }
  }

  function row(label, f) {
    return h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, f.attempts), h("td", {}, f.paid),
      h("td", {}, money(f.paid_amount)), h("td", {}, f.pending), h("td", {}, f.expired),
      h("td", {}, f.cancelled + f.failed), h("td", {}, f.late), h("td", {}, percent(f.success_rate)));
  }

  function showReport(r) {
    const head = h("tr", {}, ...["", "Attempts", "Paid", "Amount", "Pending", "Expired",
      "Cancelled / failed", "Late", "Success"].map((t) => h("th", { scope: "col" }, t)));
    const refunds = [...r.refunds.by_method.map((x) => `${x.method}: ${x.count} · ${money(x.amount)}`),
      ...r.refunds.gateway_confirmed.map((x) => `${x.gateway} (confirmed): ${x.count} · ${money(x.amount)}`)];
    mount(report,
      h("section", { class: "card", "aria-labelledby": "h-attempts" }, h("h3", { id: "h-attempts" }, "Attempts"),
        h("table", { dataset: { table: "payments" } }, h("thead", {}, head),
          h("tbody", {}, row("All", r.totals),
            ...r.by_method.map((m) => row(m.method, m)),
            ...r.by_gateway.map((g) => row(`via ${g.gateway}`, g))))),
      h("section", { class: "card", "aria-labelledby": "h-refunds" }, h("h3", { id: "h-refunds" }, "Refunds"),
        refunds.length ? h("ul", {}, ...refunds.map((t) => h("li", {}, t)))
          : h("p", { class: "muted" }, "No refunds in this period.")));
  }

  function showRecon(rec) {
    const outlets = rec.outlets || [];
    const rows = outlets.flatMap((o) => o.differences.map((d) => h("tr", { dataset: { kind: d.kind } },
      h("td", {}, KINDS[d.kind] || d.kind), h("td", {}, d.gateway), h("td", {}, d.gateway_order_id),
      h("td", {}, d.recorded_amount === null ? "–" : money(d.recorded_amount)),
      h("td", {}, d.confirmed_amount === null ? "–" : money(d.confirmed_amount)))));
    mount(recon, h("section", { class: "card", "aria-labelledby": "h-recon" },
      h("h3", { id: "h-recon" }, `Reconciliation ${rec.day}: ${rec.differences} difference(s)`),
      rows.length
        ? h("table", { dataset: { table: "reconciliation" } },
          h("thead", {}, h("tr", {}, ...["Difference", "Gateway", "Gateway order", "Recorded", "Confirmed"]
            .map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, ...rows))
        : h("p", { class: "muted" }, "Everything the gateways confirmed was recorded, and the other way round.")));
  }

  load();
}
