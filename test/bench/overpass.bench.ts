// Streaming throughput and peak memory of the Overpass connector on one big synthetic response.
//
//   npx tsx test/bench/overpass.bench.ts [--buildings 200000] [--points 5] [--chunk 65536]
//
// A server process builds an Overpass JSON body of N square-ish buildings (P points each) and serves it from
// the fixture server on loopback; for each phase a fresh process runs the connector against it and reports
// its own peak RSS, so the server's copy of the body and the previous phase never count:
//   fetch            – HTTP + streaming parse + slimming (what the fetch activity does before COPY);
//   fetch+transform  – the same, then each record through a JSON round trip (as staging does), transform and
//                      the row hash: the CPU work of both streaming stages, without PostgreSQL.
// It prints figures and asserts nothing.
import { fork } from 'node:child_process';
import { rowHash } from '../../activities/ingestion/row-hash';
import { overpassConnector } from '../../sources/specs/overpass/connector';
import { startFixtureServer } from '../fixtures/fixture-server';
import { overpassBody } from '../fixtures/overpass';
import { testSourceContext } from '../helpers/source-context';

type Phase = 'fetch' | 'fetch+transform';

interface PhaseResult {
  phase: Phase;
  records: number;
  rows: number;
  bytes: number;
  seconds: number;
  baselineRssMb: number;
  peakRssMb: number;
  peakHeapMb: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const mb = (bytes: number) => Math.round((bytes / 1e6) * 10) / 10;

/** JSON lines of N buildings on a grid over Cotonou, P points each, with a few tags like real data. */
function* buildingLines(n: number, points: number): Generator<string> {
  const side = Math.ceil(Math.sqrt(n));
  for (let i = 0; i < n; i++) {
    const lat = 6.3 + Math.floor(i / side) * 0.0003;
    const lon = 2.3 + (i % side) * 0.0003;
    const ring: { lat: number; lon: number }[] = [];
    for (let k = 0; k < points - 1; k++) {
      const angle = (2 * Math.PI * k) / (points - 1);
      ring.push({
        lat: Number((lat + 0.0001 * Math.sin(angle)).toFixed(7)),
        lon: Number((lon + 0.0001 * Math.cos(angle)).toFixed(7)),
      });
    }
    ring.push(ring[0]!);
    const nodes = ring.map((_, k) => 10_000_000_000 + i * points + (k % (points - 1)));
    const tags: Record<string, string> = { building: i % 7 === 0 ? 'house' : 'yes', source: 'Bing' };
    if (i % 5 === 0) tags['building:levels'] = String(1 + (i % 3));
    if (i % 11 === 0) tags.name = `Bâtiment ${i}`;
    const bounds = { minlat: lat - 0.0001, minlon: lon - 0.0001, maxlat: lat + 0.0001, maxlon: lon + 0.0001 };
    yield JSON.stringify({ type: 'way', id: 100_000_000 + i, bounds, nodes, geometry: ring, tags });
  }
}

/** Server role: builds the body once and serves it to every request; tells the parent its URL. */
async function serve(): Promise<void> {
  const n = arg('buildings', 200_000);
  const body = Buffer.from(overpassBody('2024-05-30T12:00:00Z', buildingLines(n, arg('points', 5))));
  const server = await startFixtureServer(() => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body,
  }));
  process.send?.({ url: server.url, bytes: body.byteLength });
  process.on('disconnect', () => void server.close().then(() => process.exit(0)));
}

/** Measuring role: one phase against the server, peak RSS sampled while it runs. */
async function measure(url: string, phase: Phase, bytes: number): Promise<void> {
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peakRss = baseline;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 10);
  // One tile covering the whole synthetic area, so the whole body is one response.
  const ctx = testSourceContext(overpassConnector, {
    baseUrl: url,
    params: { bbox: { south: 6, west: 2, north: 7, east: 3 }, tileSize: 1 },
    timeoutMs: 600_000,
  });
  let records = 0;
  let rows = 0;
  const started = performance.now();
  for await (const record of overpassConnector.fetch(ctx)) {
    records++;
    if (phase === 'fetch+transform') {
      for (const row of overpassConnector.transform(JSON.parse(JSON.stringify(record)), ctx.params)) {
        rowHash(row);
        rows++;
      }
    }
    if ((records & 0x3ff) === 0) sample();
  }
  const seconds = (performance.now() - started) / 1000;
  sample();
  clearInterval(timer);
  const result: PhaseResult = {
    phase,
    records,
    rows,
    bytes,
    seconds,
    baselineRssMb: mb(baseline),
    peakRssMb: mb(peakRss),
    peakHeapMb: mb(peakHeap),
  };
  // Exit at once: the HTTP client's keep-alive socket would otherwise hold the process open for a while.
  process.send?.(result, () => process.exit(0));
}

function child<T>(args: string[]): Promise<{ message: T; kill: () => void }> {
  const proc = fork(__filename, args, { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    proc.once('message', (message) => resolve({ message: message as T, kill: () => proc.disconnect() }));
    proc.once('exit', (code) =>
      reject(new Error(`bench child ${args.join(' ')} exited with ${code} before reporting`)),
    );
  });
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === '--serve') return serve();
  if (role === '--measure') {
    return measure(process.argv[3] ?? '', (process.argv[4] ?? 'fetch') as Phase, Number(process.argv[5]));
  }

  const n = arg('buildings', 200_000);
  const points = arg('points', 5);
  const building = Date.now();
  const server = await child<{ url: string; bytes: number }>(['--serve', ...process.argv.slice(2)]);
  console.log(
    `Overpass body: ${n} buildings × ${points} points = ${mb(server.message.bytes)} MB, built in ${((Date.now() - building) / 1000).toFixed(1)} s`,
  );
  try {
    for (const phase of ['fetch', 'fetch+transform'] as const) {
      const run = await child<PhaseResult>(['--measure', server.message.url, phase, String(server.message.bytes)]);
      const r = run.message;
      run.kill();
      console.log(
        `${r.phase.padEnd(16)} ${r.records} records, ${r.rows} rows in ${r.seconds.toFixed(2)} s: ` +
          `${Math.round(r.records / r.seconds)} records/s, ${(mb(r.bytes) / r.seconds).toFixed(1)} MB/s; ` +
          `RSS ${r.baselineRssMb} MB before, peak ${r.peakRssMb} MB (+${(r.peakRssMb - r.baselineRssMb).toFixed(1)} MB); ` +
          `peak heap ${r.peakHeapMb} MB`,
      );
    }
  } finally {
    server.kill();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
