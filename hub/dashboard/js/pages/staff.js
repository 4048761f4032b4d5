// Staff: the people who log in at the outlets' tills with a PIN (cashier, kitchen, manager).
// They reach the outlets' edges with the next pull. Head office (owner, HQ admin) may type a
// PIN; otherwise the hub draws one and this page shows it once (it is never shown again).
import { currentSession, get, patch, post } from "../api.js";
import { field, h, mount, notice, selectField, uid } from "../dom.js";
import { R, items } from "../routes.js";
import { t } from "../i18n.js";

const ROLES = [["cashier", "Cashier"], ["kitchen", "Kitchen"], ["manager", "Manager"]];
const roleName = Object.fromEntries(ROLES);
const PIN_ATTRS = { type: "password", inputmode: "numeric", pattern: "[0-9]{4,8}", minlength: 4,
  maxlength: 8, autocomplete: "new-password" };
const HQ_ROLES = ["owner", "hq_admin"];

function headOffice() {  // unknown role: assume head office; the hub refuses a scoped manager's PIN
  const role = currentSession()?.user?.role;
  return !role || HQ_ROLES.includes(role);
}

function drawnPin(member) {
  return member.generated_pin
    ? t(" New PIN for {name}: {pin} (shown once: give it to them now).", { name: member.name, pin: member.generated_pin }) : "";
}

export async function render(main) {
  const message = h("p", { role: "status", hidden: true });
  const body = h("tbody");

  const name = field(t("Name"), { name: "name", required: true, maxlength: 100, autocomplete: "off" });
  const role = selectField(t("Role"), ROLES.map(([v, n]) => [v, t(n)]), { name: "role" });
  const pin = field(t("PIN (4-8 digits) · managers 6+ · empty: the hub draws one"), { name: "pin", ...PIN_ATTRS });
  pin.wrap.hidden = !headOffice();
  const allId = uid("all");
  const everywhere = h("input", { type: "checkbox", id: allId });
  const outletList = h("div", { class: "choices-list" });
  const outletBox = h("fieldset", { class: "choices" }, h("legend", {}, t("Works at")),
    h("div", { class: "field check" }, everywhere, h("label", { for: allId }, t("All outlets"))), outletList);
  const create = h("button", { type: "submit", class: "primary" }, t("Create staff member"));
  everywhere.addEventListener("change", () => { outletList.hidden = everywhere.checked; });

  const form = h("form", {
    class: "inline",
    onsubmit: async (e) => {
      e.preventDefault();
      create.disabled = true;
      const chosen = [...outletList.querySelectorAll("input:checked")].map((i) => i.value);
      try {
        const body = {
          name: name.input.value.trim(), role: role.input.value,
          all_outlets: everywhere.checked, outlet_ids: everywhere.checked ? [] : chosen,
        };
        if (pin.input.value) body.pin = pin.input.value;
        const member = await post(R.staff, body);
        name.input.value = ""; pin.input.value = "";
        await load();
        notice(message, t("{name} can log in at the tills after the outlets' next sync.", { name: member.name }) + drawnPin(member), "ok");
      } catch (err) {
        notice(message, err.message, "error");
      } finally {
        create.disabled = false;
      }
    },
  }, name.wrap, role.wrap, pin.wrap, outletBox, create);

  async function change(member, changes, done) {
    try {
      const changed = await patch(R.staffMember(member.id), changes);
      await load();
      notice(message, done + drawnPin(changed), "ok");
    } catch (err) {
      notice(message, err.message, "error");
    }
  }

  function pinForm(member, cell) {
    if (!headOffice()) {  // scoped managers never choose PINs: the hub draws one
      change(member, { new_pin: true }, t("PIN of {name} changed.", { name: member.name }));
      return;
    }
    const input = field(t("New PIN for {name} (empty: the hub draws one)", { name: member.name }), PIN_ATTRS);
    mount(cell, h("form", {
      class: "inline",
      onsubmit: (e) => {
        e.preventDefault();
        change(member, input.input.value ? { pin: input.input.value } : { new_pin: true },
          t("PIN of {name} changed.", { name: member.name }));
      },
    }, input.wrap, h("button", { type: "submit", class: "primary" }, t("Save PIN"))));
    input.input.focus();
  }

  function actions(member) {
    const cell = h("td", {});
    const toggle = h("button", { type: "button", class: member.active ? "danger" : undefined },
      member.active ? t("Deactivate") : t("Reactivate"));
    toggle.setAttribute("aria-label", t(member.active ? "Deactivate {name}" : "Reactivate {name}", { name: member.name }));
    toggle.addEventListener("click", () => change(member, { active: !member.active },
      t(member.active ? "{name} deactivated." : "{name} reactivated.", { name: member.name })));
    const pinButton = h("button", { type: "button" }, member.has_pin ? t("Change PIN") : t("Give a PIN"));
    pinButton.setAttribute("aria-label", t("Change PIN of {name}", { name: member.name }));
    pinButton.addEventListener("click", () => pinForm(member, cell));
    return mount(cell, h("div", { class: "row-actions" }, toggle, member.active ? pinButton : null));
  }

  async function load() {
    try {
      const [staff, outletData] = await Promise.all([get(R.staff), get(R.outlets)]);
      const outlets = items(outletData);
      const outletName = Object.fromEntries(outlets.map((o) => [o.id, o.name]));
      mount(outletList, outlets.map((o) => {
        const id = uid("so");
        return h("div", { class: "field check" }, h("input", { type: "checkbox", id, value: o.id }),
          h("label", { for: id }, o.name));
      }));
      mount(body, items(staff).map((s) => h("tr", { dataset: { staff: s.id } },
        h("th", { scope: "row" }, s.name), h("td", {}, t(roleName[s.role] || s.role)),
        h("td", {}, s.all_outlets ? t("All outlets") : s.outlet_ids.map((id) => outletName[id] || id).join(", ")),
        h("td", {}, s.active ? (s.has_pin ? t("Active") : t("Active · needs a new PIN")) : t("Disabled")), actions(s))));
      if (!items(staff).length) mount(body, h("tr", {}, h("td", { colspan: 5, class: "muted" }, t("No staff yet."))));
    } catch (err) {
      notice(message, t("Could not load staff: {error}", { error: err.message }), "error");
    }
  }

  main.append(h("h2", {}, t("Staff")), message,
    h("p", { class: "muted" }, t("People who log in at the outlets' tills with a PIN. Changes reach each outlet with its next sync.")),
    h("section", { class: "card", "aria-labelledby": "new-staff" }, h("h3", { id: "new-staff" }, t("New staff member")), form),
    h("section", { class: "card" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Name")), h("th", { scope: "col" }, t("Role")),
        h("th", { scope: "col" }, t("Outlets")), h("th", { scope: "col" }, t("State")), h("th", { scope: "col" }, t("Actions")))),
      body)));
  await load();
}
