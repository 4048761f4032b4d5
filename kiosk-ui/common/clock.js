// The edge's clock, as the screens read it for ages and expiries. A shop's tablets often have
// no time source (the LAN has no internet for days, a cheap tablet's clock drifts or was
// never set): a kitchen screen ten minutes ahead showed every new ticket ten minutes late and
// never chimed, a board ahead dropped each ready number the moment it appeared. Every answer
// of the edge carries its clock in the HTTP Date header (whole seconds); api.js and the health
// poll hand each answer here.

// How old a Date header may be when it leaves the edge: uvicorn refreshes it once a second
// and it is truncated to the second, so up to 2 s, plus a busy loop's lag.
const DATE_STALENESS_MS = 2500;

// Bounds on (edge clock - this screen's clock), in ms, narrowed by every answer.
let low = -Infinity;
let high = Infinity;

/**
 * Learn from one answer of the edge, sent at `sentAt` and received at `receivedAt` (this
 * screen's clock). The service worker's replay of a cached answer carries an old Date and is
 * skipped.
 */
export function learnEdgeClock(response, sentAt, receivedAt = Date.now()) {
  const headers = response?.headers;
  if (!headers || headers.get("X-Pos-Cached")) return;
  const date = Date.parse(headers.get("Date") ?? "");
  if (!Number.isFinite(date)) return;
  // At some moment between sentAt and receivedAt the edge's clock read date or later, by less
  // than DATE_STALENESS_MS.
  const lo = date - receivedAt;
  const hi = date + DATE_STALENESS_MS - sentAt;
  if (lo > high || hi < low) { low = lo; high = hi; } // a clock was set meanwhile: start over
  else { low = Math.max(low, lo); high = Math.min(high, hi); }
}

/** Edge clock minus this screen's, ms (0 until an answer has come). */
export function edgeClockSkew() {
  return Number.isFinite(low) && Number.isFinite(high) ? Math.round((low + high) / 2) : 0;
}

/** Now, on the edge's clock (ms since 1970). */
export function edgeNow() { return Date.now() + edgeClockSkew(); }

// The outlet's IANA time zone (GET /api/v1/me, set by common/device.js once paired): times of
// day are shown as the outlet's clocks show them, whatever zone the tablet was left in (a
// tablet reset to UTC showed a Jakarta lunch order at 05:15).
let outletZone;

export function setOutletTimeZone(zone) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone }); // RangeError for an unknown zone
    outletZone = zone || undefined;
  } catch {
    outletZone = undefined; // the tablet's own zone, as before
  }
}

/** An instant (ISO text, ms or Date) as the outlet's wall clock shows it, in `lang`. */
export function outletTime(at, lang, options = {}) {
  const when = at instanceof Date ? at : new Date(at);
  return when.toLocaleString(lang, outletZone ? { ...options, timeZone: outletZone } : options);
}
