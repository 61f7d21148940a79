// Exports of a dataset version as of a revision or a date, as CSV or Parquet, streamed: rows come from the
// query layer's server-side cursor (streamObservations) and leave for the file a batch at a time, so a whole
// dataset never sits in memory. The file is written as FILE.tmp and renamed on success: a failed export
// leaves no half file. Bad input is the query layer's ReadError, raised before any file is created.
//
// Columns (both formats): source, version, revision, series_key, dimensions (JSON text), period, value (the
// exact decimal as text, never a float), unit, attributes (JSON text), valid_from. Parquet goes through
// hyparquet-writer's incremental ParquetWriter: one row group per batch, each flushed to disk as written.

import { once } from 'node:events';
import fs from 'node:fs';
import type { SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import type { Pool } from 'pg';
import { type ObservationRow, type ObservationsQuery, streamObservations } from './read';

export const EXPORT_FORMATS = ['csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_COLUMNS = [
  'source',
  'version',
  'revision',
  'series_key',
  'dimensions',
  'period',
  'value',
  'unit',
  'attributes',
  'valid_from',
] as const;

/** Rows per Parquet row group (and per cursor fetch). */
export const EXPORT_BATCH = 10_000;

export interface ExportResult {
  source: string;
  version: string;
  /** The revision exported. */
  revision: number;
  currentRevision: number;
  rows: number;
  file: string;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const jsonText = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

interface Context {
  source: string;
  version: string;
  revision: number;
}

function csvLine(c: Context, o: ObservationRow): string {
  return `${[
    c.source,
    c.version,
    c.revision,
    o.seriesKey,
    jsonText(o.dimensions),
    o.period,
    o.value,
    o.unit,
    jsonText(o.attributes),
    o.validFrom,
  ]
    .map(csvField)
    .join(',')}\n`;
}

const text = (name: string, required = false): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: required ? 'REQUIRED' : 'OPTIONAL',
});
const int32 = (name: string): SchemaElement => ({ name, type: 'INT32', repetition_type: 'REQUIRED' });

/** The Parquet schema: every text column UTF8, value included (exact decimal text). */
export const PARQUET_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: EXPORT_COLUMNS.length },
  text('source', true),
  text('version', true),
  int32('revision'),
  text('series_key', true),
  text('dimensions'),
  text('period', true),
  text('value'),
  text('unit'),
  text('attributes'),
  int32('valid_from'),
];

interface Sink {
  write(row: ObservationRow): Promise<void>;
  finish(): Promise<void>;
  abort(): Promise<void>;
}

async function csvSink(file: string, c: Context): Promise<Sink> {
  const out = fs.createWriteStream(file, { flags: 'w' });
  await once(out, 'open');
  const put = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await put(`${EXPORT_COLUMNS.join(',')}\n`);
  return {
    write: (row) => put(csvLine(c, row)),
    finish: async () => {
      out.end();
      await once(out, 'finish');
    },
    abort: async () => {
      out.destroy();
      await once(out, 'close').catch(() => undefined);
    },
  };
}

function parquetSink(file: string, c: Context, batch: number): Sink {
  const writer = new ParquetWriter({ writer: fileWriter(file), schema: PARQUET_SCHEMA });
  let rows: ObservationRow[] = [];
  const flush = async () => {
    if (rows.length === 0) return;
    const n = rows.length;
    const col = (name: string, f: (o: ObservationRow) => unknown) => ({ name, data: rows.map(f) });
    await writer.write({
      rowGroupSize: n,
      columnData: [
        col('source', () => c.source),
        col('version', () => c.version),
        { name: 'revision', data: new Int32Array(n).fill(c.revision) },
        col('series_key', (o) => o.seriesKey),
        col('dimensions', (o) => jsonText(o.dimensions)),
        col('period', (o) => o.period),
        col('value', (o) => o.value),
        col('unit', (o) => o.unit),
        col('attributes', (o) => jsonText(o.attributes)),
        { name: 'valid_from', data: Int32Array.from(rows, (o) => o.validFrom) },
      ],
    });
    rows = [];
  };
  return {
    write: async (row) => {
      rows.push(row);
      if (rows.length >= batch) await flush();
    },
    finish: async () => {
      await flush();
      await writer.finish();
    },
    abort: async () => {
      rows = [];
    },
  };
}

/**
 * Exports every observation matching `query` (no limit, no paging) to `file`, as `format`. Bad input throws
 * the query layer's ReadError before any file exists; any later failure removes FILE.tmp and rethrows.
 */
export async function exportObservations(
  pool: Pool,
  query: Omit<ObservationsQuery, 'limit' | 'after'>,
  opts: { format: ExportFormat; file: string; batch?: number },
): Promise<ExportResult> {
  const batch = opts.batch ?? EXPORT_BATCH;
  const stream = streamObservations(pool, query, { batch: Math.min(batch, 5_000) });
  const iterator = stream[Symbol.asyncIterator]();
  // The first row is asked for before the file is created: bad input (checked when the stream starts) must
  // leave nothing on disk.
  let next = await iterator.next();
  const resolved = await stream.ready;
  const c: Context = { source: resolved.source, version: resolved.version, revision: resolved.revision };
  const tmp = `${opts.file}.tmp`;
  let sink: Sink | undefined;
  let n = 0;
  try {
    sink = opts.format === 'csv' ? await csvSink(tmp, c) : parquetSink(tmp, c, batch);
    for (; !next.done; next = await iterator.next()) {
      await sink.write(next.value);
      n++;
    }
    await sink.finish();
    await fs.promises.rename(tmp, opts.file);
  } catch (err) {
    await iterator.return?.(undefined).catch(() => undefined);
    await sink?.abort().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return { ...c, currentRevision: resolved.currentRevision, rows: n, file: opts.file };
}
