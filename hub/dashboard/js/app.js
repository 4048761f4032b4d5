// Dashboard shell: hash router, session guard, header. Each page is a module exporting
// `render(main, ctx)`; it owns everything inside <main> until the next navigation.
import { currentSession, logout, onSessionChange } from "./api.js";
import { label, lang, onLangChange, setLang, t, useLangOf } from "./i18n.js";

const PAGES = {
  login: () => import("./pages/login.js"),
  fleet: () => import("./pages/fleet.js"),
  sales: () => import("./pages/sales.js"),
  menu: () => import("./pages/menu.js"),
  outlets: () => import("./pages/outlets.js"),
  users: () => import("./pages/users.js"),
  staff: () => import("./pages/staff.js"),
  payments: () => import("./pages/payments.js"),
  tables: () => import("./pages/tables.js"),
  floor: () => import("./pages/floor.js"),
  audit: () => import("./pages/audit.js"),
};
const TITLES = { login: "Sign in", fleet: "Fleet", sales: "Sales", menu: "Menu", outlets: "Outlets", users: "Users",
  staff: "Staff", payments: "Payments", audit: "Audit log", floor: "Floor plan", tables: "Tables" };
const langSel = document.getElementById("lang");
const userKey = () => { const u = currentSession()?.user; return u ? (u.id || u.email) : null; };

// The static shell's texts (data-i18n holds the English) in the chosen language.
function translateShell() {
  document.documentElement.lang = lang();
  langSel.value = lang();
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

const main = document.getElementById("main");
const header = document.getElementById("top");
let renderToken = 0;
let cleanup = null;

function pageFromHash() {
  const name = (location.hash.replace(/^#\/?/, "").split("?")[0] || "fleet");
  return name in PAGES ? name : "fleet";
}

async function route() {
  const session = currentSession();
  let page = pageFromHash();
  if (!session && page !== "login") {
    location.hash = "#/login";
    return;
  }
  if (session && page === "login") page = "fleet";
  header.hidden = !session;
  if (session) useLangOf(userKey());
  translateShell();
  if (session) {
    document.getElementById("who").textContent = session.user
      ? `${session.user.email} · ${label(session.user.role)}` : "";
  }
  for (const link of header.querySelectorAll("nav a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${t(TITLES[page])} · ${t("fnbpos head office")}`;
  const token = ++renderToken;
  if (cleanup) { cleanup(); cleanup = null; }
  const module = await PAGES[page]();
  if (token !== renderToken) return; // a newer navigation won
  main.replaceChildren();
  main.dataset.page = page;
  cleanup = (await module.render(main, { navigate })) || null;
  main.focus({ preventScroll: true });
}

export function navigate(page) {
  if (pageFromHash() === page) route();
  else location.hash = `#/${page}`;
}

document.getElementById("logout").addEventListener("click", async () => {
  await logout();
  // onSessionChange has usually sent us to #/login already; routing again here would draw
  // the login form twice (a form being filled in replaced by an empty one)
  if (pageFromHash() !== "login") navigate("login");
});
onSessionChange((session) => { if (!session) navigate("login"); });
langSel.addEventListener("change", () => setLang(langSel.value, userKey()));
onLangChange(() => route());  // every page draws its texts anew in the new language
window.addEventListener("hashchange", route);
route();
