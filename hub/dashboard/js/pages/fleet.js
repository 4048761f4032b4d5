// Fleet: every outlet the user may see, online or offline, last sync, backlog, edge version,
// and an alert when an outlet has more than one active sync credential (a second box, or a
// credential minted without one: revoke the one you do not recognise, see docs/security.md).
// Table service: each outlet's open bills at its tables (count, their value in rupiah, and how
// long the party seated first has been at its table), and the fleet's total in the summary.
import { get } from "../api.js";
import { R, items as listOf } from "../routes.js";
import { h, mount, notice } from "../dom.js";
import { ago, dateTime, money } from "../format.js";
import { locale, t } from "../i18n.js";

/** How long since `iso`, for a table: "35 min", "1 h 05 min", "2 d 3 h". */
export function seatedFor(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return t("{m} min", { m: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return t("{h} h {m} min", { h: hours, m: String(minutes % 60).padStart(2, "0") });
  return t("{d} d {h} h", { d: Math.floor(hours / 24), h: hours % 24 });
}

export function render(main) {
  const message = h("p", { role: "status", hidden: true });
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  const body = h("tbody");
  const refresh = h("button", { type: "button", onclick: () => load() }, t("Refresh"));

  async function load() {
    refresh.disabled = true;
    try {
      const items = listOf(await get(R.fleet));
      const online = items.filter((o) => o.online).length;
      const doubled = items.filter((o) => (o.active_credentials ?? 0) > 1).length;
      const bills = items.reduce((n, o) => n + (o.open_bills ?? 0), 0);
      const value = items.reduce((n, o) => n + (o.open_bill_value ?? 0), 0);
      summary.textContent = t("{online} of {total} outlets online · updated {time}",
        { online, total: items.length, time: new Date().toLocaleTimeString(locale()) })
        + (bills ? " · " + t("{count} open bills ({value})", { count: bills, value: money(value) }) : "")
        + (doubled ? t(" · {count} with several sync credentials", { count: doubled }) : "");
      const now = Date.now();
      mount(body, items.length ? items.map((o) => row(o, now)) : h("tr", {}, h("td", { colspan: 9 }, t("No outlets yet."))));
      notice(message, "");
    } catch (err) {
      notice(message, t("Could not load the fleet: {error}", { error: err.message }), "error");
    } finally {
      refresh.disabled = false;
    }
  }

  function row(o, now) {
    const lastSync = o.last_push_at || o.last_contact_at;
    const alarm = o.journal_alarm || o.last_error;
    const credentials = o.active_credentials ?? 0;
    const alerts = [];
    if (credentials > 1) {
      alerts.push(h("span", {
        class: "badge warn", dataset: { alert: "credentials" },
        title: t("More than one box can sync as this outlet. Revoke the credential you do not recognise."),
      }, t("{count} active sync credentials", { count: credentials })));
    }
    if (alarm) alerts.push(h("span", { class: "badge warn", title: alarm }, alarm.slice(0, 60)));
    return h("tr", { dataset: { outlet: o.outlet_id } },
      h("th", { scope: "row" }, o.outlet_name),
      h("td", {}, h("span", { class: `badge ${o.online ? "online" : "offline"}` }, o.online ? t("Online") : t("Offline"))),
      h("td", { title: dateTime(lastSync) }, ago(lastSync)),
      h("td", { class: "num" }, String(o.reported_backlog ?? 0)),
      h("td", {}, o.edge_version || "–"),
      ...bills(o, now),
      h("td", {}, ...(alerts.length ? alerts : ["–"])));
  }

  function bills(o, now) {
    const count = o.open_bills ?? 0;
    const oldest = count ? o.oldest_seated_at : null;
    return [
      h("td", { class: "num", dataset: { field: "open_bills" } }, String(count)),
      h("td", { class: "num", dataset: { field: "open_bill_value" } }, count ? money(o.open_bill_value ?? 0) : "–"),
      h("td", { dataset: { field: "oldest_seated" },
        title: oldest ? t("seated since {time}", { time: dateTime(oldest) }) : "" },
      oldest ? seatedFor(oldest, now) : "–"),
    ];
  }

  main.append(
    h("h2", {}, t("Fleet")),
    h("div", { class: "toolbar" }, refresh, summary),
    message,
    h("div", { class: "card" }, h("table", {},
      h("caption", { class: "skip" }, t("Outlets and their sync state")),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("Outlet")), h("th", { scope: "col" }, t("Status")),
        h("th", { scope: "col" }, t("Last sync")), h("th", { scope: "col", class: "num" }, t("Backlog")),
        h("th", { scope: "col" }, t("Version")),
        h("th", { scope: "col", class: "num", title: t("Bills open at the tables (placed, in the kitchen or ready; split parts counted one by one)") }, t("Open bills")),
        h("th", { scope: "col", class: "num", title: t("The sum of the open bills' totals") }, t("Open bill value")),
        h("th", { scope: "col", title: t("How long the party seated first among the open bills has been at its table") }, t("Seated longest")),
        h("th", { scope: "col" }, t("Alerts")))),
      body)),
  );
  load();
  const timer = setInterval(load, 30_000);
  return () => clearInterval(timer);
}
