// UN Comtrade and UNIDO INDSTAT end to end: the ingestion workflow on a real Temporal dev server and real
// PostgreSQL; Comtrade's API played by its fixture at the catalog's base URL, UNIDO fed files as an
// operator imports them (event location).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { observationsAsOf } from '../../activities/store/as-of';
import { encryptSecret } from '../../lib/secrets';
import { UNIDO_IMPORT_HELP } from '../../sources/specs/unido';
import { BENIN_CHAPTERS, ComtradeFixture } from '../fixtures/comtrade';
import { UNIDO_SAMPLE_CSV, UNIDO_SAMPLE_NULLS, UNIDO_SAMPLE_ROWS } from '../fixtures/unido';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { logsOf, runIngestion, versionOf } from '../helpers/ingest';

const KEY = 'c0ffee00deadbeef1234567890abcdef';

let h: Harness;
let comtrade: ComtradeFixture;
/** When each request reached the Comtrade fixture (injected faults never reach it). */
const comtradeCalls: Array<{ at: number; path: string; key: unknown }> = [];
let dir: string;

before(async () => {
  h = await startHarness();
  comtrade = new ComtradeFixture(['2022', '2023'], BENIN_CHAPTERS, { apiKey: KEY });
  h.mount('un_comtrade', (req) => {
    comtradeCalls.push({ at: Date.now(), path: req.path, key: req.headers['ocp-apim-subscription-key'] });
    return comtrade.handler(req);
  });
  // Fixed periods: the rolling default would depend on today's date.
  await h.db.prisma.dataSource.update({
    where: { name: 'un_comtrade' },
    data: { params: { periods: ['2022', '2023'] } },
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unido-import-'));
});
after(async () => {
  await h?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** JSON of anything, with bytes decoded (so a secret cannot hide in a payload) and bigints as text. */
const searchable = (value: unknown) =>
  JSON.stringify(value, (_key, v) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? v.toString() : v,
  );

async function historyText(workflowId: string): Promise<string> {
  return searchable(await h.env.client.workflow.getHandle(workflowId).fetchHistory());
}

async function setComtradeKey(key: string | null): Promise<void> {
  await h.db.prisma.dataSourceConfig.updateMany({
    where: { dataSource: { name: 'un_comtrade' } },
    data: { apiKeyEncrypted: key === null ? null : encryptSecret(key, TEST_SECRET_KEY) },
  });
}

/** The stored attributes of the current row of one observation. */
async function currentAttributes(source: string, seriesKey: string, period: string): Promise<unknown> {
  const rows = await observationsAsOf(h.db.pool, await h.versionId(source), { seriesKey });
  return rows.find((r) => r.period === period)?.attributes ?? null;
}

function assertNoKey(text: string, where: string): void {
  assert.ok(!text.includes(KEY), `the key appears in ${where}`);
  assert.ok(!text.includes(Buffer.from(KEY).toString('base64')), `the key appears base64-encoded in ${where}`);
}

describe('un_comtrade', () => {
  const SOURCE = 'un_comtrade';

  test('the catalog entry is active; without a key the preview loads revision 1', async () => {
    assert.equal((await h.db.prisma.dataSource.findUniqueOrThrow({ where: { name: SOURCE } })).isActive, true);
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 4, '2 periods x exports and imports x TOTAL');
    assert.equal(result.recordsRejected, 0);
    assert.deepEqual(
      comtradeCalls.map((c) => c.path),
      ['/public/v1/getDa/C/A/HS', '/public/v1/preview/C/A/HS', '/public/v1/preview/C/A/HS'],
    );
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.deepEqual(
      rows.map((r) => `${r.seriesKey} ${r.period} ${r.value} ${r.unit}`),
      [
        'comtrade|204|M|0|TOTAL 2022 4257748613.97 USD',
        'comtrade|204|M|0|TOTAL 2023 4257748623.97 USD',
        'comtrade|204|X|0|TOTAL 2022 3041254787.12 USD',
        'comtrade|204|X|0|TOTAL 2023 3041254797.12 USD',
      ],
    );
    assert.deepEqual(await currentAttributes(SOURCE, 'comtrade|204|X|0|TOTAL', '2022'), {
      netWgt: '0',
      qty: '0',
      cmdDesc: 'All Commodities',
      flowDesc: 'Export',
      motCode: '0',
      customsCode: 'C00',
      partner2Code: '0',
    });
  });

  test('the stored export value is the total over every mode of transport, not its sea-freight part', async () => {
    // The fixture, like the API, sends breakdown rows (sea 70 %, road 30 %) unless the request fixes the
    // totals filter; the run above asked for totals, so only total rows were staged and stored.
    const previews = h.fixture.requests.filter((r) => r.path.endsWith('/public/v1/preview/C/A/HS'));
    assert.ok(previews.length >= 2);
    for (const { query: q } of previews) {
      assert.deepEqual([q.get('motCode'), q.get('customsCode'), q.get('partner2Code')], ['0', 'C00', '0']);
    }
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE), { seriesKey: 'comtrade|204|X|0|TOTAL' });
    const exports2022 = rows.find((r) => r.period === '2022')?.value;
    assert.equal(exports2022, '3041254787.12', 'the total');
    assert.notEqual(exports2022, String(Math.round(3041254787.12 * 70) / 100), 'not the sea-freight part');
    const all = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.ok(
      all.every((r) => !r.seriesKey.includes('|mot:')),
      'no breakdown series was stored',
    );
  });

  test('an unchanged getDa probe is a no_change run: one request, no new revision', async () => {
    const before = comtradeCalls.length;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
    assert.deepEqual(
      comtradeCalls.slice(before).map((c) => c.path),
      ['/public/v1/getDa/C/A/HS'],
    );
  });

  test('403 with Retry-After is retried after the delay the API asked for', async () => {
    const start = Date.now();
    const before = comtradeCalls.length;
    h.fixture.faults.failNext(1, 403, {
      retryAfter: 1,
      body: '{"statusCode":403,"message":"Out of call volume quota"}',
    });
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    const retried = comtradeCalls[before];
    assert.ok(
      retried && retried.at - start >= 1000,
      `retried ${retried ? retried.at - start : '?'} ms after the start, not after Retry-After`,
    );
    assert.equal((await versionOf(h, SOURCE)).consecutiveFailures, 0);
  });

  test('a stored key is used (header only) and a revised value makes revision 2; the key is nowhere', async () => {
    await setComtradeKey(KEY);
    comtrade.setValue('2023', 'X', 'TOTAL', 3_100_000_000.5);
    const before = comtradeCalls.length;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 2);
    assert.equal(result.recordsAdded, 0);
    assert.equal(result.recordsUpdated, 1);
    assert.equal(result.recordsSkipped, 3);
    const calls = comtradeCalls.slice(before);
    assert.deepEqual(
      calls.map((c) => c.path),
      ['/data/v1/getDa/C/A/HS', '/data/v1/get/C/A/HS', '/data/v1/get/C/A/HS'],
    );
    assert.ok(calls.every((c) => c.key === KEY));
    assert.ok(
      h.fixture.requests.every((r) => !r.url.includes(KEY)),
      'never in a URL',
    );

    const id = await h.versionId(SOURCE);
    const v2 = await observationsAsOf(h.db.pool, id, { seriesKey: 'comtrade|204|X|0|TOTAL' });
    assert.equal(v2.find((r) => r.period === '2023')?.value, '3100000000.5');
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.revision, 2);
    assertNoKey(await historyText(String(log?.workflowId)), 'the workflow history');
    assertNoKey(searchable(await logsOf(h, SOURCE)), 'the ingestion log');
    const stored = await h.db.pool.query(
      `SELECT o.*, s.series_key, l.unit, l.attributes FROM observations o
         JOIN series s ON s.id = o.series_id LEFT JOIN observation_labels l ON l.id = o.labels_id
        WHERE o.dataset_version_id = $1`,
      [id],
    );
    assertNoKey(searchable(stored.rows), 'the stored observations');
  });

  test('a refused key fails the run (non-retryable) and stays out of history and log, even if echoed', async () => {
    await setComtradeKey(KEY);
    const refusing = new ComtradeFixture(['2022', '2023'], BENIN_CHAPTERS, {
      apiKey: 'the-real-key',
      echoKeyInErrors: true,
    });
    h.mount(SOURCE, refusing.handler);
    try {
      await assert.rejects(runIngestion(h, SOURCE), (err) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(
          String(err.cause?.message),
          /failed during probe: .*HTTP 401.*invalid subscription key \(\*\*\*\)/,
        );
        return true;
      });
    } finally {
      h.mount(SOURCE, comtrade.handler);
      await setComtradeKey(null);
    }
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.status, 'failed');
    assert.equal(log?.errorClass, 'SourceRejected');
    assertNoKey(await historyText(String(log?.workflowId)), 'the failed workflow history');
    assertNoKey(searchable(log), 'the ingestion log');
  });

  test('a misconfigured auth fails before any request, naming the column; the key is nowhere', async () => {
    await setComtradeKey(KEY);
    const where = { dataSource: { name: SOURCE } };
    await h.db.prisma.dataSourceConfig.updateMany({ where, data: { apiKeyParam: null } });
    const before = comtradeCalls.length;
    try {
      await assert.rejects(runIngestion(h, SOURCE), (err) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(
          String(err.cause?.message),
          /failed during probe: Source "un_comtrade": auth_type is api_key but data_source_configs\.api_key_param is empty/,
        );
        return true;
      });
    } finally {
      await h.db.prisma.dataSourceConfig.updateMany({ where, data: { apiKeyParam: 'Ocp-Apim-Subscription-Key' } });
      await setComtradeKey(null);
    }
    assert.equal(comtradeCalls.length, before, 'no request reached the API');
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.errorClass, 'ConfigurationError');
    assertNoKey(await historyText(String(log?.workflowId)), 'the failed workflow history');
    assertNoKey(searchable(log), 'the ingestion log');
  });
});

describe('unido (file import)', () => {
  const SOURCE = 'unido';
  const file = () => path.join(dir, 'indstat-benin.csv');
  const importFile = (extra = {}) =>
    runIngestion(h, SOURCE, { trigger: 'event', event: { location: file() }, ...extra });

  test('catalogued inactive until configured: a run without a file is skipped and says why', async () => {
    fs.copyFileSync(UNIDO_SAMPLE_CSV, file());
    // (A file import runs even while the source is inactive: handing in a file is an explicit request.)
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'skipped');
    assert.match(String(result.reason), /source "unido" is inactive/);
    // From here on the operator has activated the source.
    await h.db.prisma.dataSource.update({ where: { name: SOURCE }, data: { isActive: true } });
  });

  test('a run without a file fails with a ConfigurationError saying how to import', async () => {
    await assert.rejects(runIngestion(h, SOURCE), (err) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(
        String(err.cause?.message),
        /failed during probe: unido: nothing to ingest\. UNIDO INDSTAT has no public API/,
      );
      return true;
    });
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.errorClass, 'ConfigurationError');
    assert.ok(String(log?.errorMessage).includes(UNIDO_IMPORT_HELP));
  });

  test('the downloaded export is ingested as revision 1 with exact counts', async () => {
    const result = await importFile();
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, UNIDO_SAMPLE_ROWS);
    assert.equal(result.recordsRejected, 0);
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.equal(rows.length, UNIDO_SAMPLE_ROWS);
    assert.equal(rows.filter((r) => r.value === null).length, UNIDO_SAMPLE_NULLS);
    const va = rows.find((r) => r.seriesKey === 'unido|204|10|Value added' && r.period === '2019');
    assert.equal(va?.value, '212345678.5');
    assert.equal(va?.unit, 'Current USD');
    assert.deepEqual(await currentAttributes(SOURCE, 'unido|204|10|Value added', '2019'), {
      isicDesc: 'Manufacture of food products',
      countryName: 'Benin',
    });
    assert.equal((await versionOf(h, SOURCE)).consecutiveFailures, 0);
  });

  test('the same file again is no_change by its checksum: nothing is read past the probe', async () => {
    const result = await importFile();
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
    assert.match(String(result.reason), /probe unchanged \(indstat-benin\.csv sha256 [0-9a-f]{12}\)/);
    assert.equal((await logsOf(h, SOURCE)).at(-1)?.recordsAdded, 0);
  });

  test('a corrected export makes revision 2: one value revised, one year added', async () => {
    const text = fs.readFileSync(UNIDO_SAMPLE_CSV, 'utf8').replace(',15230,', ',15300,');
    fs.writeFileSync(
      file(),
      `${text}204,Benin,2022,10,Manufacture of food products,Value added,240100000,Current USD\r\n`,
    );
    const result = await importFile();
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 2);
    assert.equal(result.recordsAdded, 1);
    assert.equal(result.recordsUpdated, 1);
    assert.equal(result.recordsSkipped, UNIDO_SAMPLE_ROWS - 1);
    const id = await h.versionId(SOURCE);
    const employees = 'unido|204|10|Employees';
    assert.equal((await observationsAsOf(h.db.pool, id, { revision: 1, seriesKey: employees }))[0]?.value, '15230');
    assert.equal((await observationsAsOf(h.db.pool, id, { revision: 2, seriesKey: employees }))[0]?.value, '15300');
    assert.equal((await observationsAsOf(h.db.pool, id)).length, UNIDO_SAMPLE_ROWS + 1);
  });
});
