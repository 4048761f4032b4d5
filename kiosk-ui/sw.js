// Service worker for every outlet screen (scope "/"). It keeps the app shell and the last
// menu so that reloading a screen while the edge restarts shows the app's own
// "reconnecting" state instead of a browser error page; the app then resumes by itself.
// Strategy: network first (the edge is on the LAN, so fresh files cost nothing), cache as
// the fallback. Only GETs of our own origin are touched; other API calls pass straight through.
const CACHE = "pos-shell-v2";
// Every file an app may load, also the modules it fetches only on first use with import()
// (the cashier's counter, shift, qr and refund): offline, a dialog opens from this cache.
const SHELL = [
  "/", "/index.html", "/common/base.css", "/common/api.js", "/common/status.js",
  "/common/i18n.js", "/common/money.js", "/common/device.js", "/common/stream.js",
  "/common/menu.js", "/common/boot.js", "/common/qr.js", "/common/clock.js",
  "/common/press.js",
  "/kiosk/", "/kiosk/index.html", "/kiosk/kiosk.js", "/kiosk/kiosk.css", "/kiosk/pay.js",
  "/kiosk/strings.js",
  "/cashier/", "/cashier/index.html", "/cashier/cashier.js", "/cashier/cashier.css",
  "/cashier/orders.js", "/cashier/counter.js", "/cashier/shift.js", "/cashier/qr.js",
  "/cashier/refund.js", "/cashier/strings.js",
  "/kds/", "/kds/index.html", "/kds/kds.js", "/kds/kds.css",
  "/board/", "/board/index.html", "/board/board.js", "/board/board.css",
  "/waiter/", "/waiter/index.html", "/waiter/waiter.js", "/waiter/waiter.css", "/waiter/floor.js",
  "/waiter/bill.js", "/waiter/split.js", "/waiter/strings.js",
];
const CACHED_API = ["/api/v1/menu"];
const NETWORK_TIMEOUT_MS = 3000;

self.addEventListener("install", (event) => {
  // Best effort per file: one missing file must not prevent the others from being cached.
  event.waitUntil(caches.open(CACHE).then((cache) =>
    Promise.all(SHELL.map((url) => cache.add(new Request(url, { cache: "reload" })).catch(() => null))),
  ).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/metrics") {
    if (CACHED_API.includes(url.pathname)) event.respondWith(networkFirst(req, { api: true }));
    return;
  }
  event.respondWith(networkFirst(req, { api: false }));
});

async function networkFirst(req, { api }) {
  const cache = await caches.open(CACHE);
  try {
    const res = await withTimeout(fetch(req), NETWORK_TIMEOUT_MS);
    // Full 200s only: a 304 has no body to replay, and a redirected response may not answer
    // a navigation later.
    if (res.status === 200 && !res.redirected) cache.put(cacheKey(req), res.clone()).catch(() => null);
    return res;
  } catch {
    const hit = await cache.match(cacheKey(req), { ignoreSearch: true });
    if (hit) return api ? markedAsCached(hit) : hit;
    if (api) {
      return new Response(JSON.stringify({ error: { code: "unavailable",
        message: "The edge is not reachable and no copy is cached", details: null } }),
      { status: 503, headers: { "Content-Type": "application/json" } });
    }
    if (req.mode === "navigate") return offlinePage();
    return Response.error();
  }
}

// A replayed answer keeps the Date of when it was fetched: marked, so that common/clock.js
// does not take it for the edge's clock now.
function markedAsCached(res) {
  const headers = new Headers(res.headers);
  headers.set("X-Pos-Cached", "1");
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

// Everything is cached under its bare URL: static files do not depend on the query (and a
// pairing link's ?token= must not end up in the cache), and the menu is the same for every
// device of an outlet whatever its Authorization header.
function cacheKey(req) {
  const url = new URL(req.url);
  return new Request(url.origin + url.pathname);
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

// Shown only when a screen was never loaded before and the edge is down.
function offlinePage() {
  const html = `<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Reconnecting…</title>
<style>body{font:1.5rem system-ui,sans-serif;background:#111;color:#fff;display:grid;place-items:center;height:100vh;margin:0;text-align:center}</style>
<div data-testid="reconnecting"><h1>Reconnecting to the outlet server…</h1><p>Menghubungkan ulang ke server outlet…</p></div>
<script>setInterval(()=>fetch("/api/health",{cache:"no-store"}).then(r=>{if(r.ok)location.reload()}).catch(()=>{}),1500)</script></html>`;
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}
