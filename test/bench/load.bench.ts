// Throughput of the shared load path on real PostgreSQL: COPY into staging, then the revision merge,
// against a plain COPY into a bare table as the baseline (the notes' target: within 2x of plain COPY).
//
//   npx tsx test/bench/load.bench.ts [--rows 500000] [--changed 0.01] [--trace]
//
// --trace prints every merge statement that took 20 ms or more: where the merge's time goes.
//
// Runs on an embedded PostgreSQL in a temporary folder (or DATABASE_URL's server, in a new database).
// It prints figures and asserts nothing.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { rowHash } from '../../activities/ingestion/row-hash';
import { copyRows } from '../../activities/store/copy-rows';
import { mergeStagedRevision } from '../../activities/store/merge-revision';
import { DEFAULT_MAX_REMOVED_RATIO } from '../../activities/store/snapshot-guard';
import { SpoolWriter } from '../../activities/store/spool-writer';
import { dropStaging, stageFromSpool, stagingTableFor } from '../../activities/store/staging';
import { loadCatalog } from '../../catalog/load';
import { openDatabase } from '../../lib/db';
import { freePort, startEmbeddedPostgres } from '../../lib/infra/postgres';
import { applyMigrations } from '../../prisma/migrator';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const ROWS = option('rows', 500_000);
const CHANGED = option('changed', 0.01);
const TRACE = process.argv.includes('--trace');

/** Prints the statements of `client` that take 20 ms or more (the SQL's first line and the time). */
function traced(client: import('pg').PoolClient): import('pg').PoolClient {
  if (!TRACE) return client;
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const timed = async (...args: unknown[]) => {
    const started = performance.now();
    try {
      return await query(...args);
    } finally {
      const ms = performance.now() - started;
      const sql = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text ?? '');
      if (ms >= 20)
        console.log(`    ${ms.toFixed(0).padStart(6)} ms  ${sql.trim().replace(/\s+/g, ' ').slice(0, 110)}`);
    }
  };
  return Object.assign(Object.create(client), { query: timed });
}
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

/** Synthetic observations: 1,000 series x N/1,000 periods; `revision` bumps a share of the values. */
async function* observations(ingestKey: string, revision: number) {
  const changedEvery = Math.max(1, Math.round(1 / CHANGED));
  for (let i = 0; i < ROWS; i++) {
    const row = {
      seriesKey: `S${i % 1000}|BEN`,
      period: String(1000 + Math.floor(i / 1000)),
      value: String(i * 0.5 + (revision > 1 && i % changedEvery === 0 ? revision : 0)),
      unit: 'tonnes',
      // Labels per series plus a per-observation flag, as FAOSTAT's are: 2,000 distinct label sets.
      attributes: { item: `Item ${i % 1000}`, area: 'Benin', flag: i % 7 === 0 ? 'E' : 'A' },
    };
    yield [ingestKey, i + 1, row.seriesKey, row.period, row.value, row.unit, row.attributes, rowHash(row)] as const;
  }
}

const rate = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en')} rows/s`;

async function main() {
  const server = process.env.DATABASE_URL
    ? null
    : await startEmbeddedPostgres({
        dataDir: path.join(os.tmpdir(), `tedi-bench-${randomBytes(3).toString('hex')}`),
        port: await freePort(),
        persistent: false,
      });
  const url = new URL(process.env.DATABASE_URL ?? server!.url);
  const name = `tedi_bench_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  url.pathname = `/${name}`;
  await applyMigrations(url.toString());
  const db = openDatabase(url.toString());
  try {
    await loadCatalog(db.prisma, { worldBankBaseUrl: 'http://127.0.0.1:9', worldBankCountries: ['BJ'] });
    const version = await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: 'faostat' } } });
    const client = await db.pool.connect();
    try {
      const columns = ['ingest_key', 'seq', 'series_key', 'period', 'value', 'unit', 'attributes', 'row_hash'];
      console.log(`load path, ${ROWS.toLocaleString('en')} rows, ${CHANGED * 100}% changed on the second load`);

      await client.query(
        'CREATE UNLOGGED TABLE bench_plain (ingest_key text, seq int, series_key text, period text, value numeric, unit text, attributes jsonb, row_hash text)',
      );
      let t = performance.now();
      await copyRows(client, 'bench_plain', columns, observations('plain', 1));
      const plainMs = performance.now() - t;
      console.log(`  plain COPY (baseline)         ${rate(ROWS, plainMs)}`);

      for (const revision of [1, 2]) {
        const key = `bench/${revision}`;
        t = performance.now();
        // As the stage activity does it: rows to a spool file, then one COPY into the run's staging table.
        const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-bench-spool-'));
        const spool = new SpoolWriter(path.join(spoolDir, 'rows.copy'));
        for await (const [, seq, ...rest] of observations(key, revision)) await spool.write([seq, seq, ...rest]);
        await spool.close();
        const stagingTable = stagingTableFor(key);
        await client.query('BEGIN');
        await stageFromSpool(client, stagingTable, spool.file);
        await client.query('COMMIT');
        fs.rmSync(spoolDir, { recursive: true, force: true });
        const stageMs = performance.now() - t;
        t = performance.now();
        await client.query('BEGIN');
        const result = await mergeStagedRevision(traced(client), {
          ingestKey: key,
          stagingTable,
          datasetVersionId: version.id,
          sourceName: 'faostat',
          checksum: `bench-${revision}`,
          probeToken: null,
          expectedRows: ROWS,
          rejectedRows: 0,
          policy: { allowEmpty: false, maxRemovedRatio: DEFAULT_MAX_REMOVED_RATIO, duplicateKeys: 'fail' },
          acceptRemovals: false,
        });
        await client.query('COMMIT');
        const mergeMs = performance.now() - t;
        const total = stageMs + mergeMs;
        console.log(
          `  revision ${revision}: stage ${rate(ROWS, stageMs)}, merge ${rate(ROWS, mergeMs)}, ` +
            `end to end ${rate(ROWS, total)} (${(total / plainMs).toFixed(2)}x plain COPY); ` +
            `added ${result.recordsAdded}, updated ${result.recordsUpdated}, unchanged ${result.recordsUnchanged}`,
        );
        await dropStaging(client, stagingTable);
      }
      const stored = await client.query('SELECT count(*)::int AS n FROM observations');
      console.log(`  observations stored: ${stored.rows[0].n.toLocaleString('en')} (unchanged rows are not copied)`);
      console.log(`  peak RSS of this process: ${(peakRss / 1e6).toFixed(0)} MB`);
    } finally {
      client.release();
    }
  } finally {
    clearInterval(sampler);
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
