// Display formatting for money (integer minor units), dates and durations, in the chosen
// language; parsing of prices as people type them.
import { locale, t } from "./i18n.js";

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

/**
 * A price typed by a person -> integer minor units; throws an Error saying what to type.
 * Rupiah (no minor units) is written the Indonesian way: "21.500" (dot between thousands),
 * "21500", "Rp 21.500"; "21,500" (comma between thousands) is read too. Anything with a
 * decimal part ("21.5", "21,50", "21.500,00") is refused: for rupiah it is ambiguous.
 * Other currencies keep "12.50" with an optional "," between thousands.
 */
export function parsePrice(text, currency = "IDR") {
  const raw = String(text ?? "").trim();
  const exponent = EXPONENT[currency] ?? 2;
  if (raw === "") throw new Error(t("Type a price."));
  if (raw.length > 32) throw new Error(t("PRICE_BAD", { text: raw.slice(0, 32) + "…", example: exponent ? "12.50" : "21.500" }));
  const cleaned = raw.replace(/^(rp|idr)\s*/i, "").replace(/\s/g, "");
  if (cleaned.startsWith("-")) throw new Error(t("PRICE_NEGATIVE"));
  if (!exponent) {
    if (/^\d+$/.test(cleaned)) return Number(cleaned);
    if (/^\d{1,3}(\.\d{3})+$/.test(cleaned)) return Number(cleaned.replace(/\./g, ""));
    if (/^\d{1,3}(,\d{3})+$/.test(cleaned)) return Number(cleaned.replace(/,/g, ""));
    if (/^[\d.,]+$/.test(cleaned)) throw new Error(t("PRICE_AMBIGUOUS", { text: raw }));
    throw new Error(t("PRICE_BAD", { text: raw, example: "21.500" }));
  }
  const value = parseMoney(cleaned, currency);
  if (value === null) throw new Error(t("PRICE_BAD", { text: raw, example: "12.50" }));
  return value;
}

/** Minor units -> the plain text a price input shows ("12.50"). */
export function moneyInput(amount, currency = "IDR") {
  const exponent = EXPONENT[currency] ?? 2;
  // Rupiah as Indonesians write it ("21.500"); parsePrice reads it back.
  if (!exponent) return currency === "IDR" ? `${amount < 0 ? "-" : ""}${Math.abs(amount).toLocaleString("id-ID")}` : String(amount);
  const sign = amount < 0 ? "-" : "";
  const abs = Math.abs(amount);
  return `${sign}${Math.trunc(abs / 10 ** exponent)}.${String(abs % 10 ** exponent).padStart(exponent, "0")}`;
}

export function dateTime(iso) {
  if (!iso) return t("never");
  const d = new Date(iso);
  return d.toLocaleString(locale(), { dateStyle: "medium", timeStyle: "short" });
}

/** "3 min ago" style relative time for "last sync". */
export function ago(iso, now = Date.now()) {
  if (!iso) return t("never");
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return t("{n} s ago", { n: seconds });
  if (seconds < 3600) return t("{n} min ago", { n: Math.round(seconds / 60) });
  if (seconds < 86400) return t("{n} h ago", { n: Math.round(seconds / 3600) });
  return t("{n} d ago", { n: Math.round(seconds / 86400) });
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

/** The newest business day of `outlets` now ("YYYY-MM-DD"): each outlet's date in its own
 * time zone, less its business day's start hour (settings.business_day_start_hour, as the
 * edge counts). Reports are by the outlets' business days, so a browser west of its outlets
 * (head office in another zone, a laptop on UTC) would otherwise open on a "today" they have
 * already left, and miss their morning. The browser's own date when there is no outlet. */
export function outletsToday(outlets, now = new Date()) {
  let latest = "";
  for (const o of outlets) {
    const start = Number(o.settings?.business_day_start_hour) || 0;
    try {
      const day = new Intl.DateTimeFormat("en-CA", { timeZone: o.timezone, year: "numeric",
        month: "2-digit", day: "2-digit" }).format(new Date(now.getTime() - start * 3600_000));
      if (day > latest) latest = day;
    } catch { /* an unknown zone: the other outlets decide */ }
  }
  return latest || isoDay(now);
}

/** Set a report's period fields to the last seven of `outlets`' business days, unless they
 * no longer hold `defaults` (the user typed a period while the outlets were read). */
export function openOnOutletsWeek(from, to, defaults, outlets) {
  if (from.value !== defaults[0] || to.value !== defaults[1]) return;
  to.value = outletsToday(outlets);
  from.value = addDays(to.value, -6);
}

/** `day` ("YYYY-MM-DD") moved by `days` calendar days. */
export function addDays(day, days) {
  const [y, m, d] = day.split("-").map(Number);
  return isoDay(new Date(y, m - 1, d + days));
}
