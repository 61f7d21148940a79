// The Prometheus endpoint end to end, on real servers: the Temporal runtime is installed with a metrics
// address before anything connects, the project's workers run ingestions (one that loads rows, one that
// finds no change, five that fail and open a breaker), a version is made overdue, the master schedule
// misses ticks, and one monitoring pass sets the gauges. Then /metrics is scraped over loopback.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { freePort } from '../../lib/infra/postgres';
import { installRuntime } from '../../lib/logging';
import { METRIC } from '../../lib/monitoring/metrics';
import { type Monitor, startMonitor } from '../../operations/monitoring/monitor';
import { ensureSchedule } from '../../operations/temporal/schedules';
import { MASTER_SCHEDULE_ID } from '../../workflows/ids';
import { textResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness, WB_SOURCES } from '../helpers/harness';
import { runIngestion } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

let h: Harness;
let metricsUrl: string;
let monitor: Monitor | undefined;

before(async () => {
  // Before startHarness: the runtime is created once per process, by the first connection.
  const port = await freePort();
  const settings = installRuntime({
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    metricsBindAddress: `127.0.0.1:${port}`,
  });
  assert.equal(settings.metricsBindAddress, `127.0.0.1:${port}`, 'nothing installed the runtime before this test');
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  h = await startHarness();
});

after(async () => {
  await monitor?.stop();
  await h?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, key, val] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = val!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum over the series of `name` whose labels include `labels` (activity tags split some series further). */
function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.length ? matching.reduce((sum, s) => sum + s.value, 0) : undefined;
}

async function scrape(): Promise<Sample[]> {
  const res = await fetch(metricsUrl);
  assert.equal(res.status, 200);
  return parseExposition(await res.text());
}

test('the SDK and TEDI metrics are served on one loopback /metrics endpoint', async () => {
  const loaded = await runIngestion(h, 'world_bank_agriculture');
  assert.equal(loaded.status, 'success');
  const again = await runIngestion(h, 'world_bank_agriculture');
  assert.equal(again.status, 'no_change');

  const failing = 'world_bank_employment';
  h.setHandler((req) =>
    req.path.includes(WB_SOURCES[failing]) ? textResponse('upstream down', 502) : h.worldBank.handler(req),
  );
  try {
    for (let i = 0; i < 5; i++) await assert.rejects(runIngestion(h, failing));
  } finally {
    h.setHandler(null);
  }
  assert.notEqual(
    (await h.db.prisma.datasetVersion.findUniqueOrThrow({ where: { id: await h.versionId(failing) } })).breakerOpenedAt,
    null,
  );

  // Last checked successfully three years ago: overdue whatever its cadence.
  await h.db.prisma.datasetVersion.update({
    where: { id: await h.versionId('world_bank_business') },
    data: { lastSuccessAt: new Date(Date.now() - 3 * 365 * 86_400_000) },
  });

  // A master schedule whose first run never finishes (nobody polls its queue): with overlap SKIP, the
  // ticks after it are not run, which is what a stuck master looks like.
  await ensureSchedule(h.env.client, {
    scheduleId: MASTER_SCHEDULE_ID,
    spec: { intervals: [{ every: '2s' }] },
    action: { type: 'startWorkflow', workflowType: 'masterScheduler', taskQueue: 'tedi-test-unpolled', args: [{}] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  });
  monitor = startMonitor({ db: h.db, client: h.env.client, ticks: { graceMs: 500 } });
  const snapshot = await waitFor('a run and two skipped ticks of the master schedule', async () => {
    const s = await monitor!.refresh();
    return (s.ticks?.actual.length ?? 0) >= 1 && (s.ticks?.missed.length ?? 0) >= 2 && s;
  });
  assert.ok(snapshot.health, 'the health pass succeeded');
  const overdue = snapshot.health.versions.filter((v) => v.freshness === 'overdue').map((v) => v.source);
  assert.deepEqual(overdue, ['world_bank_business']);

  const samples = await scrape();
  const agriculture = { source: 'world_bank_agriculture' };
  assert.equal(sumOf(samples, METRIC.rowsLoaded, { ...agriculture, vertical: 'agriculture', kind: 'added' }), 20);
  assert.equal(sumOf(samples, METRIC.rowsLoaded, { ...agriculture, kind: 'removed' }), 0);
  assert.ok((sumOf(samples, METRIC.bytesFetched, agriculture) ?? 0) > 0, 'bytes fetched');
  assert.equal(sumOf(samples, METRIC.ingestions, { ...agriculture, status: 'success' }), 1);
  assert.equal(sumOf(samples, METRIC.ingestions, { ...agriculture, status: 'no_change' }), 1);
  assert.equal(sumOf(samples, METRIC.ingestions, { source: failing, status: 'failed' }), 5);
  assert.equal(sumOf(samples, `${METRIC.ingestionDuration}_count`, { ...agriculture, status: 'success' }), 1);
  assert.ok((sumOf(samples, `${METRIC.ingestionDuration}_sum`, { ...agriculture, status: 'success' }) ?? 0) > 0);
  assert.equal(sumOf(samples, METRIC.noChangeRatio, agriculture), 0.5);
  assert.equal(sumOf(samples, METRIC.openBreakers, { vertical: 'employment' }), 1);
  assert.equal(sumOf(samples, METRIC.openBreakers, { vertical: 'agriculture' }), 0);
  assert.equal(sumOf(samples, METRIC.overdueVersions, { vertical: 'business' }), 1);
  assert.equal(sumOf(samples, METRIC.overdueVersions, { vertical: 'employment' }), 0);
  assert.equal(sumOf(samples, METRIC.missedMasterTicks), snapshot.ticks?.missed.length);

  // The SDK's own series, under the temporal_ prefix.
  assert.ok((sumOf(samples, 'temporal_workflow_completed') ?? 0) >= 1, 'temporal_workflow_completed');
  assert.ok(samples.some((s) => s.name.startsWith('temporal_activity_execution_latency')));
});
