// What every reader delivers, one item per data row, and the checks they share.
import { invalidPayload } from '../../../../lib/failures';
import type { TabularParams } from '../params';
import type { Cell } from '../row-schema';

/** A data row's declared cells, or why the item is not a row at all (e.g. a number in a JSON array of rows). */
export type ReadRow = { values: Record<string, Cell> } | { invalid: string };

export interface ReaderOptions {
  params: TabularParams;
  /** The columns rowSchema declares: the only cells kept. */
  columns: string[];
}

export type Reader = (bytes: AsyncIterable<Buffer>, options: ReaderOptions) => AsyncIterable<ReadRow>;

/** Keeps the declared columns; an empty cell is null, so that staged records stay small and uniform. */
export function pickCells(columns: string[], cellOf: (column: string) => Cell | undefined): Record<string, Cell> {
  const values: Record<string, Cell> = {};
  for (const column of columns) {
    const cell = cellOf(column);
    values[column] = cell === undefined || cell === '' ? null : cell;
  }
  return values;
}

/**
 * A file whose header lacks a declared column fails once, naming what is missing and what is there,
 * instead of rejecting every row for the same reason.
 */
export function checkHeader(header: string[], columns: string[], params: TabularParams): void {
  const missing = columns.filter((c) => !header.includes(c));
  const twice = columns.filter((c) => header.indexOf(c) !== header.lastIndexOf(c));
  if (missing.length === 0 && twice.length === 0) return;
  const problems = [
    missing.length > 0 && `no column ${missing.map((c) => `"${c}"`).join(', ')} (declared in params.rowSchema)`,
    twice.length > 0 && `column ${twice.map((c) => `"${c}"`).join(', ')} appears twice`,
  ].filter(Boolean);
  // One header cell holding another separator means the delimiter is wrong, the most common mix-up.
  const only = header.length === 1 ? header[0] : undefined;
  const other =
    only === undefined ? undefined : [';', ',', '\t', '|'].find((d) => d !== params.delimiter && only.includes(d));
  const hint = other
    ? `; the header looks ${JSON.stringify(other)}-separated: set params.delimiter to ${JSON.stringify(other)}`
    : '';
  throw invalidPayload(
    `the file has ${problems.join(' and ')}; its header is: ${header.filter(Boolean).join(', ')}${hint}`,
  );
}
