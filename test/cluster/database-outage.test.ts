// TEDI's database stopped for 30 s in the middle of a load (issue #12): the load activity fails on the
// outage (DatabaseUnavailable), the workflow retries it on the database schedule, and once the database is
// back the load completes and commits revision 2. Consumers (the read API, the tedi_read contract) read
// revision 1, exactly, before the outage and right after the database is back; afterwards revision 2 is
// current and revision 1 still readable by number. Every worker process survives the outage.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { clusterWorkers } from '../../scripts/cluster/topology';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { qclValue } from '../bench/qcl-shape';
import { type LargeFaostat, serveLargeFaostat, startTestCluster, type TestCluster } from '../helpers/cluster';
import { stagingTablesLeft } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

/** The issue's number: TEDI's database is down this long, for real. */
const OUTAGE_MS = 30_000;
/** The held load is let go this far into the outage: its commit, and the retries after it, meet a database that is down. */
const RELEASE_INTO_OUTAGE_MS = 5_000;
/** Unique (area, item, element, year) up to 150,000 rows of the synthetic QCL file. */
const ROWS = 150_000;
const ELEMENT_CODES = ['5312', '5412', '5510'];
/** Revision 2 changes every tenth row's value (never to its revision 1 value: those end in .9, these in .5). */
const changed = (i: number) => i % 10 === 1;
const value2 = (i: number) => (changed(i) ? `${i}.5` : qclValue(i));
const CHANGED = Math.ceil((ROWS - 1) / 10);
/** Short source retries, as in the other cluster tests; the outage is retried by the workflow's own schedule. */
const RETRY = { initialIntervalMs: 500, heartbeatTimeoutMs: 5000 };
const POINT = 'load:before-commit';
/** Where the load attempt after the restart holds, before it touches the database, until the reads are done. */
const RETRY_POINT = 'load:start';

const controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cluster-points-'));
const reachedFile = path.join(controlDir, `${POINT}.reached`);
const releaseFile = path.join(controlDir, `${POINT}.release`);
const retryReachedFile = path.join(controlDir, `${RETRY_POINT}.reached`);
const retryReleaseFile = path.join(controlDir, `${RETRY_POINT}.release`);
let t: TestCluster;
let faostat: LargeFaostat;

before(async () => {
  // A point holds only while its .reached file is absent: load:start is disarmed until the outage's end.
  fs.writeFileSync(retryReachedFile, 'disarmed');
  t = await startTestCluster({
    api: true,
    // A load holds (heartbeating) inside its transaction, every row merged, until the test lets it go; and
    // once re-armed, a load attempt holds at its start, before it touches the database.
    env: { TEDI_TEST_CONTROL_DIR: controlDir, TEDI_TEST_POINTS: `pause@${POINT},pause@${RETRY_POINT}` },
  });
  faostat = await serveLargeFaostat(t.db, ROWS);
});

after(async () => {
  // Whatever happened, the database runs again for the cluster's own shutdown.
  await t?.cluster.startDatabase().catch(() => undefined);
  await t?.close();
  await faostat?.server.close();
  fs.rmSync(controlDir, { recursive: true, force: true });
});

/** (series key, period) → value as text ('' for none). */
type Snapshot = Map<string, string>;

/** What the synthetic file of `n` rows holds, as the store keys it: series QCL|area|item|element, period the year. */
function expectedSnapshot(n: number, value: (i: number) => string): Snapshot {
  const out: Snapshot = new Map();
  for (let i = 0; i < n; i++) {
    const area = 1 + (i % 250);
    const item = 15 + (Math.floor(i / 250) % 200);
    const element = ELEMENT_CODES[Math.floor(i / 50_000) % 3];
    const year = 1961 + (Math.floor(i / 150_000) % 63);
    out.set(`QCL|${area}|${item}|${element}@${year}`, value(i));
  }
  return out;
}

function assertSameSnapshot(actual: Snapshot, expected: Snapshot, what: string): void {
  const wrong: string[] = [];
  for (const [key, value] of expected) {
    if (actual.get(key) !== value) wrong.push(`${key}: ${JSON.stringify(actual.get(key))} ≠ ${JSON.stringify(value)}`);
  }
  for (const key of actual.keys()) if (!expected.has(key)) wrong.push(`${key}: not expected`);
  assert.equal(actual.size, expected.size, `${what}: ${actual.size} rows, expected ${expected.size}`);
  assert.equal(wrong.length, 0, `${what}: ${wrong.length} rows differ, e.g. ${wrong.slice(0, 5).join('; ')}`);
}

/** Every current (or `revision=N`) observation, as a consumer downloads them from the read API. */
async function readApi(query = ''): Promise<{ revision: number; rows: Snapshot }> {
  const res = await fetch(`${t.cluster.apiUrl}/v1/sources/faostat/observations?format=csv${query}`);
  const text = await res.text();
  assert.equal(res.status, 200, `the read API answers (${text.slice(0, 300)})`);
  const records = parse(text, { columns: true }) as { series_key: string; period: string; value: string }[];
  return {
    revision: Number(res.headers.get('x-tedi-revision')),
    rows: new Map(records.map((r) => [`${r.series_key}@${r.period}`, r.value])),
  };
}

/** The current revision and its observations through the tedi_read contract, in one snapshot. */
async function readContract(): Promise<{ revision: number; rows: Snapshot }> {
  const client = await t.db.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows: versions } = await client.query<{ source: string; version: string; current_revision: number }>(
      'SELECT source, version, current_revision FROM tedi_read.sources WHERE version_id = $1',
      [faostat.versionId],
    );
    const v = versions[0];
    assert.ok(v, 'tedi_read.sources lists the version');
    const { rows } = await client.query<{ series_key: string; period: string; value: string | null }>(
      'SELECT series_key, period, value::text AS value FROM tedi_read.observations_current WHERE source = $1 AND version = $2',
      [v.source, v.version],
    );
    await client.query('COMMIT');
    return {
      revision: v.current_revision,
      rows: new Map(rows.map((r) => [`${r.series_key}@${r.period}`, r.value ?? ''])),
    };
  } finally {
    client.release();
  }
}

/** Revision 1, exactly, is what both ways of reading see as current. */
async function assertRevisionOneCurrent(when: string, rev1: Snapshot): Promise<void> {
  const contract = await readContract();
  assert.equal(contract.revision, 1, `tedi_read: revision 1 is current ${when}`);
  assertSameSnapshot(contract.rows, rev1, `tedi_read.observations_current ${when}`);
  const api = await readApi();
  assert.equal(api.revision, 1, `read API: revision 1 is current ${when}`);
  assertSameSnapshot(api.rows, rev1, `read API ${when}`);
}

function ingest(workflowId: string) {
  return t.client.workflow.start(ingestDatasetVersion, {
    taskQueue: 'agriculture',
    workflowId,
    args: [{ datasetVersionId: faostat.versionId, trigger: 'manual', retry: RETRY }],
  });
}

/** The loadRevision activities of a run, from its history: failures with their time, type and message. */
async function loadsOf(workflowId: string) {
  const history = await t.client.workflow.getHandle(workflowId).fetchHistory();
  const stamp = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const loads = new Set<string>();
  const failed: { at: number; type: string; message: string }[] = [];
  const completed: number[] = [];
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'loadRevision') loads.add(String(e.eventId));
    const f = e.activityTaskFailedEventAttributes;
    if (f && loads.has(String(f.scheduledEventId))) {
      failed.push({
        at: stamp(e),
        type: f.failure?.applicationFailureInfo?.type ?? '',
        message: f.failure?.message ?? '',
      });
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c && loads.has(String(c.scheduledEventId))) completed.push(stamp(e));
  }
  return { scheduled: loads.size, failed, completed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

test('TEDI’s database down for 30 s mid-load: the load fails, is retried and completes; revision 1 stays readable', {
  timeout: 900_000,
}, async () => {
  const workers = t.cluster.workers().map((w) => ({ name: w.name, pid: w.pid }));
  assert.equal(workers.length, clusterWorkers().length, 'every worker process of the topology runs');

  // Revision 1: the whole file, through a real ingestion (its load is let go as soon as it holds).
  const first = await ingest(`cluster-db-outage-r1-${Date.now()}`);
  await waitFor('the first load to hold before its commit', async () => fs.existsSync(reachedFile), 300_000);
  fs.writeFileSync(releaseFile, '');
  const r1 = await first.result();
  assert.equal(r1.status, 'success');
  assert.equal(r1.revision, 1);
  assert.equal(r1.recordsAdded, ROWS);
  // The next load holds again.
  fs.rmSync(reachedFile);
  fs.rmSync(releaseFile);
  const rev1 = expectedSnapshot(ROWS, qclValue);
  await assertRevisionOneCurrent('after the first ingestion', rev1);

  // Revision 2: every tenth value changed, a new release date.
  await faostat.setRows(ROWS, { value: value2, dateUpdate: '2031-01-15' });
  const workflowId = `cluster-db-outage-r2-${Date.now()}`;
  const second = await ingest(workflowId);
  await waitFor('the second load to hold before its commit', async () => fs.existsSync(reachedFile), 300_000);
  const holder = Number(fs.readFileSync(reachedFile, 'utf8'));
  assert.ok(
    workers.some((w) => w.pid === holder),
    `a cluster worker process (pid ${holder}) holds the load open`,
  );
  await assertRevisionOneCurrent('while revision 2 is being loaded', rev1);
  assert.equal((await loadsOf(workflowId)).failed.length, 0, 'no load failed before the outage');

  // The outage: stopped with the load's transaction open (every row merged, nothing committed).
  await t.cluster.stopDatabase();
  const downAt = Date.now();
  await assert.rejects(t.db.pool.query('SELECT 1'), 'TEDI’s database is down');
  const health = await fetch(`${t.cluster.apiUrl}/healthz`);
  assert.equal(health.status, 503, 'the read API says the database is unreachable, rather than serving anything');
  await sleep(downAt + RELEASE_INTO_OUTAGE_MS - Date.now());
  fs.writeFileSync(releaseFile, '');
  // The held load goes on to its commit, which fails: its connection died with the server.
  const duringOutage = await waitFor(
    'the load to fail on the outage',
    async () => {
      const loads = await loadsOf(workflowId);
      return loads.failed.length > 0 && loads;
    },
    OUTAGE_MS - RELEASE_INTO_OUTAGE_MS - 2_000,
  );
  await sleep(downAt + OUTAGE_MS - Date.now());
  const restartAt = Date.now();
  assert.ok(restartAt - downAt >= OUTAGE_MS, 'the database was down for the whole outage');
  // Nothing committed while the database was down (it could not have).
  assert.equal((await loadsOf(workflowId)).completed.length, 0, 'no load completed during the outage');
  // Every load attempt from now on holds at its start, so none can commit before the reads below. (One that
  // passed its start a moment earlier meets the stopped or starting server and fails like the others.)
  fs.rmSync(retryReachedFile);
  await t.cluster.startDatabase();

  // Right after the database is back, before the retried load commits: still revision 1, exactly.
  await assertRevisionOneCurrent('right after the database is back', rev1);
  await waitFor('the retried load to start', async () => fs.existsSync(retryReachedFile), 60_000);
  assert.equal((await loadsOf(workflowId)).completed.length, 0, 'no load completed before the reads');
  await assertRevisionOneCurrent('with the database back and the retried load started', rev1);
  const releasedAt = Date.now();
  fs.writeFileSync(retryReleaseFile, '');

  const result = await second.result();
  assert.equal(result.status, 'success');
  assert.equal(result.revision, 2);
  assert.equal(result.recordsAdded, 0);
  assert.equal(result.recordsUpdated, CHANGED);
  assert.equal(result.recordsRemoved, 0);

  // The load really met the outage: it failed while the database was down, as DatabaseUnavailable naming
  // the lost connection, was retried (each retry a new activity, on the workflow's database schedule), and
  // completed once, after the restart.
  const loads = await loadsOf(workflowId);
  const firstFailure = duringOutage.failed[0]!;
  assert.ok(
    firstFailure.at >= downAt && firstFailure.at < restartAt,
    `the load failed while the database was down (failed at ${firstFailure.at}, down ${downAt}–${restartAt})`,
  );
  assert.ok(
    loads.failed.filter((f) => f.at < restartAt).length >= 2,
    `the retries during the outage failed too (${JSON.stringify(loads.failed)})`,
  );
  for (const f of loads.failed) {
    assert.equal(f.type, 'DatabaseUnavailable', `a load failure is DatabaseUnavailable: ${f.message}`);
    assert.match(f.message, /TEDI's database was unreachable during load/);
  }
  assert.match(
    firstFailure.message,
    /Connection terminated|connection error|terminating connection|ECONNREFUSED|Can't reach database server/i,
    'the first failure names the lost connection',
  );
  assert.equal(loads.scheduled, loads.failed.length + 1, 'every load failed but the last');
  assert.equal(loads.completed.length, 1, 'one load completed');
  assert.ok(loads.completed[0]! > releasedAt, 'the load completed after the database was back and the reads done');

  // Revision 2 current, revision 1 readable by number, both exact.
  const current = await readApi();
  assert.equal(current.revision, 2);
  assertSameSnapshot(current.rows, expectedSnapshot(ROWS, value2), 'read API, revision 2');
  const contract = await readContract();
  assert.equal(contract.revision, 2);
  assertSameSnapshot(contract.rows, expectedSnapshot(ROWS, value2), 'tedi_read.observations_current, revision 2');
  const old = await readApi('&revision=1');
  assert.equal(old.revision, 1);
  assertSameSnapshot(old.rows, rev1, 'read API, revision=1');

  const { rows: revisions } = await t.db.pool.query<{ revision: number; record_count: number }>(
    'SELECT revision, record_count FROM tedi_read.revisions r JOIN tedi_read.sources s USING (source, version) WHERE s.version_id = $1 ORDER BY revision',
    [faostat.versionId],
  );
  assert.deepEqual(
    revisions.map((r) => [r.revision, r.record_count]),
    [
      [1, ROWS],
      [2, ROWS],
    ],
  );
  // Revision 1's rows plus the new values of revision 2's changed rows, each once.
  assert.equal(await t.db.prisma.observation.count({ where: { datasetVersionId: faostat.versionId } }), ROWS + CHANGED);
  const logs = await t.db.prisma.ingestionLog.findMany({
    where: { datasetVersionId: faostat.versionId },
    orderBy: { id: 'asc' },
  });
  assert.deepEqual(
    logs.map((l) => [l.status, l.revision]),
    [
      ['success', 1],
      ['success', 2],
    ],
    'one log row per ingestion',
  );
  assert.equal(await stagingTablesLeft(t.db.pool), 0, 'no staging table left');

  assert.deepEqual(
    t.cluster.workers().map((w) => ({ name: w.name, pid: w.pid })),
    workers,
    'every worker process survived the outage (the same processes, all running)',
  );
});
