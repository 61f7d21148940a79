// The production build (issue 12): start-up time and memory of a worker process run as compiled
// JavaScript (`node dist/workers/main.js`, what the Docker image runs) beside what it replaces
// (`node --import tsx workers/main.ts`) and beside floors, all measured in the same run.
//
//   npx tsx test/bench/compiled-worker.bench.ts [--runs 3] [--queues agriculture] [--no-build]
//
// First `npm run build` (timed; --no-build uses the dist/ already there), then a real embedded PostgreSQL
// (a fresh migrated database) and a Temporal dev server, both on loopback. Each variant is started --runs
// times, in turn, with TEDI_WORKER_QUEUES=--queues; for each start:
//   - start = spawn → the "workers running" readiness line workers/main.ts prints (connected to both
//     servers, workflow bundle loaded, workers created);
//   - RSS at that line, RSS idle 12 s later (past the 10 s the SDK keeps a parsed copy of the bundle after
//     Worker.create), and the peak (VmHWM) by then, from /proc/<pid>/status.
// Floors (spawn → a `ready` line, RSS 3 s after it): a bare `node` process, and `node --import tsx` that
// loads nothing (the TypeScript loader's own cost, which the compiled worker no longer pays).
// Figures are printed (median of the runs, the range in brackets); nothing is asserted.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../lib/infra/postgres';
import { startDevServer } from '../../lib/infra/temporal-server';
import { TASK_QUEUES } from '../../lib/verticals';
import { startTestDatabase } from '../helpers/database';
import { memoryOf, sleep, stopProcess, waitForLine } from './child-process';

const ROOT = path.resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MiB).toFixed(0);
const READY = 'workers running';
const IDLE_MS = 12_000;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Start {
  startMs: number;
  readyRss: number;
  idleRss: number;
  hwm: number;
}

/** One start of `node <args>`: spawn → `marker`, RSS then, RSS and peak `settleMs` later; then SIGTERM. */
async function measureStart(args: string[], env: NodeJS.ProcessEnv, marker: string, settleMs: number): Promise<Start> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await waitForLine(child, marker, 180_000);
    const startMs = performance.now() - started;
    const readyRss = memoryOf(child.pid!).rss;
    await sleep(settleMs);
    const { rss: idleRss, hwm } = memoryOf(child.pid!);
    return { startMs, readyRss, idleRss, hwm };
  } finally {
    await stopProcess(child);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** "median (min–max)" of one figure over the runs. */
function spread(xs: number[], fmt: (x: number) => string): string {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return xs.length > 1 ? `${fmt(median(xs))} (${fmt(lo)}–${fmt(hi)})` : fmt(xs[0]!);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mbs = (bytes: number) => `${mb(bytes)} MB`;

function build(): number {
  const started = performance.now();
  const run = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`npm run build failed (${run.status ?? run.signal})`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const runs = Number(option('runs') ?? '3');
  if (!Number.isInteger(runs) || runs <= 0) throw new Error('--runs takes a positive whole number');
  const queuesOption = option('queues') ?? 'agriculture';
  const queues = queuesOption === 'all' ? TASK_QUEUES.join(',') : queuesOption;
  const buildMs = process.argv.includes('--no-build') ? undefined : build();
  const compiledMain = path.join(ROOT, 'dist', 'workers', 'main.js');
  const bundle = path.join(ROOT, 'dist', 'workflow-bundle.js');
  for (const file of [compiledMain, bundle]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (or drop --no-build)`);
  }

  const temporal = await startDevServer({ port: await freePort() });
  const database = await startTestDatabase();
  try {
    console.log(
      `compiled worker, TEDI_WORKER_QUEUES=${queues}, ${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(2)}, ` +
        `${runs} start(s) each: median (min–max)`,
    );
    if (buildMs !== undefined) console.log(`npm run build (tsc + workflow bundle): ${seconds(buildMs)}`);

    const idle = "console.log('ready'); setInterval(() => {}, 1 << 30)";
    const floors: Record<'bare' | 'tsx', Start[]> = { bare: [], tsx: [] };
    for (let i = 0; i < runs; i++) {
      floors.bare.push(await measureStart(['-e', idle], process.env, 'ready', 3000));
      floors.tsx.push(await measureStart(['--import', 'tsx', '-e', idle], process.env, 'ready', 3000));
    }

    const env = {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEDI_WORKER_QUEUES: queues,
      TEDI_SECRET_KEY: 'c'.repeat(64),
      LOG_LEVEL: 'warn',
    };
    const workers: Record<'tsx' | 'compiled', Start[]> = { tsx: [], compiled: [] };
    // In turn, so a drift of the machine's load touches both variants alike.
    for (let i = 0; i < runs; i++) {
      workers.tsx.push(
        await measureStart(['--import', 'tsx', path.join(ROOT, 'workers', 'main.ts')], env, READY, IDLE_MS),
      );
      workers.compiled.push(await measureStart([compiledMain], env, READY, IDLE_MS));
    }

    const col = (label: string, starts: Start[], pick: (s: Start) => number, fmt: (x: number) => string) =>
      `${label}${spread(starts.map(pick), fmt)}`;
    console.log('floors (spawn → ready line; RSS 3 s after it):');
    for (const [label, starts] of [
      ['  bare node                          ', floors.bare],
      ['  node --import tsx, nothing loaded  ', floors.tsx],
    ] as const) {
      console.log(
        `${col(label, starts, (s) => s.startMs, seconds).padEnd(70)} ${col('RSS ', starts, (s) => s.idleRss, mbs)}`,
      );
    }
    console.log(
      `worker process (spawn → "${READY}"; RSS at that line, idle ${IDLE_MS / 1000} s later, peak VmHWM by then):`,
    );
    for (const [label, starts] of [
      ['  node --import tsx workers/main.ts  ', workers.tsx],
      ['  node dist/workers/main.js          ', workers.compiled],
    ] as const) {
      console.log(
        `${col(label, starts, (s) => s.startMs, seconds).padEnd(70)} ` +
          `${col('RSS ready ', starts, (s) => s.readyRss, mbs)}, ${col('idle ', starts, (s) => s.idleRss, mbs)}, ` +
          `${col('peak ', starts, (s) => s.hwm, mbs)}`,
      );
    }
    const m = (starts: Start[], pick: (s: Start) => number) => median(starts.map(pick));
    const bareRss = m(floors.bare, (s) => s.idleRss);
    console.log(
      `compiled / tsx: start ${(m(workers.compiled, (s) => s.startMs) / m(workers.tsx, (s) => s.startMs)).toFixed(2)}×, ` +
        `idle RSS ${(m(workers.compiled, (s) => s.idleRss) / m(workers.tsx, (s) => s.idleRss)).toFixed(2)}×, ` +
        `peak ${(m(workers.compiled, (s) => s.hwm) / m(workers.tsx, (s) => s.hwm)).toFixed(2)}×; ` +
        `compiled idle RSS above bare node: ${mb(m(workers.compiled, (s) => s.idleRss) - bareRss)} MB, ` +
        `start above bare node: ${seconds(m(workers.compiled, (s) => s.startMs) - m(floors.bare, (s) => s.startMs))}`,
    );
  } finally {
    await database.stop();
    await temporal.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
