// Tiny client for the edge HTTP API: bearer auth, timeouts, safe retries, idempotency keys,
// and one error type. Every request also reports reachability to common/status.js, so the
// badge on each screen reflects what real calls experienced, not only the health poll.
import { learnEdgeClock } from "./clock.js";
import { reachability } from "./status.js";

/** An error the edge answered with ({"error": {code, message, details}}) or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status; // 0 = no answer (network down, timeout)
    this.code = code;
    this.details = details;
  }
  get isNetwork() { return this.status === 0; }
}

/** A random UUID (v4) for idempotency keys; crypto.randomUUID needs a secure context. */
export function newKey() {
  if (globalThis.crypto?.randomUUID) {
    try { return crypto.randomUUID(); } catch { /* insecure context: fall through */ }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * request(method, path, options) -> parsed JSON (or null for empty bodies).
 * options: body, token, idempotencyKey, timeoutMs (default 8000), retries (default: 2 for
 * GET and for requests with an idempotency key, 0 otherwise - a POST without a key is never
 * repeated blindly), headers, etag (returns {notModified:true} on 304).
 */
export async function request(method, path, options = {}) {
  const { body, token, idempotencyKey, timeoutMs = 8000, headers = {}, etag } = options;
  const safe = method === "GET" || Boolean(idempotencyKey);
  const retries = options.retries ?? (safe ? 2 : 0);
  const h = { Accept: "application/json", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  if (idempotencyKey) h["Idempotency-Key"] = idempotencyKey;
  if (etag) h["If-None-Match"] = etag;
  let lastError;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt) await sleep(Math.min(300 * 2 ** attempt, 3000));
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    let res;
    const sentAt = Date.now();
    try {
      res = await fetch(path, {
        method, headers: h, signal: ctrl.signal, cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      clearTimeout(timer);
      reachability.report(false);
      lastError = new ApiError(0, ctrl.signal.aborted ? "timeout" : "network",
        ctrl.signal.aborted ? "The edge did not answer in time" : "The edge is not reachable");
      continue; // no answer: retrying is safe for GET and keyed requests only (loop bound)
    }
    clearTimeout(timer);
    learnEdgeClock(res, sentAt);
    // A 503 carrying our own error shape is an edge answer; a bare 502/503/504 is a proxy
    // or a restarting server, i.e. effectively unreachable.
    reachability.report(res.status < 502);
    if (res.status === 304) return { notModified: true };
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    if (res.ok) {
      if (data && typeof data === "object" && !Array.isArray(data)) {
        Object.defineProperty(data, "_etag", { value: res.headers.get("ETag"), enumerable: false });
      }
      return data;
    }
    const e = data?.error ?? {};
    lastError = new ApiError(res.status, e.code ?? `http_${res.status}`,
      e.message ?? `The edge answered ${res.status}`, e.details ?? null);
    if (res.status >= 500 && safe) continue;
    throw lastError;
  }
  throw lastError;
}

/** Binds request() to a token source so screens write api.get("/api/v1/menu"). */
export function client(getToken) {
  const call = (method) => (path, body, opts = {}) =>
    request(method, path, { ...opts, body, token: opts.token ?? getToken() });
  return {
    get: (path, opts = {}) => request("GET", path, { ...opts, token: opts.token ?? getToken() }),
    post: call("POST"),
    put: call("PUT"),
  };
}

/** Human text for an error, in the current language when we know the code. */
export function describeError(err, t) {
  if (!(err instanceof ApiError)) return String(err?.message ?? err);
  const known = t?.(`error.${err.code}`);
  if (known && known !== `error.${err.code}`) return known;
  return err.message;
}
