// COPY FROM STDIN for bulk loads: ~10x faster than row-by-row inserts (see the throughput table in
// shared/notes/prisma-offline.md). Rows arrive as an async iterable and stream straight to PostgreSQL,
// so memory stays flat however big the source is.

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | bigint | boolean | null | undefined | Record<string, unknown>;

/** Encodes one value in COPY's text format (\N for NULL, backslash escapes for tab/newline). */
export function encodeCopyValue(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Streams rows into `table(columns)` with COPY on the given client (inside the caller's transaction). */
export async function copyRows(
  client: PoolClient,
  table: string,
  columns: readonly string[],
  rows: AsyncIterable<readonly CopyValue[]>,
): Promise<number> {
  let count = 0;
  async function* lines(): AsyncGenerator<string> {
    let batch = '';
    for await (const row of rows) {
      batch += `${row.map(encodeCopyValue).join('\t')}\n`;
      count++;
      // Hand PostgreSQL ~64 KB at a time: few syscalls, bounded memory.
      if (batch.length > 65536) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  const sql = `COPY ${table} (${columns.map((c) => `"${c}"`).join(', ')}) FROM STDIN`;
  await pipeline(Readable.from(lines()), client.query(copyFrom(sql)));
  return count;
}
