// CSV records from a byte stream, one object per row keyed by the header, parsed as the bytes arrive.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, type Options, parse } from 'csv-parse';
import { invalidPayload } from '../../lib/failures';
import { decodeText, type TextEncoding } from './encoding';

export interface CsvOptions {
  /**
   * What the file is when it is not UTF-8 (sources/kit/encoding.ts: a BOM, then strict UTF-8, decide first;
   * bytes that are neither fail as InvalidPayload with their offset).
   */
  encoding?: TextEncoding;
  /** Names the file in an encoding failure. */
  where?: string;
  delimiter?: string;
  /** Extra csv-parse options. */
  parser?: Options;
}

export async function* csvRecords(
  bytes: AsyncIterable<Buffer>,
  opts: CsvOptions = {},
): AsyncGenerator<Record<string, string>> {
  const parser = parse({
    columns: (header: string[]) => header.map((h) => h.replace(/^\uFEFF/, '').trim()),
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    // The parser gets text already decoded by the one encoding rule (its chunks reach it as UTF-8).
    encoding: 'utf8',
    delimiter: opts.delimiter ?? ',',
    ...opts.parser,
  });
  const text = decodeText(bytes, { encoding: opts.encoding, where: opts.where });
  // pipeline (not .pipe) carries a source failure (dropped connection, missing file, bytes that are not
  // text) into the parser, so it surfaces from the loop below as a normal rejection, not an 'error' event.
  pipeline(Readable.from(text), parser).catch(() => undefined);
  try {
    for await (const record of parser) yield record as Record<string, string>;
  } catch (err) {
    // A body that is not well-formed CSV (an unclosed or stray quote…) will not parse on a retry either.
    // csv-parse's own codes are not all prefixed (INVALID_OPENING_QUOTE, CSV_QUOTE_NOT_CLOSED): its class decides.
    if (!(err instanceof CsvError)) throw err;
    throw invalidPayload(`${opts.where ?? 'the CSV body'}: ${err.message.slice(0, 300)}`, err);
  }
}
