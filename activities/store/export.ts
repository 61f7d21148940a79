// Exports of a dataset version as of a revision or a date, as CSV or Parquet, streamed: rows come from the
// query layer's server-side cursor (streamObservations) and leave for the file a batch at a time, so a whole
// dataset never sits in memory. The file is written as FILE.tmp and renamed on success: a failed export
// leaves no half file. Bad input is the query layer's ReadError, raised before any file is created.
//
// Columns (both formats): source, version, revision, series_key, dimensions (JSON text), period, value (the
// exact decimal as text, never a float), unit, attributes (JSON text), valid_from. Parquet goes through
// hyparquet-writer's incremental ParquetWriter: one row group per batch, each handed on as written.
// parquetChunks is the one Parquet writer: the CLI export pipes it into FILE.tmp, the read API
// (api/server.ts, format=parquet) into the HTTP response.

import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SchemaElement } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
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

export interface ExportContext {
  source: string;
  version: string;
  revision: number;
}

function csvLine(c: ExportContext, o: ObservationRow): string {
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

/** Row-group bytes for whoever writes them out: a file (tedi export) or an HTTP response (the read API). */
class ChunkWriter extends ByteWriter {
  private readonly chunks: Uint8Array[] = [];

  /** Called by ParquetWriter after each row group: moves the bytes written so far out of the buffer. */
  flush(): void {
    if (this.index === 0) return;
    this.chunks.push(new Uint8Array(this.buffer.slice(0, this.index)));
    this.index = 0;
  }

  override finish(): void {
    this.flush();
  }

  /** The bytes flushed since the last call. */
  take(): Uint8Array[] {
    return this.chunks.splice(0);
  }
}

/**
 * The one Parquet writer of observations: a Parquet file (PARQUET_SCHEMA) as a sequence of byte chunks,
 * one row group of `batch` rows at a time, pulled row by row from `rows` (so the consumer's pace, a disk or
 * a socket, paces the cursor). Only one batch of rows and its encoded row group are held at once; what
 * ParquetWriter keeps until the footer is per row group (offsets, statistics), a few hundred bytes each.
 * `first` is a row already taken from `rows` (callers ask for it before committing to the output, so bad
 * input fails before a file or a response exists). Ending early, by error or by the consumer stopping,
 * ends `rows` (closing its cursor).
 */
export async function* parquetChunks(
  c: ExportContext,
  first: ObservationRow | undefined,
  rows: AsyncIterator<ObservationRow>,
  batch = EXPORT_BATCH,
): AsyncGenerator<Uint8Array> {
  try {
    const out = new ChunkWriter(1 << 20);
    const writer = new ParquetWriter({ writer: out, schema: PARQUET_SCHEMA });
    let group: ObservationRow[] = first ? [first] : [];
    const writeGroup = () => {
      const n = group.length;
      const col = (name: string, f: (o: ObservationRow) => unknown) => ({ name, data: group.map(f) });
      // Synchronous: ChunkWriter.flush returns nothing, so ParquetWriter never waits on it.
      void writer.write({
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
          { name: 'valid_from', data: Int32Array.from(group, (o) => o.validFrom) },
        ],
      });
      group = [];
    };
    for (;;) {
      const next = await rows.next();
      if (!next.done) group.push(next.value);
      if (group.length >= batch || (next.done && group.length > 0)) {
        writeGroup();
        yield* out.take();
      }
      if (next.done) break;
    }
    void writer.finish();
    yield* out.take();
  } finally {
    await rows.return?.();
  }
}

/** The export's CSV (EXPORT_COLUMNS, a header line first) in chunks of about 64 KiB; ends `rows` as above. */
export async function* exportCsvChunks(
  c: ExportContext,
  first: ObservationRow | undefined,
  rows: AsyncIterator<ObservationRow>,
): AsyncGenerator<string> {
  try {
    let chunk = `${EXPORT_COLUMNS.join(',')}\n`;
    if (first) chunk += csvLine(c, first);
    for (let next = await rows.next(); !next.done; next = await rows.next()) {
      chunk += csvLine(c, next.value);
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  } finally {
    await rows.return?.();
  }
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
  const next = await iterator.next();
  const resolved = await stream.ready;
  const c: ExportContext = { source: resolved.source, version: resolved.version, revision: resolved.revision };
  const tmp = `${opts.file}.tmp`;
  let n = 0;
  const counted: AsyncIterator<ObservationRow> = {
    next: async () => {
      const r = await iterator.next();
      if (!r.done) n++;
      return r;
    },
    return: async () => (await iterator.return?.()) ?? { done: true, value: undefined },
  };
  const first = next.done ? undefined : next.value;
  if (first) n++;
  try {
    const chunks = opts.format === 'csv' ? exportCsvChunks(c, first, counted) : parquetChunks(c, first, counted, batch);
    // pipeline: the file's backpressure paces the cursor; on any failure both ends are destroyed.
    await pipeline(Readable.from(chunks), fs.createWriteStream(tmp, { flags: 'w' }));
    await fs.promises.rename(tmp, opts.file);
  } catch (err) {
    await iterator.return?.(undefined).catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  return { ...c, currentRevision: resolved.currentRevision, rows: n, file: opts.file };
}
