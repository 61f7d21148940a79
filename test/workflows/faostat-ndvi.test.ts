// FAOSTAT and satellite NDVI through the ingestion workflow on real Temporal and PostgreSQL, each source's
// API played by its fixture at the source's catalog base URL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { WorkflowFailedError } from '@temporalio/client';
import { observationsAsOf } from '../../activities/store/as-of';
import type { Prisma } from '../../generated/prisma/client';
import { encryptSecret } from '../../lib/secrets';
import { FaostatParamsSchema } from '../../sources/specs/faostat';
import { CATALOGUE_PATH, createFaostatFixture, FAOSTAT_ACCOUNT, type FaostatFixture } from '../fixtures/faostat';
import { createModisFixture, type ModisFixture } from '../fixtures/modis';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { logsOf, runIngestion, stagingTablesLeft, versionOf } from '../helpers/ingest';

const FAOSTAT = 'faostat';
const NDVI = 'satellite_ndvi';

let h: Harness;
let faostat: FaostatFixture;
let modis: ModisFixture;

const requestsTo = (source: string) => h.fixture.requests.filter((r) => r.path.startsWith(`/${source}/`));

async function setParams(source: string, params: Prisma.InputJsonObject): Promise<void> {
  await h.db.prisma.dataSource.update({ where: { name: source }, data: { params } });
}

async function setAccount(password: string): Promise<void> {
  await h.db.prisma.dataSourceConfig.updateMany({
    where: { dataSource: { name: FAOSTAT } },
    data: { username: FAOSTAT_ACCOUNT.username, apiKeyEncrypted: encryptSecret(password, TEST_SECRET_KEY) },
  });
}

before(async () => {
  h = await startHarness();
  faostat = createFaostatFixture();
  faostat.publicUrl = `${h.fixture.url}/${FAOSTAT}`;
  h.mount(FAOSTAT, faostat.handler);
  modis = createModisFixture();
  h.mount(NDVI, modis.handler);
  // The catalog's bulk catalogue URL is absolute (the real host); a relative one is read under the source's
  // base URL, which the harness points at the fixture.
  await setParams(FAOSTAT, { ...FaostatParamsSchema.parse({}), bulkCatalogUrl: CATALOGUE_PATH.slice(1) });
  await setParams(NDVI, {
    areas: [
      {
        name: 'benin_south',
        points: [
          { lat: 7.18, lon: 1.99 },
          { lat: 6.98, lon: 2.66 },
        ],
      },
      { name: 'benin_north', points: [{ lat: 10.3, lon: 1.38 }] },
    ],
    kmAboveBelow: 1,
    kmLeftRight: 1,
  });
});
after(async () => {
  await h?.stop();
});

describe('FAOSTAT ingestion', () => {
  test('the bulk route loads Benin as revision 1', async () => {
    const result = await runIngestion(h, FAOSTAT);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 12);
    assert.equal(result.recordsRejected, 0);
    const rows = await observationsAsOf(h.db.pool, await h.versionId(FAOSTAT));
    assert.equal(rows.length, 12);
    assert.ok(rows.every((r) => r.seriesKey.startsWith('QCL|53|')));
    assert.equal(rows.filter((r) => r.value === null).length, 1, 'the unpublished cell stays null');
    assert.equal(await stagingTablesLeft(h.db.pool), 0, 'staging is cleaned up');
  });

  test('an unchanged catalogue entry is no_change: only the catalogue is read', async () => {
    const before = requestsTo(FAOSTAT).length;
    const result = await runIngestion(h, FAOSTAT);
    assert.equal(result.status, 'no_change');
    assert.deepEqual(
      requestsTo(FAOSTAT)
        .slice(before)
        .map((r) => r.path),
      [`/${FAOSTAT}${CATALOGUE_PATH}`],
    );
  });

  test('a new release with a changed value is revision 2; revision 1 stays queryable', async () => {
    const id = await h.versionId(FAOSTAT);
    faostat.setValue('53', '56', '5510', '2021', '987654.5');
    faostat.setDateUpdate('2025-06-30');
    const result = await runIngestion(h, FAOSTAT);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 2);
    assert.deepEqual([result.recordsAdded, result.recordsUpdated, result.recordsSkipped], [0, 1, 11]);
    const series = 'QCL|53|56|5510';
    const v1 = await observationsAsOf(h.db.pool, id, { revision: 1, seriesKey: series });
    const v2 = await observationsAsOf(h.db.pool, id, { revision: 2, seriesKey: series });
    assert.equal(v1.find((r) => r.period === '2021')?.value, '112037');
    assert.equal(v2.find((r) => r.period === '2021')?.value, '987654.5');
  });

  test('the api route reads the same rows: a new token but identical content makes no revision', async () => {
    await setAccount(FAOSTAT_ACCOUNT.password);
    await setParams(FAOSTAT, { route: 'api', areas: ['53'] });
    const before = requestsTo(FAOSTAT).length;
    const result = await runIngestion(h, FAOSTAT);
    assert.equal(result.status, 'no_change');
    assert.equal(result.recordsSkipped, 12);
    assert.equal((await versionOf(h, FAOSTAT)).currentRevision, 2);
    assert.equal((await versionOf(h, FAOSTAT)).lastProbeToken, '2025-06-30');
    // The configured bearer login (data_source_configs), done by the HTTP client once per activity attempt:
    // one for the probe, one for the fetch; every other request carries a token it got.
    const requests = requestsTo(FAOSTAT).slice(before);
    assert.deepEqual(
      requests.map((r) => r.path.slice(FAOSTAT.length + 1)),
      ['/auth/login', '/en/domains', '/auth/login', '/en/data/QCL'],
    );
    const tokens = requests
      .map((r) => /^Bearer (.+)$/.exec(String(r.headers.authorization ?? ''))?.[1])
      .filter(Boolean);
    assert.equal(tokens.length, 2);
    const log = (await logsOf(h, FAOSTAT)).at(-1);
    const history = JSON.stringify(
      await h.env.client.workflow.getHandle(String(log?.workflowId)).fetchHistory(),
      (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? v.toString() : v),
    );
    for (const secret of [...(tokens as string[]), FAOSTAT_ACCOUNT.password]) {
      assert.ok(!history.includes(secret), 'a credential in the workflow history');
      assert.ok(
        !JSON.stringify(log, (_k, v) => (typeof v === 'bigint' ? String(v) : v)).includes(secret),
        'in the log',
      );
    }
  });

  test('bad credentials fail at once, saying how to set them, without the password', async () => {
    await setAccount('not-the-password');
    const logins = () => requestsTo(FAOSTAT).filter((r) => r.path.endsWith('/auth/login')).length;
    const before = logins();
    await assert.rejects(
      runIngestion(h, FAOSTAT, { retry: { initialIntervalMs: 50, maximumAttempts: 4 } }),
      (err: WorkflowFailedError) => {
        assert.match(String(err.cause?.message), /failed during probe: .*Incorrect username or password/);
        return true;
      },
    );
    assert.equal(logins() - before, 1, 'a refused login is not retried');
    const log = (await logsOf(h, FAOSTAT)).at(-1);
    assert.equal(log?.errorClass, 'SourceRejected');
    assert.match(String(log?.errorMessage), /data_source_configs\.username/);
    assert.doesNotMatch(String(log?.errorMessage), /not-the-password/);
  });

  test('non-ASCII labels round-trip from the UTF-8 bulk file into the store; a respelled value is no change', async () => {
    await setParams(FAOSTAT, {
      ...FaostatParamsSchema.parse({ areas: ['53', '107'] }),
      bulkCatalogUrl: CATALOGUE_PATH.slice(1),
    });
    const names = ["Côte d'Ivoire", 'Curaçao', 'Türkiye', 'São Tomé and Príncipe'];
    const label = (item: string, element: string) => names[(item === '56' ? 0 : 2) + (element === '5312' ? 0 : 1)]!;
    for (const r of faostat.data.rows) if (r['Area Code'] === '107') r.Area = label(r['Item Code'], r['Element Code']);
    // Revision 2 stores 111000 for this cell; the file now spells it with zeros.
    faostat.setValue('53', '56', '5312', '2020', '111000.000000');
    faostat.setDateUpdate('2025-09-30');
    const result = await runIngestion(h, FAOSTAT);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 3);
    assert.deepEqual([result.recordsAdded, result.recordsUpdated, result.recordsSkipped], [12, 0, 12]);
    const id = await h.versionId(FAOSTAT);
    const stored = (await observationsAsOf(h.db.pool, id)).filter((r) => r.seriesKey.startsWith('QCL|107|'));
    assert.equal(stored.length, 12);
    for (const r of stored) {
      const [, , item = '', element = ''] = r.seriesKey.split('|');
      assert.equal(r.attributes?.area, label(item, element), r.seriesKey);
    }
    const rows = await observationsAsOf(h.db.pool, id);
    assert.equal(rows.find((r) => r.seriesKey === 'QCL|53|56|5312' && r.period === '2020')?.value, '111000');
  });
});

describe('satellite NDVI ingestion', () => {
  test('12 monthly means per area as revision 1', async () => {
    const result = await runIngestion(h, NDVI);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 24);
    const rows = await observationsAsOf(h.db.pool, await h.versionId(NDVI), { seriesKey: 'NDVI|MOD13Q1|benin_north' });
    assert.deepEqual([rows[0]?.period, rows.at(-1)?.period, rows[0]?.unit], ['2024-01', '2024-12', 'NDVI']);
    assert.ok(rows.every((r) => r.value !== null && Number(r.value) > 0.3 && Number(r.value) < 0.8));
  });

  test('no new composite is no_change: only the dates are read', async () => {
    const before = requestsTo(NDVI).length;
    const result = await runIngestion(h, NDVI);
    assert.equal(result.status, 'no_change');
    assert.ok(
      requestsTo(NDVI)
        .slice(before)
        .every((r) => r.path.endsWith('/dates')),
    );
  });

  test('a new composite moves the window and a reprocessed one updates its month: revision 2', async () => {
    const id = await h.versionId(NDVI);
    const before = await observationsAsOf(h.db.pool, id);
    modis.addNextComposite(); // A2025001: January 2025 enters, January 2024 leaves the 12-month window
    modis.reprocess('A2024353', 250); // December 2024 changes
    const result = await runIngestion(h, NDVI);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 2);
    assert.deepEqual(
      [result.recordsAdded, result.recordsUpdated, result.recordsRemoved, result.recordsSkipped],
      [2, 2, 2, 20],
    );
    assert.deepEqual(await observationsAsOf(h.db.pool, id, { revision: 1 }), before);
    const now = await observationsAsOf(h.db.pool, id, { seriesKey: 'NDVI|MOD13Q1|benin_south' });
    assert.deepEqual([now[0]?.period, now.at(-1)?.period], ['2024-02', '2025-01']);
  });
});
