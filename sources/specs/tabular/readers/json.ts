// JSON rows through the kit's streamed reader (sources/kit/json-stream.ts): the array at params.jsonPath
// (the body itself by default) is read element by element, never parsed whole. Numbers are kept as their
// source text, so "0.1" stays exactly 0.1 and big integers keep their digits.
import { arrayRecords } from '../../../kit/json-stream';
import type { Cell } from '../row-schema';
import { pickCells, type Reader, type ReadRow } from './row';

function cellOf(value: unknown): Cell | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'boolean') return String(value);
  // A nested object or array is kept as its JSON text: a string column takes it, any other rejects it.
  return JSON.stringify(value);
}

function rowOf(element: unknown, columns: string[]): ReadRow {
  if (element === null || typeof element !== 'object' || Array.isArray(element)) {
    // Numbers arrive as their text, so a scalar is shown as is.
    const what = Array.isArray(element) ? 'an array' : `the value ${String(element).slice(0, 40)}`;
    return { invalid: `expected an object of columns, got ${what}` };
  }
  const record = element as Record<string, unknown>;
  return { values: pickCells(columns, (c) => cellOf(record[c])) };
}

export const readJson: Reader = async function* (bytes, { params, columns }) {
  const where = params.jsonPath ? `at jsonPath "${params.jsonPath}"` : 'at the top level';
  const elements = arrayRecords(bytes, {
    at: params.jsonPath?.split('.') ?? [],
    // The caller names the file in every failure.
    where: '',
    // JSON must be UTF-8, but exports are not always: the one encoding rule (BOM, strict UTF-8, then the
    // encoding param) decodes it, and bytes that are none of these fail with their offset.
    text: { encoding: params.encoding },
    notAnArray: (found) =>
      `expected an array of rows ${where}, found ${found}: set params.jsonPath to the key holding the rows, e.g. "data"`,
  });
  for await (const element of elements) yield rowOf(element, columns);
};
