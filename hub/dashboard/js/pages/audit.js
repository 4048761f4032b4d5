// Audit log: the hub's administrative changes (GET /audit, newest first, paged backwards
// with ?before_id=), each as "who did what to which thing, from where, what changed", with
// the codes of the API shown as words; filter by kind, load older entries, export as CSV.
import { get, query } from "../api.js";
import { downloadCsv } from "../csv.js";
import { h, mount, notice, selectField } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";
import { R, items } from "../routes.js";

const PAGE = 50;
const NOISE = new Set(["id", "tenant_id", "created_at", "updated_at"]); // bookkeeping, not a change
// entity_type -> its English name (translated by t()).
const THINGS = {
  product: "Product", category: "Category", modifier_group: "Modifier group", outlet: "Outlet",
  staff: "Staff member", user: "User", brand: "Brand", tenant: "Company", price: "Outlet price",
  availability: "Availability", catalog: "Menu", enrollment_code: "Enrollment code",
  sync_credential: "Sync credential", payment_gateway: "Payment gateway", sync_quarantine: "Quarantined sync",
};
const VERBS = {
  create: "created", update: "changed", archive: "archived", set: "set", clear: "cleared",
  publish: "published", revoke: "revoked", redeem: "redeemed", webhook_refused: "webhook refused",
  pin_conflict: "PIN conflict", release: "released", discard: "discarded",
};

/** "product.update" -> "Product changed" in the chosen language. */
export function actionLabel(action) {
  const [thing, ...rest] = String(action).split(".");
  const verb = rest.join(".");
  const noun = THINGS[thing] ? t(THINGS[thing]) : thing.replace(/_/g, " ");
  return `${noun} ${VERBS[verb] ? t(VERBS[verb]) : verb.replace(/_/g, " ")}`.trim();
}

function show(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** What changed: "price: 25000 → 27500" per field that differs (or the new values). */
export function changes(before, after) {
  const keys = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])];
  return keys.filter((k) => !NOISE.has(k) && show(before?.[k]) !== show(after?.[k]))
    .map((k) => (before && k in before ? `${k}: ${show(before[k])} → ${show(after?.[k])}` : `${k}: ${show(after?.[k])}`));
}

export async function render(main) {
  const message = h("p", { role: "alert", hidden: true });
  const kinds = [["", t("All kinds")], ...Object.entries(THINGS).map(([code, name]) => [code, t(name)])];
  const kind = selectField(t("Kind"), kinds, { name: "entity_type" });
  const showBtn = h("button", { type: "submit", class: "primary" }, t("Show"));
  const more = h("button", { type: "button", hidden: true }, t("Older entries"));
  const csv = h("button", { type: "button", dataset: { testid: "audit-csv" } }, t("Download CSV"));
  const body = h("tbody");
  let loaded = [];

  function row(e) {
    const diff = changes(e.before, e.after);
    return h("tr", { dataset: { entry: e.id } },
      h("td", {}, dateTime(e.at)),
      h("td", {}, e.actor_email || t("system")),
      h("th", { scope: "row" }, actionLabel(e.action)),
      h("td", {}, h("span", { title: e.entity_id }, `${THINGS[e.entity_type] ? t(THINGS[e.entity_type]) : e.entity_type} · ${String(e.entity_id).slice(-8)}`)),
      h("td", { class: "changes" }, diff.length ? diff.map((line) => h("div", {}, line)) : "–"),
      h("td", {}, e.ip || "–"));
  }

  async function load(append = false) {
    showBtn.disabled = more.disabled = true;
    notice(message, "");
    try {
      const before = append && loaded.length ? loaded[loaded.length - 1].id : undefined;
      const page = items(await get(R.audit + query({ entity_type: kind.input.value, before_id: before, limit: PAGE })));
      loaded = append ? [...loaded, ...page] : page;
      mount(body, loaded.length ? loaded.map(row) : h("tr", {}, h("td", { colspan: 6 }, t("No entries."))));
      more.hidden = page.length < PAGE;
    } catch (err) {
      notice(message, t("Could not load the audit log: {error}", { error: err.message }), "error");
    } finally {
      showBtn.disabled = more.disabled = false;
    }
  }

  more.addEventListener("click", () => load(true));
  csv.addEventListener("click", () => downloadCsv("audit-log.csv", [
    [t("When"), t("Who"), t("Action"), t("Subject"), "id", t("Changes"), t("IP address")],
    ...loaded.map((e) => [e.at, e.actor_email || t("system"), actionLabel(e.action),
      THINGS[e.entity_type] ? t(THINGS[e.entity_type]) : e.entity_type, e.entity_id,
      changes(e.before, e.after).join("; "), e.ip]),
  ]));
  main.append(h("h2", {}, t("Audit log")),
    h("p", { class: "muted" }, t("Administrative changes, newest first.")),
    h("form", { class: "inline", onsubmit: (e) => { e.preventDefault(); load(); } }, kind.wrap, showBtn, csv),
    message,
    h("section", { class: "card" }, h("table", { class: "audit" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("When")), h("th", { scope: "col" }, t("Who")),
        h("th", { scope: "col" }, t("Action")), h("th", { scope: "col" }, t("Subject")),
        h("th", { scope: "col" }, t("Changes")), h("th", { scope: "col" }, t("IP address")))),
      body)),
    more);
  await load();
}
