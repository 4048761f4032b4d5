// Small inline-SVG charts (no library, works offline). Each chart is an <svg role="img">
// with a text description for screen readers and a <title> tooltip per bar or point.
// Sizes are in viewBox units so the chart scales with its container (phone or laptop).

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten at or above max. */
export function niceMax(max) {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max) return step * power;
  }
  return 10 * power;
}

function shortNumber(v) {
  const abs = Math.abs(v);
  if (abs >= 1e9) return `${+(v / 1e9).toFixed(1)}B`;
  if (abs >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(v);
}

/**
 * Vertical bar chart.
 * items: [{label, value}] ; options: {title, format(value) -> text, height}
 */
export function barChart(items, { title = "", format = String, height = 260 } = {}) {
  // One viewBox width for every bar chart, so labels keep the same size side by side.
  const width = 640;
  const pad = { top: 12, right: 8, bottom: 36, left: 56 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart",
    "aria-label": `${title}: ${items.map((i) => `${i.label} ${format(i.value)}`).join(", ")}`,
    preserveAspectRatio: "xMidYMid meet",
  });
  // Grid lines with axis labels at 0, 50 %, 100 % of the nice max.
  for (const fraction of [0, 0.5, 1]) {
    const y = pad.top + plotH * (1 - fraction);
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }));
    svg.append(s("text", { x: pad.left - 8, y: y + 5, "text-anchor": "end", class: "axis" },
      shortNumber(max * fraction)));
  }
  const slot = items.length ? plotW / items.length : plotW;
  const barW = Math.max(3, Math.min(56, slot * 0.72));
  const labelEvery = Math.ceil(items.length / Math.max(1, Math.floor(plotW / 44)));
  items.forEach((item, index) => {
    const barH = max ? (plotH * item.value) / max : 0;
    const x = pad.left + slot * index + (slot - barW) / 2;
    const bar = s("rect", { x, y: pad.top + plotH - barH, width: barW, height: barH, class: "bar" });
    bar.append(s("title", {}, `${item.label}: ${format(item.value)}`));
    svg.append(bar);
    if (index % labelEvery === 0) {
      svg.append(s("text", {
        x: x + barW / 2, y: height - pad.bottom + 22, "text-anchor": "middle", class: "axis",
      }, item.label));
    }
  });
  return svg;
}

/**
 * Ranked horizontal bars (top products, payment methods): each row is the label and value
 * on one line with the bar under them, so long names and amounts never overlap the bar.
 * items: [{label, value, note}] ; options: {title, format}
 */
export function rankChart(items, { title = "", format = String } = {}) {
  const rowH = 44;
  const width = 480;
  const height = Math.max(rowH, items.length * rowH);
  const max = Math.max(1, ...items.map((i) => i.value));
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart rank",
    "aria-label": `${title}: ${items.map((i) => `${i.label} ${format(i.value)}`).join(", ")}`,
  });
  items.forEach((item, index) => {
    const y = index * rowH;
    const label = item.label.length > 32 ? item.label.slice(0, 31) + "…" : item.label;
    svg.append(s("text", { x: 0, y: y + 16, class: "label" }, label));
    svg.append(s("text", { x: width, y: y + 16, "text-anchor": "end", class: "value" },
      item.note ? `${format(item.value)} · ${item.note}` : format(item.value)));
    const bar = s("rect", { x: 0, y: y + 23, width: Math.max(2, (width * item.value) / max), height: 12, rx: 2, class: "bar" });
    bar.append(s("title", {}, `${item.label}: ${format(item.value)}`));
    svg.append(bar);
  });
  return svg;
}
