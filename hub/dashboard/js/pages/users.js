// Users: who can sign in to head office, with which role and (for scoped roles) which outlets.
import { get, post } from "../api.js";
import { field, h, mount, notice, selectField, uid } from "../dom.js";
import { R, items } from "../routes.js";
import { t } from "../i18n.js";

const ROLES = [
  ["owner", "Owner"], ["hq_admin", "HQ admin"], ["area_manager", "Area manager"],
  ["outlet_manager", "Outlet manager"], ["technician", "Technician"],
];
const SCOPED = new Set(["area_manager", "outlet_manager", "technician"]);
const roleName = Object.fromEntries(ROLES);

export async function render(main) {
  const message = h("p", { role: "status", hidden: true });
  const body = h("tbody");
  let outlets = [];

  const email = field(t("Email"), { type: "email", name: "email", required: true, autocomplete: "off" });
  const name = field(t("Name"), { name: "name", maxlength: 200 });
  const password = field(t("Initial password"), { type: "password", name: "password", required: true, minlength: 8, autocomplete: "new-password" });
  const role = selectField(t("Role"), ROLES.map(([v, n]) => [v, t(n)]), { name: "role" });
  const outletBox = h("fieldset", { class: "choices", hidden: true },
    h("legend", {}, t("Outlets this user may see")));
  const create = h("button", { type: "submit", class: "primary" }, t("Create user"));

  role.input.addEventListener("change", () => { outletBox.hidden = !SCOPED.has(role.input.value); });
  role.input.value = "area_manager";
  outletBox.hidden = false;

  const form = h("form", {
    class: "inline",
    onsubmit: async (e) => {
      e.preventDefault();
      create.disabled = true;
      const chosen = [...outletBox.querySelectorAll("input:checked")].map((i) => i.value);
      try {
        const user = await post(R.users, {
          email: email.input.value.trim(), name: name.input.value.trim(), password: password.input.value,
          role: role.input.value, outlet_ids: SCOPED.has(role.input.value) ? chosen : [],
        });
        notice(message, t("User {email} created.", { email: user.email }), "ok");
        email.input.value = ""; name.input.value = ""; password.input.value = "";
        await load();
      } catch (err) {
        notice(message, err.message, "error");
      } finally {
        create.disabled = false;
      }
    },
  }, email.wrap, name.wrap, password.wrap, role.wrap, outletBox, create);

  async function load() {
    try {
      const [users, outletList] = await Promise.all([get(R.users), get(R.outlets)]);
      outlets = items(outletList);
      const outletName = Object.fromEntries(outlets.map((o) => [o.id, o.name]));
      mount(outletBox, h("legend", {}, t("Outlets this user may see")),
        outlets.map((o) => {
          const id = uid("uo");
          return h("div", { class: "field check" }, h("input", { type: "checkbox", id, value: o.id }),
            h("label", { for: id }, o.name));
        }));
      mount(body, items(users).map((u) => h("tr", { dataset: { user: u.id } },
        h("th", { scope: "row" }, u.email), h("td", {}, u.name || "–"), h("td", {}, t(roleName[u.role] || u.role)),
        h("td", {}, SCOPED.has(u.role) ? (u.outlet_ids || []).map((id) => outletName[id] || id).join(", ") || t("none") : t("all")),
        h("td", {}, u.active ? t("Active") : t("Disabled")))));
    } catch (err) {
      notice(message, t("Could not load users: {error}", { error: err.message }), "error");
    }
  }

  main.append(h("h2", {}, t("Users")), message,
    h("section", { class: "card", "aria-labelledby": "new-user" }, h("h3", { id: "new-user" }, t("New user")), form),
    h("section", { class: "card" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Email")), h("th", { scope: "col" }, t("Name")),
        h("th", { scope: "col" }, t("Role")), h("th", { scope: "col" }, t("Outlets")), h("th", { scope: "col" }, t("State")))),
      body)));
  await load();
}
