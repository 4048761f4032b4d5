// Fleet: every outlet the user may see, online or offline, last sync, backlog, edge version,
// and an alert when an outlet has more than one active sync credential (a second box, or a
// credential minted without one: revoke the one you do not recognise, see docs/security.md).
import { get } from "../api.js";
import { R, items as listOf } from "../routes.js";
import { h, mount, notice } from "../dom.js";
import { ago, dateTime } from "../format.js";
import { locale, t } from "../i18n.js";

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
      summary.textContent = t("{online} of {total} outlets online · updated {time}",
        { online, total: items.length, time: new Date().toLocaleTimeString(locale()) })
        + (doubled ? t(" · {count} with several sync credentials", { count: doubled }) : "");
      mount(body, items.length ? items.map(row) : h("tr", {}, h("td", { colspan: 6 }, t("No outlets yet."))));
      notice(message, "");
    } catch (err) {
      notice(message, t("Could not load the fleet: {error}", { error: err.message }), "error");
    } finally {
      refresh.disabled = false;
    }
  }

  function row(o) {
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
      h("td", {}, ...(alerts.length ? alerts : ["–"])));
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
        h("th", { scope: "col" }, t("Version")), h("th", { scope: "col" }, t("Alerts")))),
      body)),
  );
  load();
  const timer = setInterval(load, 30_000);
  return () => clearInterval(timer);
}
