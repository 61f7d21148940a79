// JSON rows streamed with stream-json: the array at params.jsonPath (a top-level array by default) is
// read element by element, never parsed whole. Numbers are kept as their source text, so "0.1" stays
// exactly 0.1 and big integers keep their digits.
import { pipeline, Readable } from 'node:stream';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { invalidPayload } from '../../../../lib/failures';
import { decodeText } from '../../../kit/encoding';
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
    // Numbers arrive as their text (numberAsString), so a scalar is shown as is.
    const what = Array.isArray(element) ? 'an array' : `the value ${String(element).slice(0, 40)}`;
    return { invalid: `expected an object of columns, got ${what}` };
  }
  const record = element as Record<string, unknown>;
  return { values: pickCells(columns, (c) => cellOf(record[c])) };
}

export const readJson: Reader = async function* (bytes, { params, columns }) {
  // JSON must be UTF-8, but exports are not always: the one encoding rule (BOM, strict UTF-8, then the
  // encoding param) decodes it, and bytes that are none of these fail with their offset.
  const text = decodeText(bytes, { encoding: params.encoding });
  const stages: NodeJS.ReadWriteStream[] = [parser.asStream()];
  if (params.jsonPath) stages.push(pick.asStream({ filter: params.jsonPath }));
  stages.push(streamArray.asStream({ numberAsString: true }));
  // pipeline, not pipe: a failure in any stage ends the iteration below with that error.
  const elements = pipeline([Readable.from(text), ...stages], () => undefined) as unknown as Readable;
  try {
    for await (const { value } of elements as AsyncIterable<{ value: unknown }>) yield rowOf(value, columns);
  } catch (err) {
    if (err instanceof Error && /should be an array/.test(err.message)) {
      const where = params.jsonPath ? `at jsonPath "${params.jsonPath}"` : 'at the top level';
      throw invalidPayload(
        `expected an array of rows ${where}, found an object: set params.jsonPath to the key holding the rows, e.g. "data"`,
      );
    }
    throw err;
  }
};
