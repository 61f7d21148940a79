// The master's fan-out at scale (issue 8, P3): N dataset versions of which M are due, each due one a real
// ingestDatasetVersion child against the loopback World Bank fixture (one indicator, one country, 20 rows),
// on the Temporal dev server, embedded PostgreSQL and the project's own workers (test/helpers/harness.ts).
// The floor, measured in the same run on the same server: M starts of an empty workflow (100 at a time,
// each awaited to completion) on a worker of its own. Target: fan-out <= 3x the floor.
//
//   npx tsx test/bench/fanout.bench.ts [--versions 10000] [--due 1000] [--in-flight 20]
//
// It prints figures and asserts nothing.
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { masterScheduler } from '../../workflows/master-scheduler';
import { masterRuns, seedFanout } from '../helpers/fanout';
import { startHarness } from '../helpers/harness';
import { FAST_RETRY } from '../helpers/ingest';
import type { emptyWorkflow } from './empty-workflow';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const VERSIONS = option('versions', 10_000);
const DUE = option('due', 1_000);
const IN_FLIGHT = option('in-flight', 20);
const EMPTY_QUEUE = 'bench-empty';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const n = (x: number) => x.toLocaleString('en');

async function main() {
  const h = await startHarness();
  const emptyWorker = await Worker.create({
    connection: h.env.nativeConnection,
    taskQueue: EMPTY_QUEUE,
    workflowsPath: require.resolve('./empty-workflow'),
  });
  let stopEmpty: () => void = () => undefined;
  const emptyRunning = emptyWorker.runUntil(new Promise<void>((resolve) => (stopEmpty = resolve)));
  try {
    const client = h.env.client;
    // `count` empty workflows, each started and awaited, 100 at a time (more at once only makes the
    // dev server shed requests; the time is the same).
    const runEmpty = async (count: number) => {
      let next = 0;
      const lane = async () => {
        while (next++ < count) {
          const w = await client.workflow.start<typeof emptyWorkflow>('emptyWorkflow', {
            taskQueue: EMPTY_QUEUE,
            workflowId: `bench-empty-${randomUUID()}`,
          });
          await w.result();
        }
      };
      await Promise.all(Array.from({ length: Math.min(100, count) }, lane));
    };
    // Warm-up: the empty worker's first tasks, the server's caches.
    await runEmpty(50);

    console.log(
      `fan-out: ${n(VERSIONS)} dataset versions, ${n(DUE)} due, maxInFlight ${IN_FLIGHT}, master defaults otherwise`,
    );
    let t = performance.now();
    await runEmpty(DUE);
    const floorMs = performance.now() - t;

    const asOf = '2030-01-01T00:00:00.000Z';
    t = performance.now();
    await seedFanout(h, { total: VERSIONS, due: DUE, asOf });
    const seedMs = performance.now() - t;

    t = performance.now();
    const handle = await client.workflow.start(masterScheduler, {
      taskQueue: 'scheduler',
      workflowId: `bench-fanout-${randomUUID()}`,
      args: [{ asOf, maxInFlight: IN_FLIGHT, childRetry: FAST_RETRY }],
    });
    const result = await handle.result();
    const masterMs = performance.now() - t;

    const runs = await masterRuns(client, handle.workflowId, handle.firstExecutionRunId);
    const maxEvents = Math.max(...runs.map((r) => r.events));
    const maxInFlight = Math.max(...runs.map((r) => r.maxInFlight));
    const children = runs.reduce((sum, r) => sum + r.childIds.length, 0);
    const { rows } = await h.db.pool.query<{ status: string; n: string }>(
      `SELECT status::text, count(*) AS n FROM ingestion_logs WHERE workflow_id LIKE 'ingest-%-20300101T000000Z'
        GROUP BY 1 ORDER BY 1`,
    );

    console.log(`  seed ${n(VERSIONS)} versions in PostgreSQL: ${seconds(seedMs)}`);
    console.log(`  master result: ${JSON.stringify(result)}`);
    console.log(`  ingestion logs: ${rows.map((r) => `${r.status} ${r.n}`).join(', ')}`);
    console.log(
      `  master wall time ${seconds(masterMs)}, ${(children / (masterMs / 1000)).toFixed(1)} children/s, ` +
        `max in flight ${maxInFlight} (bound ${IN_FLIGHT})`,
    );
    console.log(
      `  ${runs.length} master runs (continue-as-new), ${n(children)} children initiated, ` +
        `max events per run ${n(maxEvents)} (limit 10,240); per run: ${runs.map((r) => r.events).join(', ')}`,
    );
    console.log(
      `  floor: ${n(DUE)} starts of an empty workflow, all completed: ${seconds(floorMs)} ` +
        `(${(DUE / (floorMs / 1000)).toFixed(1)} workflows/s)`,
    );
    console.log(`  ratio fan-out / floor: ${(masterMs / floorMs).toFixed(1)}x (target <= 3x)`);
  } finally {
    stopEmpty();
    await emptyRunning.catch(() => undefined);
    await h.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
