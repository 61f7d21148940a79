// The daily maintenance workflows on a real Temporal dev server and PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { cleanupLogs, reliabilityScores } from '../../workflows/maintenance';
import { type Harness, startHarness } from '../helpers/harness';
import { versionOf } from '../helpers/ingest';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

const DAY = 24 * 3600 * 1000;

async function addLog(source: string, status: 'success' | 'no_change' | 'failed' | 'running', daysAgo: number) {
  const datasetVersionId = await h.versionId(source);
  const startedAt = new Date(Date.now() - daysAgo * DAY);
  return h.db.prisma.ingestionLog.create({
    data: { datasetVersionId, status, startedAt, workflowId: `seed-${randomUUID()}`, runId: randomUUID() },
  });
}

test('log cleanup removes only rows older than the retention period', async () => {
  const old = await addLog('world_bank_agriculture', 'success', 120);
  const oldFailed = await addLog('world_bank_agriculture', 'failed', 91);
  const recent = await addLog('world_bank_agriculture', 'success', 89);
  const stuck = await addLog('world_bank_agriculture', 'running', 200);

  const result = await h.env.client.workflow.execute(cleanupLogs, {
    taskQueue: 'scheduler',
    workflowId: `test-cleanup-${randomUUID()}`,
    args: [{ retentionDays: 90 }],
  });
  assert.deepEqual(result, { deleted: 2 });
  const left = (await h.db.prisma.ingestionLog.findMany()).map((l) => l.id);
  assert.ok(!left.includes(old.id) && !left.includes(oldFailed.id));
  assert.ok(left.includes(recent.id), 'recent rows stay');
  assert.ok(left.includes(stuck.id), 'a run still marked running is never deleted under it');
});

test('reliability scores reflect the recent share of ingestions that did not fail', async () => {
  await h.db.prisma.ingestionLog.deleteMany();
  for (const [status, daysAgo] of [
    ['success', 4],
    ['no_change', 3],
    ['failed', 2],
    ['success', 1],
  ] as const) {
    await addLog('world_bank_employment', status, daysAgo);
  }
  await addLog('world_bank_business', 'failed', 1);

  const result = await h.env.client.workflow.execute(reliabilityScores, {
    taskQueue: 'scheduler',
    workflowId: `test-reliability-${randomUUID()}`,
  });
  assert.equal(result.updated, 2);
  assert.equal((await versionOf(h, 'world_bank_employment')).sourceReliabilityScore, 0.75);
  assert.equal((await versionOf(h, 'world_bank_business')).sourceReliabilityScore, 0);
  assert.equal((await versionOf(h, 'world_bank_agriculture')).sourceReliabilityScore, null, 'no history: n/a');
});
