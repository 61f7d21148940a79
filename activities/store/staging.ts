// Per-ingestion staging: one UNLOGGED table per run in the `tedi_staging` schema, created by the staging
// activity, read by the load, dropped when the run finishes. Nothing is shared between runs, so nothing
// bloats (no DELETE of millions of rows), a retried attempt replaces its own table atomically, and
// consumers never see scratch data beside the store (public holds only the store and the catalog).
// UNLOGGED: no WAL for scratch rows; a PostgreSQL crash empties the table, which the load notices by
// count (StagingLost) and the workflow heals by staging again.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ObservationRow } from '../../sources/kit/types';
import type { CopyValue } from './copy-rows';

export const STAGING_SCHEMA = 'tedi_staging';

/** Columns of a staging table, in the order the spool file writes them (COPY text format). */
export const STAGING_COLUMNS = [
  'seq',
  'record_seq',
  'series_key',
  'period',
  'value',
  'unit',
  'attributes',
  'row_hash',
  'dimensions',
] as const;

/** The column definitions of a staging table, in STAGING_COLUMNS order. */
export const STAGING_TABLE_COLUMNS =
  'seq integer NOT NULL, record_seq integer NOT NULL, series_key text NOT NULL, period text NOT NULL, ' +
  'value numeric, unit text, attributes jsonb, row_hash text NOT NULL, dimensions jsonb';

/** One canonical row as the spool file holds it: the staging row number, its raw record's number, the row. */
export function stagingRow(seq: number, recordSeq: number, row: ObservationRow, hash: string): CopyValue[] {
  return [seq, recordSeq, row.seriesKey, row.period, row.value, row.unit, row.attributes, hash, row.dimensions ?? null];
}

/** The staging table of one run: a readable prefix and a hash of the ingest key (ids can be long). */
export function stagingTableFor(ingestKey: string): string {
  const digest = crypto.createHash('sha256').update(ingestKey).digest('hex').slice(0, 24);
  return `${STAGING_SCHEMA}.run_${digest}`;
}

/** (Re)creates the run's staging table and fills it from a spool file written in STAGING_COLUMNS order. */
export async function stageFromSpool(client: PoolClient, table: string, spoolFile: string): Promise<number> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${STAGING_SCHEMA}`);
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.query(`CREATE UNLOGGED TABLE ${table} (${STAGING_TABLE_COLUMNS})`);
  const copy = client.query(copyFrom(`COPY ${table} (${STAGING_COLUMNS.join(', ')}) FROM STDIN`));
  await pipeline(fs.createReadStream(spoolFile), copy);
  // Fresh statistics, so the merge's plans fit the real size of what was staged.
  await client.query(`ANALYZE ${table}`);
  return Number(copy.rowCount);
}

/** Rows in the run's staging table, or null when the table does not exist. */
export async function stagedRowCount(client: PoolClient, table: string): Promise<number | null> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table]);
  if (!exists.rows[0]?.t) return null;
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

export async function dropStaging(client: Pick<PoolClient, 'query'>, table: string): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${table}`);
}
