// `npm run screenshot -- [BASE_URL] [SOURCE] [SERIES]`: screenshots of a running server's status page, for
// the README: /status to docs/status-page.png and a source's page (with SERIES charted) to
// docs/status-source.png. Defaults: http://127.0.0.1:8088 (what `npm start` serves), the first source
// with a revision, its first series. Drives the system's chromium (CHROMIUM_PATH, else /usr/bin/chromium)
// with puppeteer-core, which downloads no browser. The status page test calls the same function with
// TEDI_SCREENSHOTS=1, on its own store.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { projectPath } from '../lib/paths';

/** The chromium to drive: CHROMIUM_PATH, else Debian's; an error saying how to install it when neither is. */
export function chromiumPath(): string {
  // A CHROMIUM_PATH that is set must be right: falling back would hide the mistake.
  const wanted = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(wanted)) {
    throw new Error(
      `No chromium at ${wanted}: run \`apt-get install chromium\` (Debian), or set CHROMIUM_PATH to a Chromium or Chrome executable.`,
    );
  }
  return wanted;
}

export function launchChromium(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // --no-sandbox: chromium refuses to run as root with its sandbox (CI and these machines run as root).
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

export interface ScreenshotOptions {
  baseUrl: string;
  source: string;
  series?: string;
  outDir: string;
  browser?: Browser;
}

/** Writes status-page.png and status-source.png into outDir; returns their paths. */
export async function screenshotStatus(opts: ScreenshotOptions): Promise<string[]> {
  const browser = opts.browser ?? (await launchChromium());
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 720, deviceScaleFactor: 1 });
    fs.mkdirSync(opts.outDir, { recursive: true });
    const overview = path.join(opts.outDir, 'status-page.png');
    await page.goto(`${opts.baseUrl}/status`, { waitUntil: 'load' });
    await page.screenshot({ path: overview, fullPage: true });
    const query = opts.series ? `?series=${encodeURIComponent(opts.series)}` : '';
    const sourcePage = path.join(opts.outDir, 'status-source.png');
    await page.goto(`${opts.baseUrl}/status/sources/${encodeURIComponent(opts.source)}${query}`, { waitUntil: 'load' });
    await page.screenshot({ path: sourcePage, fullPage: true });
    await page.close();
    return [overview, sourcePage];
  } finally {
    if (!opts.browser) await browser.close();
  }
}

async function main() {
  const [baseUrl = 'http://127.0.0.1:8088', sourceArg, seriesArg] = process.argv.slice(2);
  let source = sourceArg;
  let series = seriesArg;
  if (!source) {
    const res = await fetch(`${baseUrl}/v1/sources`);
    if (!res.ok) throw new Error(`${baseUrl}/v1/sources answered ${res.status}: is the server running?`);
    const { sources } = (await res.json()) as { sources: { source: string; currentRevision: number }[] };
    source = sources.find((s) => s.currentRevision > 0)?.source;
    if (!source) throw new Error('no source has a revision yet: give SOURCE, or ingest one first');
  }
  if (!series) {
    const res = await fetch(`${baseUrl}/v1/sources/${encodeURIComponent(source)}/series?limit=1`);
    series = res.ok ? ((await res.json()) as { series: { seriesKey: string }[] }).series[0]?.seriesKey : undefined;
  }
  const files = await screenshotStatus({ baseUrl, source, series, outDir: projectPath('docs') });
  for (const f of files) console.log(`[tedi] wrote ${path.relative(process.cwd(), f)}`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
