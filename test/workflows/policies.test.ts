// Documented policies that live in SQL or in the workflows, pinned by their numbers on a real Temporal dev
// server, PostgreSQL and loopback HTTP: each test fails when the policy changes. The pure ones (breaker
// threshold, Retry-After) are in test/unit/policies.test.ts, the backoff schedule in retry-timing.test.ts.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { schedulingActivities } from '../../activities/scheduling/due-versions';
import { reliabilityScores } from '../../workflows/maintenance';
import { masterScheduler } from '../../workflows/master-scheduler';
import { textResponse } from '../fixtures/fixture-server';
import { closesChild } from '../helpers/fanout';
import { type Harness, startHarness, TEST_SECRET_KEY, WB_SOURCES } from '../helpers/harness';
import { FAST_RETRY, logsOf, runIngestion, versionOf } from '../helpers/ingest';

let h: Harness;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-policies-'));
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const DAY = 24 * 3600 * 1000;

/** Every version closed, enabled and not due before `notBefore`; every catalogued source as the catalog has it. */
async function quietSchedule(notBefore: Date) {
  await h.db.prisma.datasetVersion.updateMany({
    data: { checkEnabled: true, nextCheckAt: notBefore, breakerOpenedAt: null, consecutiveFailures: 0 },
  });
}

describe('the due rule (activities/scheduling/due-versions.ts, the one implementation)', () => {
  const asOf = new Date('2027-03-01T06:00:00.000Z');
  const setVersion = async (source: string, data: Record<string, unknown>) =>
    h.db.prisma.datasetVersion.updateMany({ where: { dataSource: { name: source } }, data });
  const setSource = async (source: string, isActive: boolean) =>
    h.db.prisma.dataSource.update({ where: { name: source }, data: { isActive } });
  const due = async (limit = 100) => {
    const { findDueVersions } = schedulingActivities({ db: h.db, secretKey: TEST_SECRET_KEY });
    const seen: Array<{ source: string; breakerOpen: boolean }> = [];
    let afterId = 0;
    for (let page = 0; page < 50; page++) {
      const result = await findDueVersions({ asOf: asOf.toISOString(), afterId, limit });
      seen.push(...result.versions.map((v) => ({ source: v.source, breakerOpen: v.breakerOpen })));
      if (result.nextAfterId === null) return seen.sort((a, b) => a.source.localeCompare(b.source));
      afterId = result.nextAfterId;
    }
    throw new Error('findDueVersions never reached its last page');
  };

  before(async () => {
    await quietSchedule(new Date(asOf.getTime() + DAY));
    for (const source of ['faostat', 'satellite_ndvi', 'agriculture_local_surveys', ...Object.keys(WB_SOURCES)]) {
      await setSource(source, true);
    }
    await setSource('openstreetmap', false);
    // The due rule on next_check_at; the cheap-probe rule (due at every tick) is pinned below.
    await h.db.prisma.dataSource.updateMany({ data: { probeEveryTick: false } });
    const longAgo = new Date(asOf.getTime() - DAY);
    // Reached exactly at asOf: due. One millisecond later (timestamptz(3)): not yet. Never checked: due.
    await setVersion('world_bank_agriculture', { nextCheckAt: asOf });
    await setVersion('world_bank_employment', { nextCheckAt: new Date(asOf.getTime() + 1) });
    await setVersion('world_bank_business', { nextCheckAt: null });
    // Long overdue, but automatic checks disabled / source inactive / on-event: never due.
    await setVersion('faostat', { nextCheckAt: longAgo, checkEnabled: false });
    await setVersion('openstreetmap', { nextCheckAt: longAgo });
    await setVersion('agriculture_local_surveys', { nextCheckAt: longAgo });
    // Breaker open within its cool-down: due, flagged, so the master counts it as skipped instead of starting it.
    await setVersion('satellite_ndvi', {
      nextCheckAt: longAgo,
      breakerOpenedAt: breakerOpened,
      consecutiveFailures: 5,
    });
  });

  const breakerOpened = new Date(asOf.getTime() - 3600_000);
  const expected = [
    { source: 'satellite_ndvi', breakerOpen: true },
    { source: 'world_bank_agriculture', breakerOpen: false },
    { source: 'world_bank_business', breakerOpen: false },
  ];

  test('next_check_at == asOf is due, asOf + 1 ms is not, never checked is due; disabled, inactive and on-event never', async () => {
    assert.deepEqual(await due(), expected);
  });

  test('one version per page gives the same set (keyset paging loses nothing)', async () => {
    assert.deepEqual(await due(1), expected);
  });

  test('the master starts the due ones and counts the open breaker as skipped', async () => {
    const result = await h.env.client.workflow.execute(masterScheduler, {
      taskQueue: 'scheduler',
      workflowId: `test-policy-master-${randomUUID()}`,
      args: [{ asOf: asOf.toISOString(), childRetry: FAST_RETRY }],
    });
    assert.equal(result.checked, 3);
    assert.equal(result.scheduled, 2);
    assert.equal(result.skipped, 1);
    // The skip is logged, saying why and when the half-open probe comes (opened + the 6 h cool-down).
    const logs = await h.db.prisma.ingestionLog.findMany({
      where: { datasetVersion: { dataSource: { name: 'satellite_ndvi' } } },
    });
    assert.deepEqual(
      logs.map((l) => [l.status, l.errorMessage]),
      [['skipped', 'breaker open since 2027-03-01T05:00:00.000Z, next probe at 2027-03-01T11:00:00.000Z']],
    );
  });
});

describe('reject ratio: more than 10 % of the rows rejected fails the run', () => {
  const SURVEY = 'agriculture_local_surveys';
  const HEADER = 'indicator,department,commune,crop,campaign,value,unit,survey';
  let file = 0;
  /** 1,000 survey rows, the first `bad` of them with an unreadable value; `salt` changes the good values. */
  const survey = (bad: number, salt: number) => {
    const rows = Array.from(
      { length: 1000 },
      (_, i) => `production_t,Zou,C${i},maize,2023-2024,${i < bad ? 'n/a' : 1000 + i + salt},t,`,
    );
    const location = path.join(tmp, `survey-${++file}.csv`);
    fs.writeFileSync(location, `${[HEADER, ...rows].join('\n')}\n`);
    return location;
  };
  const importFile = (location: string) => runIngestion(h, SURVEY, { trigger: 'event', event: { location } });

  test('just over (101 of 1,000 = 10.1 %): failed with TooManyRejects, nothing loaded', async () => {
    await assert.rejects(importFile(survey(101, 1)), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String(err.cause?.message), /101 of 1000 records failed validation/);
      return true;
    });
    const log = (await logsOf(h, SURVEY)).at(-1);
    assert.equal(log?.status, 'failed');
    assert.equal(log?.errorClass, 'TooManyRejects');
    assert.equal((await versionOf(h, SURVEY)).currentRevision, 0);
  });

  test('exactly at (100 of 1,000 = 10 %): success, the 100 rows rejected into the log', async () => {
    const result = await importFile(survey(100, 2));
    assert.equal(result.status, 'success');
    assert.equal(result.recordsRejected, 100);
    assert.equal(result.revision, 1);
  });

  test('just under (99 of 1,000 = 9.9 %): success', async () => {
    const result = await importFile(survey(99, 3));
    assert.equal(result.status, 'success');
    assert.equal(result.recordsRejected, 99);
    assert.equal(result.revision, 2);
  });
});

describe('last_success_at: stamped by a successful check (success or no_change), never by a failed or skipped one', () => {
  // Not ingested by the due-rule tests above, so its first run here is a success.
  const SOURCE = 'world_bank_employment';
  const lastLog = async () => (await logsOf(h, SOURCE)).at(-1)!;

  test('success stamps it with the run’s finish time', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    const log = await lastLog();
    assert.ok(log.finishedAt);
    assert.deepEqual((await versionOf(h, SOURCE)).lastSuccessAt, log.finishedAt);
  });

  test('no_change stamps it too: the source answered and nothing changed, so the data is fresh', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    const log = await lastLog();
    assert.deepEqual((await versionOf(h, SOURCE)).lastSuccessAt, log.finishedAt);
  });

  test('a failed run leaves it as it was (but is a check: last_checked_at moves)', async () => {
    const before = await versionOf(h, SOURCE);
    h.setHandler(() => textResponse('upstream down', 502));
    try {
      await assert.rejects(runIngestion(h, SOURCE), WorkflowFailedError);
    } finally {
      h.setHandler(null);
    }
    const after = await versionOf(h, SOURCE);
    const log = await lastLog();
    assert.equal(log.status, 'failed');
    assert.deepEqual(after.lastSuccessAt, before.lastSuccessAt);
    assert.deepEqual(after.lastCheckedAt, log.finishedAt);
    assert.equal(after.consecutiveFailures, 1);
  });

  test('a skipped run (checks disabled) leaves it as it was', async () => {
    const before = await versionOf(h, SOURCE);
    await h.db.prisma.datasetVersion.update({ where: { id: before.id }, data: { checkEnabled: false } });
    try {
      const result = await runIngestion(h, SOURCE, { trigger: 'schedule' });
      assert.equal(result.status, 'skipped');
    } finally {
      await h.db.prisma.datasetVersion.update({ where: { id: before.id }, data: { checkEnabled: true } });
    }
    assert.deepEqual((await versionOf(h, SOURCE)).lastSuccessAt, before.lastSuccessAt);
  });
});

describe('reliability window: the score looks at the last 20 finished ingestions', () => {
  const SOURCE = 'ilostat';
  const addLog = async (status: 'success' | 'no_change' | 'failed' | 'skipped' | 'running', daysAgo: number) =>
    h.db.prisma.ingestionLog.create({
      data: {
        datasetVersionId: await h.versionId(SOURCE),
        status,
        startedAt: new Date(Date.now() - daysAgo * DAY),
        workflowId: `seed-${randomUUID()}`,
        runId: randomUUID(),
      },
    });

  test('19 reliable + 1 failed inside the window, 1 failed outside it, skipped/running ignored: 0.95', async () => {
    // Newest first: a running and a skipped run say nothing about the source; then 19 reliable runs
    // (success and no_change alike), the 20th most recent failed, and an older failure outside the window.
    await addLog('running', 0.1);
    await addLog('skipped', 0.2);
    for (let i = 1; i <= 19; i++) await addLog(i % 3 === 0 ? 'no_change' : 'success', i);
    await addLog('failed', 20);
    await addLog('failed', 21);
    await h.env.client.workflow.execute(reliabilityScores, {
      taskQueue: 'scheduler',
      workflowId: `test-policy-reliability-${randomUUID()}`,
    });
    // A window of 19 would say 1, of 21 0.9048, counting skipped runs 0.9, the oldest 20 0.9.
    assert.equal((await versionOf(h, SOURCE)).sourceReliabilityScore, 0.95);
  });
});

describe('maxInFlight bounds the running children of the master', () => {
  const asOf = new Date('2027-06-01T00:00:00.000Z');
  const MAX_IN_FLIGHT = 2;
  const DELAY_MS = 200;

  test(`${3 + 6} due versions against a slow source, maxInFlight ${MAX_IN_FLIGHT}: never more at once`, async () => {
    // Nine due versions: the three World Bank "current" ones and two more labels of each.
    await h.db.prisma.dataSource.updateMany({ where: { connector: { not: 'world-bank' } }, data: { isActive: false } });
    for (const source of Object.keys(WB_SOURCES)) {
      const current = await versionOf(h, source);
      for (const label of ['p1', 'p2']) {
        await h.db.prisma.datasetVersion.create({
          data: { datasetId: current.datasetId, dataSourceId: current.dataSourceId, version: label },
        });
      }
    }
    await quietSchedule(new Date(asOf.getTime() - 1000));

    let running = 0;
    let maxRunning = 0;
    h.setHandler(async (req) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        await new Promise((r) => setTimeout(r, DELAY_MS));
        return await h.worldBank.handler(req);
      } finally {
        running--;
      }
    });
    const handle = await h.env.client.workflow.start(masterScheduler, {
      taskQueue: 'scheduler',
      workflowId: `test-policy-inflight-${randomUUID()}`,
      args: [{ asOf: asOf.toISOString(), maxInFlight: MAX_IN_FLIGHT, childRetry: FAST_RETRY }],
    });
    let result: Awaited<ReturnType<typeof handle.result>>;
    try {
      result = await handle.result();
    } finally {
      h.setHandler(null);
    }
    assert.equal(result.scheduled, 9);
    assert.equal(result.errors, 0);

    // The master's own history: children started minus children closed, after every event.
    const events = (await handle.fetchHistory()).events ?? [];
    let open = 0;
    let maxOpen = 0;
    for (const e of events) {
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) open++;
      if (closesChild(e)) open--;
      maxOpen = Math.max(maxOpen, open);
    }
    assert.equal(maxOpen, MAX_IN_FLIGHT, `children open at once per the master's history: ${maxOpen}`);

    // What the source saw, and what the ingestions logged (each log row lies inside its child's lifetime).
    assert.ok(maxRunning <= MAX_IN_FLIGHT, `${maxRunning} requests at once at the source`);
    const logs = await h.db.prisma.ingestionLog.findMany({ where: { workflowId: { endsWith: '20270601T000000Z' } } });
    assert.equal(logs.length, 9);
    const edges = logs
      .flatMap((l) => [
        { at: l.startedAt.getTime(), d: 1 },
        { at: (l.finishedAt ?? l.startedAt).getTime(), d: -1 },
      ])
      .sort((a, b) => a.at - b.at || a.d - b.d);
    let overlap = 0;
    let maxOverlap = 0;
    for (const edge of edges) {
      overlap += edge.d;
      maxOverlap = Math.max(maxOverlap, overlap);
    }
    assert.ok(maxOverlap <= MAX_IN_FLIGHT, `${maxOverlap} ingestions logged as running at once`);
    assert.ok(maxOverlap >= 2, 'and the children really ran side by side');
  });
});
