// Display formatting for money (integer minor units), dates and durations.

const EXPONENT = { IDR: 0, JPY: 0, VND: 0, KRW: 0 };

/** Minor units -> "Rp 25.000" / "USD 12.50"; never floats in storage, only here for display. */
export function money(amount, currency = "IDR") {
  const exponent = EXPONENT[currency] ?? 2;
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  if (currency === "IDR") {
    return `${sign}Rp ${abs.toLocaleString("id-ID", { maximumFractionDigits: 0 })}`;
  }
  const major = Math.trunc(abs / 10 ** exponent);
  const minor = exponent ? "." + String(abs % 10 ** exponent).padStart(exponent, "0") : "";
  return `${sign}${currency} ${major.toLocaleString("en-US")}${minor}`;
}

/** Major-unit text typed by a user ("12.50") -> integer minor units, or null if invalid. */
export function parseMoney(text, currency = "IDR") {
  const exponent = EXPONENT[currency] ?? 2;
  const cleaned = String(text).trim().replace(/[\s,]/g, "");
  const pattern = exponent ? new RegExp(`^-?\\d+(\\.\\d{1,${exponent}})?$`) : /^-?\d+$/;
  if (!pattern.test(cleaned)) return null;
  const [whole, frac = ""] = cleaned.replace("-", "").split(".");
  const value = Number(whole) * 10 ** exponent + Number(frac.padEnd(exponent, "0") || 0);
  return cleaned.startsWith("-") ? -value : value;
}

/** Minor units -> the plain text a price input shows ("12.50"). */
export function moneyInput(amount, currency = "IDR") {
  const exponent = EXPONENT[currency] ?? 2;
  if (!exponent) return String(amount);
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  return `${sign}${Math.trunc(abs / 10 ** exponent)}.${String(abs % 10 ** exponent).padStart(exponent, "0")}`;
}

export function dateTime(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "3 min ago" style relative time for "last sync". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 60) return `${Math.round(value)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

export function percent(ratio) {
  if (ratio === null || ratio === undefined) return "–";
  return `${(ratio * 100).toFixed(1)} %`;
}

/** YYYY-MM-DD of a Date in local time. */
export function isoDay(d) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
