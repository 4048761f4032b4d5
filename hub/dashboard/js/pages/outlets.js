// Outlets: list, create, and issue a one-time enrollment code a technician types into the
// outlet box (`pos-edge provision`). The code is shown once; the hub keeps only its digest.
import { get, post } from "../api.js";
import { field, h, mount, notice } from "../dom.js";
import { dateTime } from "../format.js";
import { R, items } from "../routes.js";
import { t } from "../i18n.js";

const COMMON_ZONES = ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Singapore",
  "Asia/Kuala_Lumpur", "Asia/Bangkok", "Asia/Manila", "Asia/Tokyo", "Europe/London", "UTC"];

export async function render(main) {
  const message = h("p", { role: "status", hidden: true });
  const body = h("tbody");
  const codePanel = h("div", { "aria-live": "polite" });

  const name = field(t("Name"), { name: "name", required: true, maxlength: 200 });
  const tz = field(t("Time zone"), { name: "timezone", required: true, list: "tz-list", value: "Asia/Jakarta" });
  const address = field(t("Address"), { name: "address", maxlength: 500 });
  const currency = field(t("Currency"), { name: "currency", value: "IDR", pattern: "[A-Z]{3}", maxlength: 3, required: true });
  const create = h("button", { type: "submit", class: "primary" }, t("Create outlet"));
  const form = h("form", {
    class: "inline",
    onsubmit: async (e) => {
      e.preventDefault();
      create.disabled = true;
      try {
        const outlet = await post(R.outlets, {
          name: name.input.value.trim(), timezone: tz.input.value.trim(),
          address: address.input.value.trim(), currency: currency.input.value.trim(),
        });
        notice(message, t("Outlet “{name}” created.", { name: outlet.name }), "ok");
        form.reset();
        tz.input.value = "Asia/Jakarta";
        currency.input.value = "IDR";
        await load();
      } catch (err) {
        notice(message, err.message, "error");
      } finally {
        create.disabled = false;
      }
    },
  }, name.wrap, tz.wrap, address.wrap, currency.wrap, create,
  h("datalist", { id: "tz-list" }, COMMON_ZONES.map((z) => h("option", { value: z }))));

  async function issueCode(outlet, button) {
    button.disabled = true;
    try {
      const issued = await post(R.enrollmentCodes(outlet.id), {});
      mount(codePanel, h("section", { class: "card", "aria-labelledby": "code-h" },
        h("h3", { id: "code-h" }, t("Enrollment code for {name}", { name: outlet.name })),
        h("div", { class: "code-box", dataset: { testid: "enrollment-code" } }, issued.code),
        h("p", {}, t("Valid until {time}. It works once; on the outlet box run ", { time: dateTime(issued.expires_at) }),
          h("code", {}, `pos-edge provision --hub <hub URL> --code ${issued.code} --data-dir <data dir>`), "."),
        h("p", { class: "muted" }, t("The hub keeps only a digest: this is the only time the code is shown."))));
    } catch (err) {
      notice(message, err.message, "error");
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    try {
      const outlets = items(await get(R.outlets));
      mount(body, outlets.length ? outlets.map((o) => {
        const button = h("button", { type: "button" }, t("Enrollment code"));
        button.addEventListener("click", () => issueCode(o, button));
        button.setAttribute("aria-label", t("Generate enrollment code for {name}", { name: o.name }));
        return h("tr", { dataset: { outlet: o.id } },
          h("th", { scope: "row" }, o.name), h("td", {}, o.timezone), h("td", {}, o.currency),
          h("td", {}, o.active ? t("Active") : t("Inactive")), h("td", {}, button));
      }) : h("tr", {}, h("td", { colspan: 5 }, t("No outlets yet."))));
    } catch (err) {
      notice(message, t("Could not load outlets: {error}", { error: err.message }), "error");
    }
  }

  main.append(h("h2", {}, t("Outlets")), message, codePanel,
    h("section", { class: "card", "aria-labelledby": "new-outlet" }, h("h3", { id: "new-outlet" }, t("New outlet")), form),
    h("section", { class: "card" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Outlet")), h("th", { scope: "col" }, t("Time zone")),
        h("th", { scope: "col" }, t("Currency")), h("th", { scope: "col" }, t("State")), h("th", { scope: "col" }, t("Provisioning")))),
      body)));
  await load();
}
