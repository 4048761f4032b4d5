// Device identity in the browser. A technician opens the pairing URL printed by
// `pos-edge pair` (…/kiosk/?token=dev_…): the token is read once, kept in localStorage under
// this app's key and removed from the address bar (so it is not bookmarked or shoulder-read).
// Without a token the app shows a pairing form where the token can be pasted. The token is
// checked against GET /api/v1/me so a KDS token cannot run the kiosk by mistake.
import { request, ApiError } from "./api.js";
import { setOutletTimeZone } from "./clock.js";
import { reachability } from "./status.js";

const key = (app) => `pos.device.${app}`;

export function storedToken(app) { return localStorage.getItem(key(app)); }
export function forgetToken(app) { localStorage.removeItem(key(app)); }

/** Take ?token= from the URL (once), store it, and clean the address bar. */
export function adoptTokenFromUrl(app) {
  const url = new URL(location.href);
  const token = url.searchParams.get("token");
  if (token) {
    localStorage.setItem(key(app), token.trim());
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return storedToken(app);
}

/**
 * Resolve with {token, me} for a device whose role is one of `roles`. Shows the pairing form
 * in `root` until a valid token is given; waits (without unpairing) while the edge is down.
 */
export async function ensurePaired(app, roles, root, t) {
  let token = adoptTokenFromUrl(app);
  for (;;) {
    if (token) {
      try {
        const me = await request("GET", "/api/v1/me", { token, timeoutMs: 4000, retries: 0 });
        const role = me.device_role ?? me.role;
        if (roles.includes(role)) {
          setOutletTimeZone(me.outlet?.timezone);
          return { token, me };
        }
        forgetToken(app);
        token = await pairingForm(root, t, t("pair.wrong_role", { role, need: roles.join(" / ") }));
        localStorage.setItem(key(app), token);
        continue;
      } catch (err) {
        if (err instanceof ApiError && !err.isNetwork && err.status < 500) {
          forgetToken(app);
          token = await pairingForm(root, t, t("pair.bad"));
          localStorage.setItem(key(app), token);
          continue;
        }
        // Edge unreachable: keep the token and wait for it to come back.
        await Promise.race([reachability.whenOnline(), new Promise((r) => setTimeout(r, 2000))]);
        continue;
      }
    }
    token = await pairingForm(root, t, "");
    localStorage.setItem(key(app), token);
  }
}

function pairingForm(root, t, message) {
  return new Promise((resolve) => {
    root.innerHTML = `
      <form class="pairing card" data-testid="pairing">
        <h1>${t("pair.title")}</h1>
        <p>${t("pair.help")}</p>
        <p class="error" role="alert">${message}</p>
        <label>${t("pair.token")}<input name="token" autocomplete="off" required spellcheck="false"></label>
        <button class="primary big" type="submit">${t("pair.save")}</button>
      </form>`;
    const form = root.querySelector("form");
    form.token.focus();
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = form.token.value.trim();
      if (!value) return;
      resolve(value);
    });
  });
}
