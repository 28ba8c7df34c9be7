// Opens fleetsim report pages in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and checks what a reader does with them:
//   - the page loads with no console error, no page error and no request but the page itself
//     (it is self-contained: no network, no file beside it);
//   - the findings block is there and has sentences;
//   - hovering a chart shows the tooltip with values;
//   - a click on a legend entry hides that series;
//   - dragging across a chart zooms its time range.
// Usage: node check.mjs [--screenshots DIR] NAME=PATH/report.html ...
// Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
let shots = null;
const pages = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--screenshots") shots = args[++i];
  else {
    const eq = args[i].indexOf("=");
    if (eq < 1) throw new Error(`expected NAME=PATH, got ${args[i]}`);
    pages.push({ name: args[i].slice(0, eq), path: resolve(args[i].slice(eq + 1)) });
  }
}
if (pages.length === 0) throw new Error("no report.html given");

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
}

const profile = mkdtempSync(join(tmpdir(), "fleetsim-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: FLAGS,
  viewport: { width: 1280, height: 900 },
});
try {
  for (const p of pages) {
    const url = pathToFileURL(p.path).href;
    const page = await context.newPage();
    const errors = [];
    const requests = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => { if (r.url() !== url) requests.push(r.url()); });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForTimeout(300);
    if (shots) await page.screenshot({ path: join(shots, `${p.name}-top.png`) });

    const findings = await page.locator("#findings li").allInnerTexts();
    check(`${p.name}: findings block`, findings.length > 0 && findings.every((t) => t.trim().length > 10),
      findings.length ? JSON.stringify(findings[0]) : "none");

    const charts = await page.locator("figure.interactive").count();
    const figures = await page.locator("figure[data-chart]").count();
    check(`${p.name}: every chart interactive`, charts > 0 && charts === figures, `${charts} of ${figures}`);

    if (charts > 0) {
      const fig = page.locator("figure.interactive").first();
      const over = fig.locator(".u-over");
      await over.scrollIntoViewIfNeeded();
      const box = await over.boundingBox();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
      const tip = fig.locator(".u-tooltip");
      await tip.waitFor({ state: "visible", timeout: 5000 }).catch(() => {});
      const tipText = (await tip.isVisible()) ? await tip.innerText() : "";
      check(`${p.name}: hover shows a tooltip`, /\d/.test(tipText) && /:/.test(tipText),
        JSON.stringify(tipText.split("\n").slice(0, 3).join(" | ")));
      if (shots) await fig.screenshot({ path: join(shots, `${p.name}-hover.png`) });

      // The first series of the legend (entry 0 is the time).
      const entry = fig.locator(".u-legend .u-series").nth(1);
      const label = (await entry.innerText()).split("\n")[0];
      await entry.click();
      const off = await entry.evaluate((e) => e.classList.contains("u-off"));
      const shown = await page.evaluate(() => window.fleetsimCharts[0].series[1].show);
      check(`${p.name}: legend click hides a series`, off && shown === false, JSON.stringify(label));
      await entry.click();

      // Zooming is for time: charts of strategies or grid points keep their categories.
      const timeChart = await page.evaluate(() => !window.fleetsimCharts[0].series[0].label.startsWith("point"));
      if (timeChart) {
        const before = await page.evaluate(() => {
          const s = window.fleetsimCharts[0].scales.x;
          return [s.min, s.max];
        });
        await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
        await page.mouse.down();
        await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 8 });
        await page.mouse.up();
        const after = await page.evaluate(() => {
          const s = window.fleetsimCharts[0].scales.x;
          return [s.min, s.max];
        });
        check(`${p.name}: drag zooms the time range`, after[0] > before[0] && after[1] < before[1],
          `${before.map((v) => v.toFixed(1))} -> ${after.map((v) => v.toFixed(1))}`);
        await page.mouse.dblclick(box.x + box.width * 0.5, box.y + box.height * 0.5);
      }
      await page.mouse.move(0, 0);
    }

    if (shots) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(shots, `${p.name}.png`), fullPage: true });
    }
    check(`${p.name}: no console errors`, errors.length === 0, errors.slice(0, 3).join(" | "));
    check(`${p.name}: no requests`, requests.length === 0, requests.slice(0, 3).join(" "));
    await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
