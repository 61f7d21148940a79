// The snapshot guards on real servers: an empty, shrunken or key-repeating snapshot never becomes a
// revision (activities/store/snapshot-guard.ts); an operator can accept a shrink for one run, and the
// log row says so; a forced run of identical content and a respelled value make no revision.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { observationsAsOf } from '../../activities/store/as-of';
import { DEFAULT_MAX_REMOVED_RATIO } from '../../activities/store/snapshot-guard';
import { FailureType } from '../../lib/failures';
import { jsonResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness } from '../helpers/harness';
import { logsOf, runIngestion, versionOf } from '../helpers/ingest';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

const SOURCE = 'world_bank_business';
const INDICATOR = 'IC.BUS.NREG';
/** The World Bank's own answer for an indicator or country without data (and during upstream blanks). */
const WORLD_BANK_EMPTY = [{ page: 0, pages: 0, per_page: 0, total: 0, sourceid: null, lastupdated: null }, null];

async function expectFailure(run: Promise<unknown>, type: string): Promise<string> {
  const err = await run.then(
    () => assert.fail(`expected the ingestion to fail with ${type}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  const cause = err.cause as { type?: string; message: string };
  assert.equal(cause.type, type, cause.message);
  return cause.message;
}

function removeYears(count: number): void {
  const values = h.worldBank.data.series[INDICATOR]!.BJ!.values;
  for (const year of Object.keys(values).sort().slice(0, count)) delete values[year];
}

async function current() {
  return observationsAsOf(h.db.pool, await h.versionId(SOURCE));
}

describe('snapshot guards', () => {
  test('an empty first answer is refused: nothing is loaded and the log says why', async () => {
    h.setHandler(() => jsonResponse(WORLD_BANK_EMPTY));
    const message = await expectFailure(runIngestion(h, SOURCE), FailureType.SuspiciousSnapshot);
    h.setHandler(null);
    assert.match(message, /returned no rows/);
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.status, 'failed');
    assert.equal(log?.errorClass, FailureType.SuspiciousSnapshot);
    assert.match(log?.errorMessage ?? '', /load: .*returned no rows/);
    assert.equal((await versionOf(h, SOURCE)).currentRevision, 0);
  });

  test('revision 1 loads; then an empty answer is refused and revision 1 stays exactly as it was', async () => {
    const first = await runIngestion(h, SOURCE);
    assert.equal(first.revision, 1);
    assert.equal(first.recordsAdded, 20);
    const before = await current();

    h.setHandler(() => jsonResponse(WORLD_BANK_EMPTY));
    const message = await expectFailure(runIngestion(h, SOURCE, { force: true }), FailureType.SuspiciousSnapshot);
    h.setHandler(null);
    assert.match(message, /empty and would remove all 20 current rows; the current revision is kept/);
    assert.match(message, /--accept-removals/, 'the message says how to accept it');
    assert.deepEqual(await current(), before);
    const version = await versionOf(h, SOURCE);
    assert.equal(version.currentRevision, 1);
    assert.equal(await h.db.prisma.datasetRevision.count({ where: { datasetVersionId: version.id } }), 1);
  });

  test(`removing exactly ${DEFAULT_MAX_REMOVED_RATIO * 100}% of the rows passes; one row more is refused`, async () => {
    // 20 rows: 4 removed is 20 % (allowed), 5 removed is 25 % (refused).
    assert.equal(DEFAULT_MAX_REMOVED_RATIO, 0.2);
    removeYears(4);
    const allowed = await runIngestion(h, SOURCE, { force: true });
    assert.equal(allowed.status, 'success');
    assert.equal(allowed.recordsRemoved, 4);
    assert.equal(allowed.revision, 2);

    // 16 current rows now: 4 more removed is 25 %.
    removeYears(4);
    const message = await expectFailure(runIngestion(h, SOURCE, { force: true }), FailureType.SuspiciousSnapshot);
    assert.match(message, /would remove 4 of 16 current rows \(25%, more than the 20% allowed\)/);
    assert.equal((await versionOf(h, SOURCE)).currentRevision, 2);
    assert.equal((await current()).length, 16);
  });

  test('an operator accepts the shrink for one run; the log row and the revision record it', async () => {
    const accepted = await runIngestion(h, SOURCE, { force: true, acceptRemovals: true });
    assert.equal(accepted.status, 'success');
    assert.equal(accepted.revision, 3);
    assert.equal(accepted.recordsRemoved, 4);
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.acceptedOverride, 'operator accepted removing 4 of 16 current rows (25%)');
    const revision = await h.db.prisma.datasetRevision.findFirstOrThrow({
      where: { datasetVersionId: await h.versionId(SOURCE), revision: 3 },
    });
    assert.equal(revision.acceptedOverride, log?.acceptedOverride);
  });

  test('a per-source threshold (data_source_configs.max_removed_ratio) replaces the default', async () => {
    const source = await h.db.prisma.dataSource.findUniqueOrThrow({ where: { name: SOURCE } });
    await h.db.prisma.dataSourceConfig.update({ where: { dataSourceId: source.id }, data: { maxRemovedRatio: 0.5 } });
    removeYears(4); // 4 of 12 current rows: 33 %, under 50 %
    const result = await runIngestion(h, SOURCE, { force: true });
    assert.equal(result.status, 'success');
    assert.equal(result.recordsRemoved, 4);
  });

  test('a snapshot repeating a (series, period) key is refused with the key and its record numbers', async () => {
    h.setHandler((req) => {
      const row = (value: number) => ({
        indicator: { id: INDICATOR, value: 'New businesses registered (number)' },
        country: { id: 'BJ', value: 'Benin' },
        countryiso3code: 'BEN',
        date: '2022',
        value,
        unit: '',
        obs_status: '',
        decimal: 0,
      });
      if (!/\/indicator\//.test(req.path)) return jsonResponse(WORLD_BANK_EMPTY);
      const meta = { page: 1, pages: 1, per_page: 50, total: 3, sourceid: '2', lastupdated: '2024-06-01' };
      return jsonResponse([meta, [row(100), { ...row(7), date: '2021' }, row(250)]]);
    });
    const before = await current();
    const message = await expectFailure(
      runIngestion(h, SOURCE, { force: true, acceptRemovals: true }),
      FailureType.SuspiciousSnapshot,
    );
    h.setHandler(null);
    assert.match(message, /repeats \(series, period\) keys: \(IC\.BUS\.NREG\|BEN, 2022\) at records 1, 3/);
    assert.match(message, /No row is picked silently/);
    assert.deepEqual(await current(), before, 'acceptRemovals does not accept duplicate keys');
  });

  test('a forced run of identical content is no_change with no new revision', async () => {
    const version = await versionOf(h, SOURCE);
    const revisions = await h.db.prisma.datasetRevision.count({ where: { datasetVersionId: version.id } });
    const result = await runIngestion(h, SOURCE, { force: true });
    assert.equal(result.status, 'no_change');
    assert.equal(result.hasChanges, false);
    assert.equal(result.revision, version.currentRevision, 'the current revision stays current');
    assert.equal(await h.db.prisma.datasetRevision.count({ where: { datasetVersionId: version.id } }), revisions);
  });

  test('a value stored in another spelling (12.50 for 12.5) is unchanged: no revision, hash brought up to date', async () => {
    const version = await versionOf(h, SOURCE);
    // As stored before values had one spelling: the numeric keeps its trailing zeros, the hash differs.
    const { rowCount } = await h.db.pool.query(
      `UPDATE observations SET value = (value::text || '.00')::numeric, row_hash = '\\x01'::bytea
        WHERE dataset_version_id = $1 AND valid_to IS NULL AND value IS NOT NULL AND value::text NOT LIKE '%.%'`,
      [version.id],
    );
    assert.ok((rowCount ?? 0) > 0, 'some stored values were respelled');
    const result = await runIngestion(h, SOURCE, { force: true });
    assert.equal(result.status, 'no_change');
    assert.equal(result.recordsUpdated, 0);
    assert.equal((await versionOf(h, SOURCE)).currentRevision, version.currentRevision);
    const stale = await h.db.pool.query(
      `SELECT count(*)::int AS n FROM observations WHERE dataset_version_id = $1 AND row_hash = '\\x01'::bytea`,
      [version.id],
    );
    assert.equal(stale.rows[0].n, 0);
  });

  test('a source that declares empty answers legitimate (allow_empty_snapshot) may be emptied', async () => {
    const source = await h.db.prisma.dataSource.findUniqueOrThrow({ where: { name: SOURCE } });
    await h.db.prisma.dataSourceConfig.update({
      where: { dataSourceId: source.id },
      data: { allowEmptySnapshot: true, maxRemovedRatio: 1 },
    });
    h.setHandler(() => jsonResponse(WORLD_BANK_EMPTY));
    const result = await runIngestion(h, SOURCE, { force: true });
    h.setHandler(null);
    assert.equal(result.status, 'success');
    assert.equal((await current()).length, 0);
  });
});
