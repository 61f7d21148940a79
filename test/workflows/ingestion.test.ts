// The ingestion workflow on a real Temporal dev server, real PostgreSQL and the World Bank fixture.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { observationsAsOf, seriesOf } from '../../activities/store/as-of';
import { jsonResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness } from '../helpers/harness';
import { logsOf, runIngestion, stagingTablesLeft, versionOf } from '../helpers/ingest';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

const SOURCE = 'world_bank_agriculture';
const SERIES = 'AG.PRD.CROP.XD|BEN';

describe('ingestDatasetVersion', () => {
  test('first ingestion loads every row as revision 1', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.hasChanges, true);
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 20);
    assert.equal(result.recordsUpdated, 0);

    const version = await versionOf(h, SOURCE);
    assert.equal(version.currentRevision, 1);
    assert.equal(version.consecutiveFailures, 0);
    // The World Bank's probe is cheap, so it is checked at the next master run: due at once, not a cadence
    // ahead (lib/scheduling/probe-interval.ts; other sources wait a cadence: test/unit/breaker-timing.test.ts).
    assert.ok(version.nextCheckAt && version.nextCheckAt <= new Date(), 'next check is the next master run');
    const rows = await observationsAsOf(h.db.pool, version.id);
    assert.equal(rows.length, 20);
    assert.equal(rows.find((r) => r.period === '2023')?.value, null, 'the unpublished latest year stays null');

    const [log] = await logsOf(h, SOURCE);
    assert.equal(log?.status, 'success');
    assert.equal(log?.recordsAdded, 20);
    assert.equal(log?.revision, 1);
    assert.ok(log?.finishedAt && log.durationMs !== null);
    assert.equal(await stagingTablesLeft(h.db.pool), 0, 'staging is cleaned up');
  });

  test('each series is stored once with its named dimensions; consumers filter by name, not by parsing keys', async () => {
    const id = await h.versionId(SOURCE);
    const all = await seriesOf(h.db.pool, id);
    assert.ok(all.length > 0);
    assert.deepEqual(
      all.find((s) => s.seriesKey === SERIES),
      { seriesKey: SERIES, dimensions: { indicator: 'AG.PRD.CROP.XD', country: 'BEN' } },
    );
    const crops = await seriesOf(h.db.pool, id, { indicator: 'AG.PRD.CROP.XD' });
    assert.deepEqual(
      crops.map((s) => s.seriesKey),
      [SERIES],
    );
    assert.deepEqual(await seriesOf(h.db.pool, id, { country: 'TGO' }), [], 'no Togo series in a Benin source');
  });

  test('an unchanged probe is a no_change run: a log row, no new version, no data fetched', async () => {
    const before = h.fixture.requests.length;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.hasChanges, false);
    assert.equal(result.revision, 1);
    assert.equal(h.fixture.requests.length - before, 1, 'only the probe request was made');
    const logs = await logsOf(h, SOURCE);
    assert.equal(logs.at(-1)?.status, 'no_change');
    assert.equal((await versionOf(h, SOURCE)).currentRevision, 1);
    assert.equal(
      await h.db.prisma.datasetRevision.count({ where: { datasetVersion: { dataSource: { name: SOURCE } } } }),
      1,
    );
  });

  test('a new lastupdated with identical content is caught by the checksum: no version', async () => {
    h.worldBank.setLastUpdated('2024-07-01');
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.recordsSkipped, 20);
    assert.equal((await versionOf(h, SOURCE)).currentRevision, 1);
    assert.equal((await versionOf(h, SOURCE)).lastProbeToken, 'AG.PRD.CROP.XD=2024-07-01');
  });

  test('a changed value makes revision 2 with exact counts; revision 1 stays queryable', async () => {
    const before = await observationsAsOf(h.db.pool, await h.versionId(SOURCE), { seriesKey: SERIES });
    h.worldBank.setValue('AG.PRD.CROP.XD', 'BJ', 2020, 123.45);
    h.worldBank.setValue('AG.PRD.CROP.XD', 'BJ', 2023, 130.5);
    h.worldBank.setLastUpdated('2024-09-15');
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 2);
    assert.equal(result.recordsAdded, 0);
    assert.equal(result.recordsUpdated, 2);
    assert.equal(result.recordsSkipped, 18);

    const id = await h.versionId(SOURCE);
    const v1 = await observationsAsOf(h.db.pool, id, { revision: 1, seriesKey: SERIES });
    const v2 = await observationsAsOf(h.db.pool, id, { revision: 2, seriesKey: SERIES });
    assert.deepEqual(v1, before, 'as of revision 1 nothing moved');
    assert.equal(v2.find((r) => r.period === '2020')?.value, '123.45');
    assert.equal(v2.find((r) => r.period === '2023')?.value, '130.5');
    // Unchanged rows are stored once: 20 original rows + 2 new versions of changed rows.
    assert.equal(await h.db.prisma.observation.count({ where: { datasetVersionId: id } }), 22);
  });

  test('a new year is added, a vanished year is closed, both counted', async () => {
    h.worldBank.addYear(2024, 140);
    h.worldBank.setLastUpdated('2025-01-10');
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.revision, 3);
    assert.equal(result.recordsAdded, 1);
    assert.equal(result.recordsUpdated, 0);
    const id = await h.versionId(SOURCE);
    assert.equal((await observationsAsOf(h.db.pool, id)).length, 21);
    assert.equal((await observationsAsOf(h.db.pool, id, { revision: 2 })).length, 20);
  });

  test('an invalid payload fails at once (non-retryable), logs why, and keeps the current version', async () => {
    h.setHandler(() => jsonResponse({ unexpected: 'shape' }));
    try {
      await assert.rejects(
        runIngestion(h, 'world_bank_employment', { retry: { maximumAttempts: 5, initialIntervalMs: 50 } }),
        (err) => {
          assert.ok(err instanceof WorkflowFailedError);
          assert.match(String(err.cause?.message), /Ingestion of world_bank_employment\/current failed during probe/);
          return true;
        },
      );
    } finally {
      h.setHandler(null);
    }
    const [log] = await logsOf(h, 'world_bank_employment');
    assert.equal(log?.status, 'failed');
    assert.equal(log?.errorClass, 'InvalidPayload');
    assert.match(String(log?.errorMessage), /^probe: /);
    const probes = h.fixture.requests.filter((r) => r.url.includes('SL.UEM.TOTL.ZS'));
    assert.equal(probes.length, 1, 'an invalid payload is not retried');
    assert.equal((await versionOf(h, 'world_bank_employment')).consecutiveFailures, 1);
  });

  test('a 5xx is retried with backoff and succeeds when the source recovers', async () => {
    h.fixture.faults.failNext(2, 503);
    const result = await runIngestion(h, 'world_bank_employment', {
      retry: { initialIntervalMs: 50, maximumAttempts: 4 },
    });
    assert.equal(result.status, 'success');
    assert.equal(result.recordsAdded, 21, 'the 2024 year added earlier to every fixture series counts too');
    const v = await versionOf(h, 'world_bank_employment');
    assert.equal(v.consecutiveFailures, 0, 'a success resets the failure count');
  });

  test('too many rejected rows fail the ingestion and leave the current version intact', async () => {
    const id = await h.versionId('world_bank_employment');
    const before = await observationsAsOf(h.db.pool, id);
    h.worldBank.setLastUpdated('2025-02-02');
    h.setHandler((req) => {
      const res = h.worldBank.handler(req) as { body: string | Buffer };
      const body = JSON.parse(String(res.body));
      // Every record loses its date: the row schema rejects each one.
      if (Array.isArray(body[1])) for (const r of body[1]) r.date = null;
      return jsonResponse(body);
    });
    try {
      await assert.rejects(runIngestion(h, 'world_bank_employment'), (err: WorkflowFailedError) => {
        assert.match(String(err.cause?.message), /failed during fetch: .*21 of 21 records failed validation/);
        return true;
      });
    } finally {
      h.setHandler(null);
    }
    const log = (await logsOf(h, 'world_bank_employment')).at(-1);
    assert.equal(log?.status, 'failed');
    assert.equal(log?.errorClass, 'TooManyRejects');
    assert.equal(log?.recordsRejected, 21);
    const rejects = log?.rejects as Array<{ row: number; reason: string }>;
    assert.equal(rejects[0]?.row, 1);
    assert.match(rejects[0]!.reason, /date/);
    assert.deepEqual(await observationsAsOf(h.db.pool, id), before);
    assert.equal((await versionOf(h, 'world_bank_employment')).currentRevision, 1);
  });
});
