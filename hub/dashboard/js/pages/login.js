// Sign-in page: email + password -> access and refresh tokens (kept by api.js).
import { login } from "../api.js";
import { field, h, notice } from "../dom.js";
import { t } from "../i18n.js";

export function render(main, { navigate }) {
  const email = field(t("Email"), { type: "email", name: "email", autocomplete: "username", required: true });
  const password = field(t("Password"), {
    type: "password", name: "password", autocomplete: "current-password", required: true,
  });
  const message = h("p", { role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: "primary" }, t("Sign in"));
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      notice(message, "");
      try {
        await login(email.input.value.trim(), password.input.value);
        navigate("fleet");
      } catch (err) {
        notice(message, err.status === 401 ? t("Wrong email or password.") : err.message, "error");
      } finally {
        submit.disabled = false;
      }
    },
  }, email.wrap, password.wrap, message, submit);
  main.append(h("div", { class: "login-wrap card" }, h("h1", {}, t("Sign in to head office")), form));
  email.input.focus();
}
