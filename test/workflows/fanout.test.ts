// The master's fan-out at scale on a real Temporal dev server, PostgreSQL and loopback HTTP: thousands of
// dataset versions, a tenth of them due, each due one ingested by a real ingestDatasetVersion child
// against the World Bank fixture (one indicator, one country, 20 rows). The full size (10,000 / 1,000) is
// test/bench/fanout.bench.ts; this is the size that runs in well under a minute on two cores.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { scheduledIngestionId } from '../../workflows/ids';
import { masterScheduler } from '../../workflows/master-scheduler';
import { masterRuns, seedFanout } from '../helpers/fanout';
import { type Harness, startHarness } from '../helpers/harness';
import { FAST_RETRY } from '../helpers/ingest';

const TOTAL = 2_000;
const DUE = 200;
const MAX_IN_FLIGHT = 20;
/** Small, so that this master must continue-as-new several times. */
const CAN_AFTER = 400;
/** Temporal's own warning threshold; the issue's bar for every run. */
const HISTORY_LIMIT = 10_240;
/**
 * The master reserves room for draining its children before it hands over, so a run may pass its
 * threshold only by the few events between two checks (one child start and its workflow task).
 */
const MARGIN = 30;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

describe(`master fan-out: ${TOTAL.toLocaleString('en')} versions, ${DUE} due`, () => {
  test(`every due version ingested exactly once, at most ${MAX_IN_FLIGHT} in flight, every run's history bounded`, async (t) => {
    const asOf = '2029-03-01T00:00:00.000Z';
    const dueIds = await seedFanout(h, { total: TOTAL, due: DUE, asOf });
    assert.equal(dueIds.length, DUE);

    const handle = await h.env.client.workflow.start(masterScheduler, {
      taskQueue: 'scheduler',
      workflowId: `test-fanout-${randomUUID()}`,
      args: [{ asOf, maxInFlight: MAX_IN_FLIGHT, continueAsNewAfterEvents: CAN_AFTER, childRetry: FAST_RETRY }],
    });
    const result = await handle.result();
    assert.deepEqual(result, { checked: DUE, scheduled: DUE, skipped: 0, errors: 0, changed: DUE, unchanged: 0 });

    // Every run of the master, from its own history.
    const runs = await masterRuns(h.env.client, handle.workflowId, handle.firstExecutionRunId);
    t.diagnostic(
      `${runs.length} runs: ${runs.map((r) => `${r.childIds.length} children, ${r.events} events, ${r.maxInFlight} in flight`).join('; ')}`,
    );
    assert.ok(runs.length >= 3, `expected several continue-as-new runs, saw ${runs.length}`);
    assert.deepEqual(
      runs.map((r) => r.closedBy),
      [...runs.slice(1).map(() => 'continued-as-new'), 'completed'],
    );
    for (const [i, run] of runs.entries()) {
      assert.ok(run.events <= HISTORY_LIMIT, `run ${i + 1}: ${run.events} events`);
      assert.ok(run.events <= CAN_AFTER + MARGIN, `run ${i + 1}: ${run.events} events > ${CAN_AFTER} + ${MARGIN}`);
      assert.ok(run.maxInFlight <= MAX_IN_FLIGHT, `run ${i + 1}: ${run.maxInFlight} children open at once`);
    }
    assert.equal(Math.max(...runs.map((r) => r.maxInFlight)), MAX_IN_FLIGHT, 'the bound is reached, not just kept');

    // No child started twice, across runs, and exactly the due versions' children.
    const { rows: due } = await h.db.pool.query<{ id: number; source: string; version: string }>(
      `SELECT v.id, s.name AS source, v.version FROM dataset_versions v JOIN data_sources s ON s.id = v.data_source_id
        WHERE v.id = ANY($1) ORDER BY v.id`,
      [dueIds],
    );
    const childIds = runs.flatMap((r) => r.childIds);
    assert.equal(new Set(childIds).size, childIds.length, 'a child id initiated twice');
    assert.deepEqual([...childIds].sort(), due.map((v) => scheduledIngestionId(v.source, v.version, asOf)).sort());

    // What the ingestions wrote: one successful log row (20 fixture rows added) and revision 1 per due
    // version, nothing for the others.
    const { rows: logs } = await h.db.pool.query<{ dataset_version_id: number; status: string; added: number }>(
      `SELECT dataset_version_id, status::text, records_added AS added FROM ingestion_logs
        WHERE workflow_id LIKE 'ingest-%-20290301T000000Z' ORDER BY dataset_version_id, id`,
    );
    assert.deepEqual(
      logs.map((l) => [l.dataset_version_id, l.status, l.added]),
      dueIds.map((id) => [id, 'success', 20]),
    );
    const { rows: versions } = await h.db.pool.query<{ due: boolean; revision: number; n: string }>(
      `SELECT id = ANY($1) AS due, current_revision AS revision, count(*) AS n FROM dataset_versions
        WHERE version LIKE 'fan%' GROUP BY 1, 2 ORDER BY 1, 2`,
      [dueIds],
    );
    assert.deepEqual(
      versions.map((v) => [v.due, v.revision, Number(v.n)]),
      [
        [false, 0, TOTAL - DUE],
        [true, 1, DUE],
      ],
    );
  });
});
