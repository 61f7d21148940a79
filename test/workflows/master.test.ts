// The master scheduler and the circuit breaker on a real Temporal dev server and PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { resetBreakerNow } from '../../activities/scheduling/breaker';
import { scheduledIngestionId } from '../../workflows/ids';
import { type MasterInput, masterScheduler } from '../../workflows/master-scheduler';
import { textResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness, WB_SOURCES } from '../helpers/harness';
import { FAST_RETRY, logsOf, versionOf } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
  // The master's counts below are about the three World Bank sources; every other connector has its own
  // workflow test with its own fixture.
  await h.db.prisma.dataSource.updateMany({ where: { connector: { not: 'world-bank' } }, data: { isActive: false } });
  // Counted here on their cadence; probing at every tick (World Bank's cheap probe) has its own test in
  // test/workflows/half-open-breaker.test.ts.
  await h.db.prisma.dataSource.updateMany({ data: { probeEveryTick: false } });
});
after(async () => {
  await h?.stop();
});

function runMaster(input: MasterInput) {
  return h.env.client.workflow.execute(masterScheduler, {
    taskQueue: 'scheduler',
    workflowId: `test-master-${randomUUID()}`,
    args: [{ childRetry: FAST_RETRY, ...input }],
  });
}

/** Makes every version due at `asOf` by moving next_check_at back. */
async function makeDue(asOf: string) {
  await h.db.prisma.datasetVersion.updateMany({ data: { nextCheckAt: new Date(Date.parse(asOf) - 1000) } });
}

describe('masterScheduler', () => {
  test('starts one ingestion per due version on its vertical queue and reports the seed counts', async () => {
    const asOf = '2026-01-01T00:00:00.000Z';
    const result = await runMaster({ asOf });
    // Only the three World Bank sources are active; the others are catalogued but have no connector yet.
    assert.deepEqual(result, { checked: 3, scheduled: 3, skipped: 0, errors: 0, changed: 3, unchanged: 0 });
    // Visibility is eventually consistent: wait for the master to show up under its outcome.
    await waitFor('the master to be searchable by its outcome', async () => {
      const masters = await h.env.client.workflow.count(`WorkflowType = 'masterScheduler' AND TediOutcome = 'success'`);
      return masters.count === 1;
    });
    for (const source of Object.keys(WB_SOURCES)) {
      const id = scheduledIngestionId(source, 'current', asOf);
      const desc = await h.env.client.workflow.getHandle(id).describe();
      const v = await versionOf(h, source);
      const vertical = source.replace('world_bank_', '');
      assert.equal(desc.taskQueue, vertical);
      assert.equal(desc.status.name, 'COMPLETED');
      assert.deepEqual(desc.searchAttributes.TediSource, [source]);
      assert.deepEqual(desc.searchAttributes.TediOutcome, ['success']);
      assert.equal(v.currentRevision, 1);
    }
  });

  test('nothing is due right after a successful run', async () => {
    const result = await runMaster({ asOf: new Date().toISOString() });
    assert.equal(result.checked, 0);
    assert.equal(result.scheduled, 0);
  });

  test('the same schedule time never starts a child twice', async () => {
    const asOf = '2027-06-01T00:00:00.000Z';
    await makeDue(asOf);
    const first = await runMaster({ asOf });
    assert.equal(first.scheduled, 3);
    // A retried or overlapping master for the same tick finds the versions still due (pretend the
    // children had not marked them) but may not start them again.
    await makeDue(asOf);
    const second = await runMaster({ asOf });
    assert.equal(second.scheduled, 0);
    assert.equal(second.skipped, 3);
    const logs = await h.db.prisma.ingestionLog.count({ where: { workflowId: { endsWith: '20270601T000000Z' } } });
    assert.equal(logs, 3, 'exactly one ingestion per version for that tick');
  });

  test('pages and continues-as-new without losing or repeating a version', async () => {
    const asOf = '2027-09-01T00:00:00.000Z';
    await makeDue(asOf);
    const handle = await h.env.client.workflow.start(masterScheduler, {
      taskQueue: 'scheduler',
      workflowId: `test-master-can-${randomUUID()}`,
      args: [{ asOf, pageSize: 1, maxInFlight: 1, continueAsNewAfterEvents: 1, childRetry: FAST_RETRY }],
    });
    const result = await handle.result();
    assert.deepEqual(result, { checked: 3, scheduled: 3, skipped: 0, errors: 0, changed: 0, unchanged: 3 });
    const runs = await h.env.client.workflow.count(`WorkflowId = '${handle.workflowId}'`);
    assert.ok(runs.count >= 3, `expected continue-as-new runs, saw ${runs.count}`);
  });

  test('five failed ingestions open the breaker; the master then skips the version; a reset restores it', async () => {
    const source = 'world_bank_business';
    const id = await h.versionId(source);
    h.setHandler((req) =>
      req.path.includes(WB_SOURCES[source]) ? textResponse('upstream down', 502) : h.worldBank.handler(req),
    );
    try {
      for (let i = 1; i <= 5; i++) {
        const asOf = `2028-01-0${i}T00:00:00.000Z`;
        await makeDue(asOf);
        const result = await runMaster({ asOf });
        assert.equal(result.errors, 1, `tick ${i}: the failing source is reported`);
        if (i === 1) {
          await waitFor('a tick with a failed ingestion to be searchable as failed', async () => {
            const failedTicks = await h.env.client.workflow.count(
              `WorkflowType = 'masterScheduler' AND TediOutcome = 'failed'`,
            );
            return failedTicks.count === 1;
          });
        }
        const v = await versionOf(h, source);
        assert.equal(v.consecutiveFailures, i);
        assert.equal(v.breakerOpenedAt !== null, i === 5, `breaker open after ${i} failures?`);
      }
      const failed = (await logsOf(h, source)).filter((l) => l.status === 'failed');
      assert.equal(failed.length, 5);
      assert.equal(failed[0]?.errorClass, 'SourceUnavailable');
      assert.match(String(failed[0]?.errorMessage), /HTTP 502/);

      // Within the cool-down (the half-open probe after it is test/workflows/half-open-breaker.test.ts's).
      const openedAt = (await versionOf(h, source)).breakerOpenedAt as Date;
      const asOf = new Date(openedAt.getTime() + 3600_000).toISOString();
      await makeDue(asOf);
      const skipped = await runMaster({ asOf });
      assert.equal(skipped.skipped, 1, 'the broken version is skipped');
      assert.equal(skipped.errors, 0);
    } finally {
      h.setHandler(null);
    }
    await resetBreakerNow(h.db, id);
    const v = await versionOf(h, source);
    assert.equal(v.breakerOpenedAt, null);
    assert.equal(v.consecutiveFailures, 0);
    const result = await runMaster({ asOf: new Date(Date.now() + 1000).toISOString() });
    assert.equal(result.scheduled, 1, 'only the reset version is due: it is checked again at once');
    assert.equal(result.errors, 0);
    assert.equal((await versionOf(h, source)).consecutiveFailures, 0);
  });
});
