// Payments: /reports/payments for a period (attempts, success rate, pending, expired, late,
// refunds, by method and gateway) and /reports/payments/reconciliation for one UTC day (what
// the gateways confirmed against what the outlets recorded, each difference listed). Every
// text goes through i18n.js; the figures on screen download as one CSV (csv.js).
import { get, query } from "../api.js";
import { downloadCsv } from "../csv.js";
import { field, h, mount, notice, selectField } from "../dom.js";
import { isoDay, money, percent } from "../format.js";
import { label, t } from "../i18n.js";
import { R, items } from "../routes.js";

// difference kind -> its English (translated by t()).
const KINDS = {
  recorded_not_confirmed: "Recorded, not confirmed by the gateway",
  confirmed_not_recorded: "Confirmed by the gateway, not recorded",
  amount_mismatch: "Amount differs",
  unverified_static: "Static QR, confirmed by eye",
};
const COLUMNS = ["Attempts", "Paid", "Amount", "Pending", "Expired", "Cancelled / failed", "Late", "Success"];
const kindLabel = (kind) => (KINDS[kind] ? t(KINDS[kind]) : kind);

/** The attempts table as [key, name, figures]: all, then per method, then per gateway. */
function attemptRows(r) {
  return [["all", t("All"), r.totals],
    ...r.by_method.map((m) => [`method:${m.method}`, label(m.method), m]),
    ...r.by_gateway.map((g) => [`gateway:${g.gateway}`, t("via {gateway}", { gateway: g.gateway }), g])];
}

function refundLines(r) {
  return [...r.refunds.by_method.map((x) => [label(x.method), x.count, x.amount]),
    ...r.refunds.gateway_confirmed.map((x) => [t("{gateway} (confirmed)", { gateway: x.gateway }), x.count, x.amount])];
}

function differences(rec) {
  return (rec.outlets || []).flatMap((o) => o.differences);
}

/** Everything the page shows, as CSV rows (numbers in minor units, as the API gives them). */
export function csvRows(r, rec) {
  return [[t("Payments"), r.from, r.to, r.currency || ""],
    ["", ...COLUMNS.map((c) => t(c))],
    ...attemptRows(r).map(([, name, f]) => [name, f.attempts, f.paid, f.paid_amount, f.pending, f.expired,
      f.cancelled + f.failed, f.late, f.success_rate ?? ""]), [],
    [t("Refunds"), t("Count"), t("Amount")], ...refundLines(r), [],
    [t("Reconciliation {day}", { day: rec.day }), t("Gateway"), t("Gateway order"), t("Recorded"), t("Confirmed")],
    ...differences(rec).map((d) => [kindLabel(d.kind), d.gateway, d.gateway_order_id,
      d.recorded_amount, d.confirmed_amount])];
}

export async function render(main) {
  const today = new Date();
  const outletSel = selectField(t("Outlet"), [["", t("All my outlets")]], { name: "outlet" });
  const from = field(t("From"), { type: "date", name: "from", value: isoDay(new Date(today.getTime() - 6 * 86400_000)), required: true });
  const to = field(t("To"), { type: "date", name: "to", value: isoDay(today), required: true });
  const day = field(t("Reconcile day (UTC)"), { type: "date", name: "day", value: isoDay(new Date(today.getTime() - 86400_000)), required: true });
  const apply = h("button", { type: "submit", class: "primary" }, t("Show"));
  const csv = h("button", { type: "button", dataset: { testid: "payments-csv" }, disabled: true }, t("Download CSV"));
  const message = h("p", { role: "alert", hidden: true });
  const report = h("div", { "aria-live": "polite" });
  const recon = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); load(); } },
    outletSel.wrap, from.wrap, to.wrap, day.wrap, apply, csv);
  let shown = null;
  csv.addEventListener("click", () => {
    if (shown) downloadCsv(`payments-${shown.r.from}-${shown.r.to}.csv`, csvRows(shown.r, shown.rec));
  });
  main.append(h("h2", {}, t("Payments")), form, message, report, recon);
  try {
    for (const o of items(await get(R.outlets))) outletSel.input.append(h("option", { value: o.id }, o.name));
  } catch (err) {
    notice(message, t("Could not load outlets: {error}", { error: err.message }), "error");
  }

  async function load() {
    apply.disabled = csv.disabled = true;
    notice(message, "");
    try {
      const outlet_id = outletSel.input.value;
      const [r, rec] = await Promise.all([
        get(R.paymentsReport + query({ outlet_id, from: from.input.value, to: to.input.value })),
        get(R.reconciliation + query({ outlet_id, day: day.input.value })),
      ]);
      showReport(r);
      showRecon(rec);
      shown = { r, rec };
      csv.disabled = false;
    } catch (err) {
      shown = null;
      mount(report);
      mount(recon);
      notice(message, err.message, "error");
    } finally {
      apply.disabled = false;
    }
  }

  function row([key, name, f]) {
    const cell = (col, text) => h("td", { class: "num", dataset: { col } }, String(text));
    return h("tr", { dataset: { row: key } }, h("th", { scope: "row" }, name), cell("attempts", f.attempts),
      cell("paid", f.paid), cell("paid_amount", money(f.paid_amount)), cell("pending", f.pending),
      cell("expired", f.expired), cell("cancelled_failed", f.cancelled + f.failed), cell("late", f.late),
      cell("success_rate", percent(f.success_rate)));
  }

  function showReport(r) {
    const head = h("tr", {}, h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("Method"))),
      ...COLUMNS.map((c) => h("th", { scope: "col", class: "num" }, t(c))));
    const refunds = refundLines(r);
    mount(report,
      h("section", { class: "card", "aria-labelledby": "h-attempts" }, h("h3", { id: "h-attempts" }, t("Attempts")),
        h("table", { dataset: { table: "payments" } }, h("thead", {}, head),
          h("tbody", {}, ...attemptRows(r).map(row)))),
      h("section", { class: "card", "aria-labelledby": "h-refunds" }, h("h3", { id: "h-refunds" }, t("Refunds")),
        refunds.length ? h("ul", {}, ...refunds.map(([name, count, amount]) => h("li", {}, `${name}: ${count} · ${money(amount)}`)))
          : h("p", { class: "muted" }, t("No refunds in this period."))));
  }

  function showRecon(rec) {
    const rows = differences(rec).map((d) => h("tr", { dataset: { kind: d.kind } },
      h("td", {}, kindLabel(d.kind)), h("td", {}, d.gateway), h("td", {}, d.gateway_order_id),
      h("td", { class: "num" }, d.recorded_amount === null ? "–" : money(d.recorded_amount)),
      h("td", { class: "num" }, d.confirmed_amount === null ? "–" : money(d.confirmed_amount))));
    mount(recon, h("section", { class: "card", "aria-labelledby": "h-recon" },
      h("h3", { id: "h-recon" }, t("Reconciliation {day}: {count} difference(s)", { day: rec.day, count: rec.differences })),
      rows.length
        ? h("table", { dataset: { table: "reconciliation" } },
          h("thead", {}, h("tr", {}, ...["Difference", "Gateway", "Gateway order", "Recorded", "Confirmed"]
            .map((c) => h("th", { scope: "col" }, t(c))))), h("tbody", {}, ...rows))
        : h("p", { class: "muted" }, t("Everything the gateways confirmed was recorded, and the other way round."))));
  }

  load();
}
