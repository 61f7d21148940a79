// Timing that follows publication (issue #11), on a real Temporal dev server, PostgreSQL and the loopback
// World Bank fixture: the catalog marks cheap probes from the connector specs; a cheap probe is due at every
// master tick and reads only its one-record pages; a source's observed release interval is learned from its
// revisions and sets its probe interval (half of it, within the source's configured bounds, both pinned);
// reliability is n/a until there is history and follows each ingestion; the master's schedule runs once
// when it is created, and the start-up summary says when it runs next.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ensureSchedules, nextRunsSummary } from '../../operations/temporal/schedules';
import { VERSION_COLUMNS, versionStatuses } from '../../scripts/cli/versions';
import { CLEANUP_SCHEDULE_ID, MASTER_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID } from '../../workflows/ids';
import { type MasterInput, masterScheduler } from '../../workflows/master-scheduler';
import { textResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness, WB_SOURCES } from '../helpers/harness';
import { FAST_RETRY, runIngestion, versionOf } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

let h: Harness;
/** The catalog's probe_every_tick as loaded, before the tests change it. */
let loaded: Record<string, boolean>;
before(async () => {
  h = await startHarness();
  const sources = await h.db.prisma.dataSource.findMany({ select: { name: true, probeEveryTick: true } });
  loaded = Object.fromEntries(sources.map((s) => [s.name, s.probeEveryTick]));
  await h.db.prisma.dataSource.updateMany({ where: { connector: { not: 'world-bank' } }, data: { isActive: false } });
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

async function setSource(name: string, data: { probeEveryTick?: boolean; isActive?: boolean }) {
  await h.db.prisma.dataSource.update({ where: { name }, data });
}

describe('cheap probes: probed at every master tick', () => {
  const CHEAP = 'world_bank_agriculture';
  const PLAIN = 'world_bank_employment';

  test('the catalog takes probe_every_tick from the connector spec (World Bank, ILOSTAT, Comtrade; not FAOSTAT)', () => {
    assert.equal(loaded.world_bank_agriculture, true);
    assert.equal(loaded.ilostat, true);
    assert.equal(loaded.un_comtrade, true);
    assert.equal(loaded.faostat, false);
    assert.equal(loaded.openstreetmap, false);
  });

  test('after a successful check a cheap source is due at the next tick and reads only its probe; another is not due', async () => {
    await setSource('world_bank_business', { isActive: false });
    await setSource(PLAIN, { probeEveryTick: false });
    await setSource(CHEAP, { probeEveryTick: true });
    const first = await runMaster({ asOf: '2026-01-01T00:00:00.000Z' });
    assert.equal(first.scheduled, 2);
    const cheap = await versionOf(h, CHEAP);
    assert.ok(cheap.nextCheckAt && cheap.nextCheckAt.getTime() <= Date.now(), 'due at the next tick');
    const plain = await versionOf(h, PLAIN);
    assert.ok(plain.nextCheckAt && plain.nextCheckAt.getTime() > Date.now() + 300 * DAY, 'one cadence later');

    const pages: string[] = [];
    h.setHandler((req) => {
      pages.push(`${req.path.split('/').at(-1)} per_page=${req.query.get('per_page')}`);
      return h.worldBank.handler(req);
    });
    try {
      const tick = await runMaster({ asOf: new Date(Date.now() + 1000).toISOString() });
      assert.deepEqual([tick.checked, tick.scheduled, tick.unchanged], [1, 1, 1]);
      assert.deepEqual(pages, [`${WB_SOURCES[CHEAP]} per_page=1`], 'one one-record page: the probe, no fetch');
    } finally {
      h.setHandler(null);
    }
    // The due rule itself: a cheap probe is due whatever its next_check_at; without it, not before then.
    await h.db.prisma.datasetVersion.updateMany({
      where: { dataSource: { name: CHEAP } },
      data: { nextCheckAt: new Date(Date.now() + 100 * DAY) },
    });
    const asOf = new Date(Date.now() + 2000).toISOString();
    assert.equal((await runMaster({ asOf })).checked, 1);
    await setSource(CHEAP, { probeEveryTick: false });
    await h.db.prisma.datasetVersion.updateMany({
      where: { dataSource: { name: CHEAP } },
      data: { nextCheckAt: new Date(Date.now() + 100 * DAY) },
    });
    assert.equal((await runMaster({ asOf: new Date(Date.now() + 3000).toISOString() })).checked, 0);
    await setSource('world_bank_business', { isActive: true });
  });
});

describe('the observed release interval sets the probe interval', () => {
  const SOURCE = 'world_bank_employment';
  const INDICATOR = WB_SOURCES[SOURCE];

  /** A new release at the fixture: a changed value and a new lastupdated stamp. */
  function publish(n: number) {
    h.worldBank.setValue(INDICATOR, 'BJ', 2020, 10 + n);
    h.worldBank.setLastUpdated(`2026-0${n}-01`);
  }

  async function interval(): Promise<number> {
    const v = await versionOf(h, SOURCE);
    assert.ok(v.nextCheckAt && v.lastCheckedAt);
    return v.nextCheckAt.getTime() - v.lastCheckedAt.getTime();
  }

  async function setBounds(minHours: number, maxHours: number) {
    await h.db.prisma.dataSourceConfig.updateMany({
      where: { dataSource: { name: SOURCE } },
      data: { probeIntervalMinHours: minHours, probeIntervalMaxHours: maxHours },
    });
  }

  test('three revisions 10 days apart: shown beside the cadence; checked every 5 days, then held by max and min', async () => {
    await setSource(SOURCE, { probeEveryTick: false });
    const v = await versionOf(h, SOURCE);
    for (let n = v.currentRevision + 1; v.currentRevision + 3 >= n; n++) {
      publish(n);
      const r = await runIngestion(h, SOURCE);
      assert.equal(r.status, 'success');
    }
    const rev = (await versionOf(h, SOURCE)).currentRevision;
    // Date the last three revisions 10 days apart, the last one now.
    const now = Date.now();
    for (const [back, revision] of [
      [20, rev - 2],
      [10, rev - 1],
      [0, rev],
    ] as const) {
      await h.db.prisma.datasetRevision.updateMany({
        where: { datasetVersionId: v.id, revision },
        data: { createdAt: new Date(now - back * DAY) },
      });
    }
    // Earlier revisions (from the cheap-probe test's load) would add gaps: keep exactly two.
    await h.db.prisma.datasetRevision.updateMany({
      where: { datasetVersionId: v.id, revision: { lt: rev - 2 } },
      data: { createdAt: new Date(now - 30 * DAY) },
    });
    const [status] = await versionStatuses(h.db, { dataSourceId: v.dataSourceId });
    assert.ok(status);
    assert.equal(status.observedIntervalMs, 10 * DAY);
    const cadence = VERSION_COLUMNS.find((c) => c.header === 'CADENCE');
    assert.equal(cadence?.value(status), 'annual (observed 10 d)');
    const [read] = (
      await h.db.pool.query(
        "SELECT observed_release_interval::text AS observed FROM tedi_read.sources WHERE source = 'world_bank_employment'",
      )
    ).rows;
    assert.equal(read.observed, '10 days');

    // The next check after a successful one (no change here) is half the observed interval: 5 days.
    await runIngestion(h, SOURCE);
    assert.equal(await interval(), 5 * DAY);
    // Held at the configured maximum (48 h) and minimum (200 h).
    await setBounds(24, 48);
    await runIngestion(h, SOURCE);
    assert.equal(await interval(), 48 * HOUR);
    await setBounds(200, 720);
    await runIngestion(h, SOURCE);
    assert.equal(await interval(), 200 * HOUR);
    await setBounds(24, 720);
  });
});

describe('reliability: n/a until there is history, recomputed after each ingestion', () => {
  const SOURCE = 'world_bank_business';

  test('null and "n/a" before the first run; 0 right after a failure; 0.5 after a success', async () => {
    await setSource(SOURCE, { isActive: true });
    const v = await versionOf(h, SOURCE);
    assert.equal(v.sourceReliabilityScore, null);
    const [before] = await versionStatuses(h.db, { dataSourceId: v.dataSourceId });
    assert.ok(before);
    assert.equal(VERSION_COLUMNS.find((c) => c.header === 'RELIABILITY')?.value(before), 'n/a');

    h.setHandler((req) =>
      req.path.includes(WB_SOURCES[SOURCE]) ? textResponse('down', 502) : h.worldBank.handler(req),
    );
    try {
      await assert.rejects(runIngestion(h, SOURCE));
    } finally {
      h.setHandler(null);
    }
    assert.equal((await versionOf(h, SOURCE)).sourceReliabilityScore, 0);
    await runIngestion(h, SOURCE);
    assert.equal((await versionOf(h, SOURCE)).sourceReliabilityScore, 0.5);
  });
});

describe('the master schedule', () => {
  test('TEDI_MASTER_FIRST_RUN=next-interval: created without a run', async () => {
    const settings = {
      masterInterval: '3650d',
      logRetentionDays: 90,
      maxChildrenInFlight: 20,
      firstRunAtCreation: false,
    };
    assert.equal((await ensureSchedules(h.env.client, settings))[MASTER_SCHEDULE_ID], 'created');
    await new Promise((r) => setTimeout(r, 1500));
    const master = h.env.client.schedule.getHandle(MASTER_SCHEDULE_ID);
    assert.equal((await master.describe()).info.recentActions.length, 0);
    for (const id of [MASTER_SCHEDULE_ID, CLEANUP_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID]) {
      await h.env.client.schedule.getHandle(id).delete();
    }
  });

  test('runs once when it is created, not an interval later; an update runs nothing; the summary names the next runs', async () => {
    const settings = { masterInterval: '3650d', logRetentionDays: 90, maxChildrenInFlight: 20 };
    const outcomes = await ensureSchedules(h.env.client, settings);
    assert.equal(outcomes[MASTER_SCHEDULE_ID], 'created');
    const master = h.env.client.schedule.getHandle(MASTER_SCHEDULE_ID);
    await waitFor('the first master run, started at creation', async () => {
      const d = await master.describe();
      return d.info.recentActions.length === 1;
    });
    const cleanup = await h.env.client.schedule.getHandle(CLEANUP_SCHEDULE_ID).describe();
    assert.equal(cleanup.info.recentActions.length, 0, 'a calendar schedule waits for its time');

    assert.equal((await ensureSchedules(h.env.client, settings))[MASTER_SCHEDULE_ID], 'updated');
    const lines = await nextRunsSummary(h.env.client);
    assert.match(
      lines[0] ?? '',
      /^tedi-master: last run \d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z; next runs \d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z/,
    );
    assert.match(lines[1] ?? '', /^tedi-cleanup-logs: next runs (\d{4}-\d{2}-\d{2}T03:15Z(, )?){3}$/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await master.describe()).info.recentActions.length, 1, 'the update triggered nothing');
    // Let the triggered master finish before the servers stop.
    const run = (await master.describe()).info.recentActions[0];
    if (run)
      await h.env.client.workflow
        .getHandle(run.action.workflow.workflowId, run.action.workflow.firstExecutionRunId)
        .result();
  });
});
