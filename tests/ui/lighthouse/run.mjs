// Runs Lighthouse (performance + accessibility) on each URL given, one after the other in one
// headless Chromium, and writes a JSON summary per URL: the two category scores, the metrics
// behind the performance score, the static transfer, and every failing accessibility audit.
//
//   node run.mjs <lighthouse install dir> <summary.json> <chromium> <preset> <url>...
//
// <preset> is "mobile" (Lighthouse's default: Moto G Power, slow 4G, 4x CPU slowdown, all
// simulated) or "desktop". Called by tests/ui/lighthouse_support.py.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [dir, out, chromePath, preset, ...urls] = process.argv.slice(2);
const load = (rel) => import(pathToFileURL(join(dir, "node_modules", rel)).href);
const { default: lighthouse } = await load("lighthouse/core/index.js");
const { default: desktopConfig } = await load("lighthouse/core/config/desktop-config.js");
const { default: defaultConfig } = await load("lighthouse/core/config/default-config.js");
const chromeLauncher = await load("chrome-launcher/dist/index.js");

const METRICS = {
  fcp: "first-contentful-paint", lcp: "largest-contentful-paint", tbt: "total-blocking-time",
  cls: "cumulative-layout-shift", si: "speed-index",
};
// What a screen downloads to show itself; API answers are data, not the app.
const APP_TYPES = new Set(["Document", "Stylesheet", "Script", "Image", "Font", "Other"]);

// The performance category's diagnostics (weight 0) do not move its score: skipping them
// (and what only they gather) saves seconds per URL. The metrics and every accessibility
// audit run; so does network-requests, for the transfer figures.
const skipAudits = defaultConfig.categories.performance.auditRefs
  .filter((ref) => ref.weight === 0 && ref.id !== "network-requests").map((ref) => ref.id);

const chrome = await chromeLauncher.launch({
  chromePath,
  chromeFlags: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const summaries = [];
try {
  for (const url of urls) {
    const flags = { port: chrome.port, output: "json", logLevel: "error",
                    onlyCategories: ["performance", "accessibility"],
                    disableFullPageScreenshot: true, skipAudits };
    const config = preset === "desktop" ? desktopConfig : undefined;
    const { lhr } = await lighthouse(url, flags, config);
    const a = lhr.audits;
    const requests = a["network-requests"]?.details?.items ?? [];
    const app = requests.filter((r) => APP_TYPES.has(r.resourceType) && !new URL(r.url).pathname.startsWith("/api/"));
    summaries.push({
      url,
      lighthouse: lhr.lighthouseVersion,
      userAgent: lhr.environment?.hostUserAgent,
      preset,
      runtimeError: lhr.runtimeError?.message ?? null,
      seconds: lhr.timing.total / 1000,
      performance: lhr.categories.performance.score,
      accessibility: lhr.categories.accessibility.score,
      metrics: Object.fromEntries(Object.entries(METRICS).map(([k, id]) => [k, a[id]?.numericValue ?? null])),
      appTransferBytes: app.reduce((sum, r) => sum + (r.transferSize || 0), 0),
      appRequests: app.map((r) => [new URL(r.url).pathname, r.transferSize || 0]),
      accessibilityFailures: lhr.categories.accessibility.auditRefs
        .map((ref) => a[ref.id])
        .filter((audit) => audit.score !== null && audit.score < 1)
        .map((audit) => ({ id: audit.id, title: audit.title,
                           nodes: (audit.details?.items ?? []).map((i) => i.node?.selector).slice(0, 5) })),
    });
  }
} finally {
  await chrome.kill();
}
writeFileSync(out, JSON.stringify(summaries, null, 1));
