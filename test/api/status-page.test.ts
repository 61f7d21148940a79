// The status page (api/status) in a real headless browser: Debian's chromium driven by puppeteer-core, the
// server on 127.0.0.1 port 0 over a real PostgreSQL whose store is built through the real merge. One source
// has three revisions in which values of a series are revised; others have an open breaker or are overdue;
// runs are in the audit log. The overview lists the sources with their revisions and counts; a click leads
// to a source's page with its revision history and Web UI links; choosing a series draws one chart line
// per revision with the values of that revision (read back from Chart.js); an unknown source is a 404 page
// naming it; HTML in a title or a series key is shown as text, never run.
//
// No chromium is a failure that says how to install it, never a skip. TEDI_SCREENSHOTS=1 also writes the
// README's screenshots (docs/status-page.png, docs/status-source.png) from this store.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { type RunningApi, startApi } from '../../api/server';
import { type Database, openDatabase } from '../../lib/db';
import { chromiumPath, launchChromium, screenshotStatus } from '../../scripts/screenshot-status';
import type { ObservationRow as Row } from '../../sources/kit/types';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { catalogVersion, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-status-page-'));
let database: TestDatabase;
let db: Database;
let api: RunningApi;
let browser: Browser;

const UI = 'http://temporal-ui.test:8080';
const NAMESPACE = 'tedi-prod';
const SOURCE = 'world_bank_agriculture';
const SERIES = 'AG.PRD.CROP.XD|BEN';

const T = [new Date('2026-01-10T06:00:00Z'), new Date('2026-02-10T06:00:00Z'), new Date('2026-03-10T06:00:00Z')];
/** The run that made each revision: the workflow id of a scheduled ingestion and a run id. */
const RUNS = [1, 2, 3].map((n) => ({
  workflowId: `ingest-${SOURCE}-current-2026011${n}T060000Z`,
  runId: `0000000${n}-aaaa-4bbb-8ccc-${String(n).repeat(12)}`,
}));

const obs = (country: string, period: string, value: string): Row => ({
  seriesKey: `AG.PRD.CROP.XD|${country}`,
  period,
  value,
  unit: 'index',
  attributes: null,
  dimensions: { indicator: 'AG.PRD.CROP.XD', country },
});
const TGO = ['2018', '2019', '2020', '2021'].map((p, i) => obs('TGO', p, String(90 + i)));
// Revision 1: Benin 2018-2021 and Togo 2018-2021.
const REV1 = [obs('BEN', '2018', '101.2'), obs('BEN', '2019', '103.5'), obs('BEN', '2020', '98.7')];
REV1.push(obs('BEN', '2021', '104.1'), ...TGO);
// Revision 2: Benin 2020 revised 98.7 -> 99.4, Benin 2022 added.
const REV2 = [obs('BEN', '2018', '101.2'), obs('BEN', '2019', '103.5'), obs('BEN', '2020', '99.4')];
REV2.push(obs('BEN', '2021', '104.1'), obs('BEN', '2022', '106'), ...TGO);
// Revision 3: Benin 2020 revised again (99.4 -> 99.9) and 2021 (104.1 -> 105.3); Togo 2018 removed.
const REV3 = [obs('BEN', '2018', '101.2'), obs('BEN', '2019', '103.5'), obs('BEN', '2020', '99.9')];
REV3.push(obs('BEN', '2021', '105.3'), obs('BEN', '2022', '106'), ...TGO.slice(1));

/** The chart's expected lines: Benin 2018-2022 as of each revision. */
const VINTAGES = [
  [101.2, 103.5, 98.7, 104.1, null],
  [101.2, 103.5, 99.4, 104.1, 106],
  [101.2, 103.5, 99.9, 105.3, 106],
];

// The page's globals, for the functions puppeteer runs in it: the project compiles without the DOM library.
interface PageChart {
  config: { type: string };
  data: { labels: string[]; datasets: { label: string; data: (number | null)[]; borderWidth: number }[] };
  options: { plugins: { title: { text: string } } };
}
declare const document: { getElementById(id: string): unknown };
declare const window: { Chart?: { getChart(canvas: unknown): PageChart | undefined }; __injected?: number };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const EVIL_TITLE = '<img src=x onerror="window.__injected = 1">Evil & co';
const EVIL_SERIES = 'X</script><script>window.__injected = 2</script>|<b>BEN</b>';

async function logRun(versionId: number, run: { workflowId: string; runId: string }, fields: Record<string, unknown>) {
  const columns = ['dataset_version_id', 'workflow_id', 'run_id', ...Object.keys(fields)];
  const values = [versionId, run.workflowId, run.runId, ...Object.values(fields)];
  await db.pool.query(
    `INSERT INTO ingestion_logs (${columns.join(', ')}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`,
    values,
  );
}

async function buildStore() {
  const agriculture = await catalogVersion(db, SOURCE);
  for (const [i, rows] of [REV1, REV2, REV3].entries()) {
    const run = RUNS[i]!;
    await loadRevision(db, tmp, agriculture, `${run.workflowId}/${run.runId}`, rows, T[i]!, `2026-0${i + 1}-09`);
    await logRun(agriculture, run, {
      status: 'success',
      trigger: 'schedule',
      started_at: new Date(T[i]!.getTime() - 42_000),
      finished_at: T[i],
      duration_ms: 42_000,
      revision: i + 1,
      records_added: [8, 1, 0][i],
      records_updated: [0, 1, 2][i],
      records_removed: [0, 0, 1][i],
    });
  }
  await db.pool.query(
    `UPDATE data_sources SET title = 'World Bank agriculture indicators', organization = 'World Bank' WHERE name = $1`,
    [SOURCE],
  );
  await db.pool.query(
    "UPDATE dataset_versions SET last_success_at = now() - interval '1 day', last_checked_at = now() - interval '1 day' WHERE id = $1",
    [agriculture],
  );

  // ILOSTAT: one revision, then five failures: the breaker is open.
  const ilostat = await catalogVersion(db, 'ilostat', 'quarterly');
  const ilostatRun = { workflowId: 'ingest-ilostat-current-20260301T000000Z', runId: 'run-ilostat-1' };
  await loadRevision(
    db,
    tmp,
    ilostat,
    `${ilostatRun.workflowId}/${ilostatRun.runId}`,
    [obs('BEN', '2025-Q4', '7')],
    T[0]!,
  );
  await db.pool.query(
    `UPDATE data_sources SET vertical = 'employment', title = 'ILOSTAT labour statistics' WHERE name = 'ilostat'`,
  );
  await db.pool.query(
    `UPDATE dataset_versions SET last_success_at = now() - interval '10 days', breaker_opened_at = now() - interval '2 hours',
            consecutive_failures = 5 WHERE id = $1`,
    [ilostat],
  );
  await logRun(
    ilostat,
    { workflowId: 'ingest-ilostat-current-20261201T000000Z', runId: 'run-ilostat-failed' },
    {
      status: 'failed',
      trigger: 'schedule',
      started_at: new Date(Date.now() - 2 * 3600_000),
      finished_at: new Date(Date.now() - 2 * 3600_000 + 31_000),
      duration_ms: 31_000,
      error_class: 'SourceUnavailable',
      error_message: 'HTTP 503 after 6 tries over 31 s',
    },
  );

  // FAOSTAT: last success more than a year ago: overdue.
  const faostat = await catalogVersion(db, 'faostat', 'annual');
  await loadRevision(
    db,
    tmp,
    faostat,
    'ingest-faostat-current-20250101T000000Z/run-faostat-1',
    [obs('BEN', '2023', '5')],
    T[0]!,
  );
  await db.pool.query("UPDATE data_sources SET title = 'FAOSTAT food and agriculture' WHERE name = 'faostat'");
  await db.pool.query(
    "UPDATE dataset_versions SET last_success_at = now() - interval '400 days', created_at = now() - interval '500 days' WHERE id = $1",
    [faostat],
  );
}

async function addEvilSource() {
  const evil = await catalogVersion(db, 'evil_source');
  await loadRevision(
    db,
    tmp,
    evil,
    'evil/1',
    [{ seriesKey: EVIL_SERIES, period: '2020', value: '1', unit: '<i>u</i>', attributes: null }],
    T[0]!,
  );
  await db.pool.query(`UPDATE data_sources SET title = $1 WHERE name = 'evil_source'`, [EVIL_TITLE]);
}

/** A page that records every script error, so a broken page cannot pass unnoticed. */
async function newPage(): Promise<Page & { errors: string[] }> {
  const page = (await browser.newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.errors.push(msg.text());
  });
  await page.setViewport({ width: 1280, height: 900 });
  return page;
}

const texts = (page: Page, selector: string) =>
  page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()));

// Its own test, so a machine without chromium counts a failure whose message is the fix (the hooks below
// then fail too, and node:test only counts their tests as cancelled).
test('chromium is installed (CHROMIUM_PATH, else /usr/bin/chromium)', () => {
  assert.ok(fs.statSync(chromiumPath()).isFile());
});

describe('the status page in chromium', () => {
  before(async () => {
    browser = await launchChromium();
    database = await startTestDatabase();
    db = openDatabase(database.url);
    await buildStore();
    api = await startApi({
      pool: db.pool,
      host: '127.0.0.1',
      port: 0,
      temporalUiUrl: UI,
      temporalNamespace: NAMESPACE,
    });
  });

  after(async () => {
    await browser?.close();
    await api?.close();
    await db?.close();
    await database?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('writes the README screenshots', {
    skip: process.env.TEDI_SCREENSHOTS === '1' ? false : 'set TEDI_SCREENSHOTS=1 to write docs/status-*.png',
  }, async () => {
    const files = await screenshotStatus({
      baseUrl: api.url,
      source: SOURCE,
      series: SERIES,
      outDir: path.join(__dirname, '..', '..', 'docs'),
      browser,
    });
    for (const f of files) assert.ok(fs.statSync(f).size > 10_000, f);
  });

  test('the overview lists every source with its revision, latest revisions and counts, health highlighted', async () => {
    const page = await newPage();
    const res = await page.goto(`${api.url}/status`);
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-type'] ?? '', /^text\/html/);
    const rows = await page.$$eval('#sources tbody tr', (trs) =>
      trs.map((tr) => ({
        source: tr.getAttribute('data-source'),
        revision: tr.querySelector('.current-revision')?.textContent?.trim(),
        recent: [...tr.querySelectorAll('.recent-revision')].map((li) => li.textContent?.replace(/\s+/g, ' ').trim()),
        freshness: tr.querySelector('.freshness')?.textContent?.trim(),
        breaker: tr.querySelector('.breaker')?.textContent?.trim(),
        cells: [...tr.querySelectorAll('td')].map((td) => td.textContent?.replace(/\s+/g, ' ').trim()),
      })),
    );
    assert.deepEqual(
      rows.map((r) => r.source),
      ['faostat', 'ilostat', SOURCE],
    );
    const agriculture = rows.find((r) => r.source === SOURCE)!;
    assert.equal(agriculture.revision, '3');
    assert.deepEqual(agriculture.recent, [
      'r3 2026-03-10T06:00:00Z +0 ~2 −1',
      'r2 2026-02-10T06:00:00Z +1 ~1 −0',
      'r1 2026-01-10T06:00:00Z +8 ~0 −0',
    ]);
    assert.equal(agriculture.freshness, 'fresh');
    assert.equal(agriculture.breaker, 'closed');
    assert.deepEqual(agriculture.cells.slice(1, 4), ['agriculture', 'annual', 'current']);
    assert.match(agriculture.cells[4]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'last success in ISO UTC');
    assert.equal(rows.find((r) => r.source === 'faostat')!.freshness, 'overdue');
    assert.equal(rows.find((r) => r.source === 'ilostat')!.breaker, 'open');
    // An operator sees them: overdue in yellow, an open breaker in red.
    // (Functions run in the page are plain expressions: tsx's name helper for a local function is not there.)
    const colours = {
      overdue: await page.$eval('tr[data-source="faostat"] .freshness', (e) => getComputedStyle(e).backgroundColor),
      open: await page.$eval('tr[data-source="ilostat"] .breaker', (e) => getComputedStyle(e).backgroundColor),
      closed: await page.$eval('tr[data-source="faostat"] .breaker', (e) => getComputedStyle(e).backgroundColor),
    };
    assert.deepEqual(colours, {
      overdue: 'rgb(254, 240, 138)',
      open: 'rgb(220, 38, 38)',
      closed: 'rgb(229, 231, 235)',
    });
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('a click on a source opens its page: revision history, runs and their Web UI links', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/status`);
    await Promise.all([page.waitForNavigation(), page.click(`tr[data-source="${SOURCE}"] a.source-link`)]);
    assert.equal(new URL(page.url()).pathname, `/status/sources/${SOURCE}`);
    assert.equal(
      await page.$eval('#source-name', (e) => e.textContent?.replace(/\s+/g, ' ').trim()),
      `${SOURCE} / current`,
    );
    const revisions = await page.$$eval('#revisions tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim())),
    );
    assert.deepEqual(
      revisions.map((r) => r.slice(0, 9)),
      [
        ['3', '2026-03-10T06:00:00Z', '8', '0', '2', '1', '0', '2026-03-09', '—'],
        ['2', '2026-02-10T06:00:00Z', '9', '1', '1', '0', '0', '2026-02-09', '—'],
        ['1', '2026-01-10T06:00:00Z', '8', '8', '0', '0', '0', '2026-01-09', '—'],
      ],
    );
    const runHref = (run: { workflowId: string; runId: string }) =>
      `${UI}/namespaces/${NAMESPACE}/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history`;
    assert.deepEqual(
      await page.$$eval('#revisions a.run-link', (as) => as.map((a) => a.getAttribute('href'))),
      [RUNS[2]!, RUNS[1]!, RUNS[0]!].map(runHref),
    );
    // The audit log's runs, newest first, each linked to its history.
    assert.deepEqual(
      await page.$$eval('#runs a.run-link', (as) => as.map((a) => a.getAttribute('href'))),
      [RUNS[2]!, RUNS[1]!, RUNS[0]!].map(runHref),
    );
    assert.equal(
      await page.$eval('#all-runs', (a) => a.getAttribute('href')),
      `${UI}/namespaces/${NAMESPACE}/workflows?query=${encodeURIComponent(`TediSource="${SOURCE}"`)}`,
    );
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('a failed run shows its error, linked to the Web UI', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/status/sources/ilostat`);
    const [row] = await page.$$eval('#runs tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.replace(/\s+/g, ' ').trim())),
    );
    assert.equal(row![1], 'failed');
    assert.equal(row![7], 'SourceUnavailable: HTTP 503 after 6 tries over 31 s');
    assert.equal(
      await page.$eval('#runs a.run-link', (a) => a.getAttribute('href')),
      `${UI}/namespaces/${NAMESPACE}/workflows/ingest-ilostat-current-20261201T000000Z/run-ilostat-failed/history`,
    );
    assert.match(
      (await texts(page, 'dl.facts dd'))[2]!,
      /^open since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ 5 failed in a row$/,
    );
    await page.close();
  });

  test('choosing a series draws one line per revision, with that revision’s values, the latest highlighted', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/status/sources/${SOURCE}`);
    assert.deepEqual(await texts(page, '#series-select option'), [
      'choose a series…',
      'AG.PRD.CROP.XD|BEN',
      'AG.PRD.CROP.XD|TGO',
    ]);
    assert.equal(await page.$('#vintage-chart'), null, 'no chart before a series is chosen');
    await page.select('#series-select', SERIES);
    await Promise.all([page.waitForNavigation(), page.click('#series-form button[type=submit]')]);
    assert.equal(new URL(page.url()).searchParams.get('series'), SERIES);
    await page.waitForFunction(
      () => {
        const canvas = document.getElementById('vintage-chart');
        return canvas && window.Chart?.getChart(canvas);
      },
      { timeout: 10_000 },
    );
    const chart = await page.evaluate(() => {
      const c = window.Chart!.getChart(document.getElementById('vintage-chart'))!;
      return {
        type: c.config.type,
        labels: c.data.labels,
        datasets: c.data.datasets.map((d) => ({
          label: d.label,
          data: d.data,
          borderWidth: d.borderWidth,
        })),
        title: c.options.plugins.title.text,
      };
    });
    assert.equal(chart.type, 'line');
    assert.deepEqual(chart.labels, ['2018', '2019', '2020', '2021', '2022']);
    assert.deepEqual(
      chart.datasets.map((d) => d.label),
      [
        'revision 1 (2026-01-10T06:00:00Z)',
        'revision 2 (2026-02-10T06:00:00Z)',
        'revision 3 (2026-03-10T06:00:00Z) latest',
      ],
    );
    assert.deepEqual(
      chart.datasets.map((d) => d.data),
      VINTAGES,
    );
    assert.deepEqual(
      chart.datasets.map((d) => d.borderWidth),
      [1.5, 1.5, 3],
    );
    assert.equal(chart.title, `${SERIES}: values as of each revision`);
    // The exact decimals, in the table under the chart.
    assert.deepEqual(await texts(page, '#vintage-table tbody tr:nth-child(3) td'), ['2020', '98.7', '99.4', '99.9']);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('an unknown source is a 404 page naming it', async () => {
    const page = await newPage();
    const res = await page.goto(`${api.url}/status/sources/no_such_source`);
    assert.equal(res?.status(), 404);
    assert.match(res?.headers()['content-type'] ?? '', /^text\/html/);
    const message = await page.$eval('#error-message', (e) => e.textContent ?? '');
    assert.match(message, /no source named "no_such_source"/);
    assert.match(message, /faostat, ilostat, world_bank_agriculture/);
    const bad = await page.goto(`${api.url}/status/sources/${encodeURIComponent('<b>x</b>')}`);
    assert.equal(bad?.status(), 404);
    assert.match(await page.$eval('#error-message', (e) => e.textContent ?? ''), /no source named "<b>x<\/b>"/);
    assert.equal(await page.$('#error-message b'), null);
    const version = await page.goto(`${api.url}/status/sources/${SOURCE}?version=2031`);
    assert.equal(version?.status(), 404);
    assert.match(await page.$eval('#error-message', (e) => e.textContent ?? ''), /has no version "2031"/);
    await page.close();
  });

  test('HTML in a source title and a series key is shown as text, never run', async () => {
    await addEvilSource();
    const page = await newPage();
    await page.goto(`${api.url}/status`);
    const title = await page.$eval('tr[data-source="evil_source"] td .muted', (e) => e.textContent);
    assert.equal(title, EVIL_TITLE);
    assert.equal(await page.$('tr[data-source="evil_source"] img'), null);
    await page.goto(`${api.url}/status/sources/evil_source?series=${encodeURIComponent(EVIL_SERIES)}`);
    await page.waitForFunction(
      () => {
        return window.Chart?.getChart(document.getElementById('vintage-chart'));
      },
      { timeout: 10_000 },
    );
    assert.ok((await page.$eval('#source-title', (e) => e.textContent ?? '')).startsWith(`${EVIL_TITLE} · `));
    assert.deepEqual(await texts(page, '#series-select option:checked'), [EVIL_SERIES]);
    const chartTitle = await page.evaluate(
      () => window.Chart!.getChart(document.getElementById('vintage-chart'))!.options.plugins.title.text,
    );
    assert.equal(chartTitle, `${EVIL_SERIES}: values as of each revision`);
    assert.equal(await page.evaluate(() => window.__injected), undefined);
    assert.equal(await page.$('#series-select b, #vintage-table b, #source-title img'), null);
    // One JSON script and the two script files: nothing the data could have added.
    assert.equal(await page.$$eval('script', (s) => s.length), 3);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
