// A QR payment as a customer sees it: the big QR (SVG rendered by the edge with segno), the
// amount, a countdown to the QR's expiry and which mode is running. Used by the kiosk's pay
// screen and the cashier's customer-facing view. The countdown follows the edge's clock: a
// tablet whose clock is off by minutes still counts the QR's real lifetime (`skewMs`).
import { esc } from "./boot.js";

const CHANNELS = { gopay: "GoPay", ovo: "OVO", dana: "DANA", shopeepay: "ShopeePay" };

/** The display name of an e-wallet channel ("gopay" -> "GoPay"). */
export function channelName(channel) { return CHANNELS[channel] ?? String(channel ?? "").toUpperCase(); }

/**
 * Edge clock minus ours: from `server_time` (the edge's clock when it answered, on every API
 * read) when the answer has it, else from an answer just minted (updated_at ~ now).
 */
export function clockSkew(attempt, receivedAt = Date.now()) {
  const edgeNow = Date.parse(attempt?.server_time ?? attempt?.updated_at ?? attempt?.created_at ?? "");
  return Number.isFinite(edgeNow) ? edgeNow - receivedAt : 0;
}

/** Whole seconds until the attempt's QR expires (0 once it has). */
export function secondsLeft(attempt, skewMs = 0, now = Date.now()) {
  const end = Date.parse(attempt?.expires_at ?? "");
  if (!Number.isFinite(end)) return 0;
  return Math.max(0, Math.ceil((end - (now + skewMs)) / 1000));
}

/** 125 -> "2:05". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The edge's SVG (segno: width and height, no viewBox) made to scale with its box. */
export function scalableSvg(svg) {
  const open = String(svg ?? "").match(/^<svg\b[^>]*>/)?.[0];
  if (!open || /viewBox=/.test(open)) return svg ?? "";
  const w = open.match(/\swidth="([\d.]+)"/)?.[1], h = open.match(/\sheight="([\d.]+)"/)?.[1];
  if (!w || !h) return svg;
  return svg.replace(/^<svg\b/, `<svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="xMidYMid meet"`);
}

/** The QR card: QR, amount, countdown (kept fresh by tickCountdowns) and the mode line. */
export function qrCard(attempt, { t, money, skewMs = 0 }) {
  const how = attempt.method === "ewallet" && attempt.channel
    ? t("qr.ewallet_app", { channel: channelName(attempt.channel) }) : t("qr.any_app");
  const left = secondsLeft(attempt, skewMs);
  return `<figure class="qr-card" data-testid="qr-card" data-mode="${esc(attempt.mode)}">
      <div class="qr-code" role="img" aria-label="${esc(t("qr.title"))}">${scalableSvg(attempt.qr_svg)}</div>
      <figcaption>
        <span class="qr-amount money" data-testid="qr-amount">${money(attempt.amount)}</span>
        <span class="qr-how">${esc(how)}</span>
        <span class="qr-left">${t("qr.time_left")} <strong data-countdown data-testid="qr-countdown">${clock(left)}</strong></span>
        <span class="qr-mode badge ${attempt.mode === "static" ? "static" : ""}" data-testid="qr-mode">${attempt.mode === "static" ? t("qr.badge_static") : t("qr.badge_gateway")}</span>
      </figcaption></figure>`;
}

/**
 * Every second, write the time left into each [data-countdown] under `root()`; call
 * `onZero` once when it reaches 0. `skewMs` is a number or a function giving the latest.
 * Returns a function that stops the ticking.
 */
export function tickCountdowns(root, getAttempt, skewMs, onZero) {
  let fired = false;
  const tick = () => {
    const attempt = getAttempt();
    if (!attempt) return;
    const left = secondsLeft(attempt, typeof skewMs === "function" ? skewMs() : skewMs);
    root()?.querySelectorAll("[data-countdown]").forEach((el) => { el.textContent = clock(left); });
    if (left === 0 && !fired) { fired = true; onZero(); }
  };
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}
