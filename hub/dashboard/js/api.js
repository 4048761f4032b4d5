// The dashboard's one HTTP client for the hub API: attaches the access token, refreshes it
// with the refresh token when it expires (once, shared by concurrent calls), and turns the
// hub's {"error": {code, message, details}} bodies into ApiError exceptions.

const BASE = "/api/v1";
const STORE_KEY = "fnbpos.hub.session";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY)) || null;
  } catch {
    return null;
  }
}

let session = loadSession();
let refreshing = null;
const listeners = new Set();

export function currentSession() {
  return session;
}

/** Called with the new session (or null on logout / failed refresh). */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function saveSession(next) {
  session = next;
  if (next) localStorage.setItem(STORE_KEY, JSON.stringify(next));
  else localStorage.removeItem(STORE_KEY);
  for (const fn of listeners) fn(session);
}

async function send(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(BASE + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { raw: text }; }
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || "http_error",
      err.message || `${method} ${path} failed (${response.status})`, err.details);
  }
  return data;
}

function sessionFrom(tokens, previous = {}) {
  return {
    ...previous,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token || previous.refresh_token,
    user: tokens.user || previous.user,
  };
}

export async function login(email, password) {
  const tokens = await send("POST", "/auth/login", { email, password });
  saveSession(sessionFrom(tokens));
  try {
    const me = await send("GET", "/me", undefined, session.access_token);
    saveSession({ ...session, user: me.user || me });
  } catch {
    // /me is a convenience for the header; the tokens alone are enough to work.
  }
  return session;
}

export async function logout() {
  const current = session;
  saveSession(null);
  if (current && current.refresh_token) {
    try {
      await send("POST", "/auth/logout", { refresh_token: current.refresh_token }, current.access_token);
    } catch {
      // Already expired or revoked: nothing left to do.
    }
  }
}

/** Exchange the refresh token for a new access token; concurrent callers share one request. */
export async function refresh() {
  if (!session || !session.refresh_token) throw new ApiError(401, "unauthorized", "not signed in");
  if (!refreshing) {
    const previous = session;
    refreshing = send("POST", "/auth/refresh", { refresh_token: previous.refresh_token })
      .then((tokens) => saveSession(sessionFrom(tokens, previous)))
      .catch((err) => {
        if (err.status === 401 || err.status === 403) saveSession(null);
        throw err;
      })
      .finally(() => { refreshing = null; });
  }
  await refreshing;
  return session;
}

/** Authenticated request; on 401 refreshes once and retries. */
export async function api(method, path, body) {
  if (!session) throw new ApiError(401, "unauthorized", "not signed in");
  try {
    return await send(method, path, body, session.access_token);
  } catch (err) {
    if (err.status !== 401 || !session || !session.refresh_token) throw err;
    await refresh();
    return send(method, path, body, session.access_token);
  }
}

export const get = (path) => api("GET", path);
export const post = (path, body = {}) => api("POST", path, body);
export const put = (path, body = {}) => api("PUT", path, body);
export const patch = (path, body = {}) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);

/** Build "?a=1&b=2" from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}
