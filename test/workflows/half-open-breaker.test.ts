// The half-open breaker on a real Temporal dev server, PostgreSQL and the loopback World Bank fixture:
// the cool-down (6 h by default, per source in data_source_configs) pinned on both sides in the due rule,
// then the whole life cycle through the master (skips logged with their reason, one probe-only check once
// the cool-down is over, a failed probe restarting it, a successful one closing the breaker and recorded
// by the operator console), and `tedi reset --all`. Hours pass by the master's `asOf` (its nominal time):
// the cool-down is compared with it, never with a clock.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { schedulingActivities } from '../../activities/scheduling/due-versions';
import { ensureOperatorConsole } from '../../operations/temporal/operator-console';
import { operatorStatusQuery } from '../../workflows/definitions';
import { OPERATOR_WORKFLOW_ID } from '../../workflows/ids';
import { type MasterInput, masterScheduler } from '../../workflows/master-scheduler';
import { textResponse } from '../fixtures/fixture-server';
import { runTedi, tediOk } from '../helpers/cli';
import { type Harness, startHarness, TEST_SECRET_KEY, WB_SOURCES } from '../helpers/harness';
import { FAST_RETRY, logsOf, versionOf } from '../helpers/ingest';

const HOUR = 3600_000;
const COOL_DOWN = 6 * HOUR;
const SOURCE = 'world_bank_business';

let h: Harness;
let cliEnv: NodeJS.ProcessEnv;
before(async () => {
  h = await startHarness();
  await h.db.prisma.dataSource.updateMany({ where: { connector: { not: 'world-bank' } }, data: { isActive: false } });
  // Only SOURCE takes part: the other two are left out so the master's counts are about it alone.
  await h.db.prisma.dataSource.updateMany({
    where: { name: { in: Object.keys(WB_SOURCES).filter((s) => s !== SOURCE) } },
    data: { isActive: false },
  });
  await h.db.prisma.dataSource.updateMany({ data: { probeEveryTick: false } });
  await ensureOperatorConsole(h.env.client);
  cliEnv = {
    ...process.env,
    DATABASE_URL: h.databaseUrl,
    TEMPORAL_ADDRESS: h.env.address,
    TEDI_SECRET_KEY: TEST_SECRET_KEY,
    LOG_LEVEL: 'warn',
  };
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

const iso = (ms: number) => new Date(ms).toISOString();

async function due(asOf: number) {
  const { findDueVersions } = schedulingActivities({ db: h.db, secretKey: TEST_SECRET_KEY });
  const page = await findDueVersions({ asOf: iso(asOf), afterId: 0, limit: 100 });
  return page.versions.find((v) => v.source === SOURCE);
}

async function setBreaker(data: {
  breakerOpenedAt: Date | null;
  breakerProbedAt?: Date | null;
  consecutiveFailures?: number;
}) {
  await h.db.prisma.datasetVersion.updateMany({
    where: { dataSource: { name: SOURCE } },
    data: { breakerProbedAt: null, consecutiveFailures: 5, nextCheckAt: null, ...data },
  });
}

async function setCoolDown(minutes: number) {
  await h.db.prisma.dataSourceConfig.updateMany({
    where: { dataSource: { name: SOURCE } },
    data: { breakerCooldownMinutes: minutes },
  });
}

/** World Bank requests for SOURCE's indicator: the probe reads one-record pages, the fetch full ones. */
function countRequests() {
  const seen = { probe: 0, fetch: 0 };
  const tally = (perPage: string | null) => {
    if (perPage === '1') seen.probe++;
    else seen.fetch++;
  };
  return { seen, tally };
}

describe('the cool-down (breaker_next_probe_at, in the due rule)', () => {
  const opened = Date.parse('2027-05-01T00:00:00.000Z');

  test('the catalog creates every source with the documented default: 360 minutes', async () => {
    const configs = await h.db.prisma.dataSourceConfig.findMany({ select: { breakerCooldownMinutes: true } });
    assert.ok(configs.length > 3);
    assert.deepEqual(new Set(configs.map((c) => c.breakerCooldownMinutes)), new Set([360]));
  });

  test('6 h after the opening the probe is due; 1 ms before it is a skip, saying when the probe comes', async () => {
    await setBreaker({ breakerOpenedAt: new Date(opened) });
    const before = await due(opened + COOL_DOWN - 1);
    assert.deepEqual(
      { open: before?.breakerOpen, probeDue: before?.probeDue, next: before?.nextProbeAt },
      { open: true, probeDue: false, next: iso(opened + COOL_DOWN) },
    );
    assert.equal((await due(opened + COOL_DOWN))?.probeDue, true);
  });

  test('after a failed probe the cool-down counts from the probe', async () => {
    const probed = opened + 7 * HOUR;
    await setBreaker({ breakerOpenedAt: new Date(opened), breakerProbedAt: new Date(probed) });
    assert.equal((await due(probed + COOL_DOWN - 1))?.probeDue, false);
    assert.equal((await due(probed + COOL_DOWN))?.probeDue, true);
  });

  test('per source: breaker_cooldown_minutes = 60 moves the boundary to 1 h', async () => {
    await setBreaker({ breakerOpenedAt: new Date(opened) });
    await setCoolDown(60);
    try {
      assert.equal((await due(opened + HOUR - 1))?.probeDue, false);
      assert.equal((await due(opened + HOUR))?.probeDue, true);
    } finally {
      await setCoolDown(360);
    }
  });

  test('a closed breaker is never a probe', async () => {
    await setBreaker({ breakerOpenedAt: null, consecutiveFailures: 0 });
    assert.deepEqual(
      { open: (await due(opened))?.breakerOpen, probeDue: (await due(opened))?.probeDue },
      { open: false, probeDue: false },
    );
  });
});

describe('the life cycle through the master', () => {
  test('skips are logged; one probe-only check after the cool-down; failure restarts it; success closes it', async () => {
    const id = await h.versionId(SOURCE);
    const down = countRequests();
    h.setHandler((req) => {
      if (!req.path.includes(WB_SOURCES[SOURCE])) return h.worldBank.handler(req);
      down.tally(req.query.get('per_page'));
      return textResponse('upstream down', 502);
    });
    let openedAt: Date;
    try {
      // Five failed ticks open the breaker.
      await setBreaker({ breakerOpenedAt: null, consecutiveFailures: 0 });
      for (let i = 1; i <= 5; i++) {
        const r = await runMaster({ asOf: `2026-01-0${i}T00:00:00.000Z` });
        assert.equal(r.errors, 1, `tick ${i}`);
      }
      openedAt = (await versionOf(h, SOURCE)).breakerOpenedAt as Date;
      assert.ok(openedAt, 'the fifth failure opened the breaker');
      const nextProbe = iso(openedAt.getTime() + COOL_DOWN);

      // Inside the cool-down: skipped, and the skip is a log row that says why.
      const skipAsOf = openedAt.getTime() + COOL_DOWN - 1000;
      const skipped = await runMaster({ asOf: iso(skipAsOf) });
      assert.deepEqual([skipped.skipped, skipped.scheduled, skipped.errors], [1, 0, 0]);
      const skipRow = (await logsOf(h, SOURCE)).at(-1);
      assert.equal(skipRow?.status, 'skipped');
      assert.equal(skipRow?.errorMessage, `breaker open since ${openedAt.toISOString()}, next probe at ${nextProbe}`);
      // The same tick run again (a retried master) logs it once.
      await runMaster({ asOf: iso(skipAsOf) });
      assert.equal((await logsOf(h, SOURCE)).filter((l) => l.status === 'skipped').length, 1);

      // The cool-down is over: one probe-only check, which fails; the breaker stays open since the
      // opening and the cool-down restarts from the probe.
      down.seen.probe = 0;
      down.seen.fetch = 0;
      const probeTick = await runMaster({ asOf: nextProbe });
      assert.deepEqual([probeTick.scheduled, probeTick.errors, probeTick.skipped], [1, 1, 0]);
      assert.deepEqual(down.seen, { probe: 1, fetch: 0 }, 'the probe activity only, one attempt, no fetch');
      const afterFailedProbe = await versionOf(h, SOURCE);
      assert.equal(afterFailedProbe.breakerOpenedAt?.toISOString(), openedAt.toISOString());
      assert.equal(afterFailedProbe.consecutiveFailures, 6);
      const probedAt = afterFailedProbe.breakerProbedAt as Date;
      assert.ok(probedAt && probedAt > openedAt);
      const failedProbe = (await logsOf(h, SOURCE)).at(-1);
      assert.equal(failedProbe?.status, 'failed');
      assert.match(
        String(failedProbe?.errorMessage),
        new RegExp(
          `^half-open probe: .*HTTP 502.*; breaker stays open \\(since ${openedAt.toISOString()}\\), next probe at ${iso(probedAt.getTime() + COOL_DOWN)}$`,
        ),
      );
      // The next tick inside the new cool-down is a skip again.
      const again = await runMaster({ asOf: iso(probedAt.getTime() + COOL_DOWN - 1000) });
      assert.deepEqual([again.skipped, again.scheduled], [1, 0]);
    } finally {
      h.setHandler(null);
    }

    // The source is back: the next probe closes the breaker, without fetching anything.
    const up = countRequests();
    h.setHandler((req) => {
      if (req.path.includes(WB_SOURCES[SOURCE])) up.tally(req.query.get('per_page'));
      return h.worldBank.handler(req);
    });
    try {
      const probedAt = (await versionOf(h, SOURCE)).breakerProbedAt as Date;
      const revisionBefore = (await versionOf(h, SOURCE)).currentRevision;
      // A second past the cool-down: tick ids have second precision, and the failed probe's tick (the
      // opening + 6 h) may fall in the same second as the probe + 6 h here, a moment later.
      const closing = await runMaster({ asOf: iso(probedAt.getTime() + COOL_DOWN + 1000) });
      assert.deepEqual([closing.scheduled, closing.errors], [1, 0]);
      assert.deepEqual(up.seen, { probe: 1, fetch: 0 });
      const closed = await versionOf(h, SOURCE);
      assert.equal(closed.breakerOpenedAt, null);
      assert.equal(closed.breakerProbedAt, null);
      assert.equal(closed.consecutiveFailures, 0);
      assert.equal(closed.currentRevision, revisionBefore, 'a probe loads nothing');
      assert.ok(closed.nextCheckAt && closed.nextCheckAt.getTime() <= Date.now(), 'due at the next master run');
      const closeRow = (await logsOf(h, SOURCE)).at(-1);
      assert.equal(closeRow?.status, 'success');
      assert.match(
        String(closeRow?.errorMessage),
        /^half-open probe answered: breaker closed \(open since .* after 6 failures\); due at the next master run$/,
      );
      // Recorded the way resets are: an action in the operator console's history and status.
      const status = await h.env.client.workflow.getHandle(OPERATOR_WORKFLOW_ID).query(operatorStatusQuery);
      const recorded = status.recent.find((a) => a.action === 'breakerClosed');
      assert.equal(recorded?.source, SOURCE);
      assert.match(
        String(recorded?.result),
        /^breaker closed by a half-open probe; due at the next master run \(ingest-world_bank_business-current-/,
      );

      // The next tick ingests it in full.
      const next = await runMaster({ asOf: iso(Date.now() + 1000) });
      assert.deepEqual([next.scheduled, next.errors], [1, 0]);
      assert.equal((await versionOf(h, SOURCE)).consecutiveFailures, 0);
      assert.ok(id > 0);
    } finally {
      h.setHandler(null);
    }
  });
});

describe('tedi reset --all', () => {
  test('closes every open breaker through the operator console, one recorded action each', async () => {
    await h.db.prisma.datasetVersion.updateMany({
      where: { dataSource: { name: { in: ['world_bank_business', 'world_bank_employment'] } } },
      data: { breakerOpenedAt: new Date(), consecutiveFailures: 5 },
    });
    const run = await tediOk(['reset', '--all'], { env: cliEnv });
    assert.deepEqual(run.stdout.trim().split('\n').sort(), [
      'world_bank_business/current: breaker closed (was open after 5 failures); due now (reset --all) (recorded by tedi-operator)',
      'world_bank_employment/current: breaker closed (was open after 5 failures); due now (reset --all) (recorded by tedi-operator)',
    ]);
    const open = await h.db.prisma.datasetVersion.count({ where: { breakerOpenedAt: { not: null } } });
    assert.equal(open, 0);
    const status = await h.env.client.workflow.getHandle(OPERATOR_WORKFLOW_ID).query(operatorStatusQuery);
    assert.deepEqual(
      status.recent
        .slice(0, 2)
        .map((a) => [a.action, a.source])
        .sort(),
      [
        ['resetBreaker', 'world_bank_business'],
        ['resetBreaker', 'world_bank_employment'],
      ],
    );
    const none = await tediOk(['reset', '--all'], { env: cliEnv });
    assert.equal(none.stdout.trim(), 'No open breakers: nothing to reset.');
  });

  test('usage: neither a source nor --all, or both, exit 2 naming the arguments', async () => {
    const neither = await runTedi(['reset'], { env: cliEnv });
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /<source>: missing; name the source to reset, or pass --all/);
    const both = await runTedi(['reset', SOURCE, '--all'], { env: cliEnv });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /<source> and --all: give one source to reset, or --all/);
  });
});
