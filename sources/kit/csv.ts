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

export interface CsvTableOptions extends Omit<CsvOptions, 'parser'> {
  /** Names the body in every failure, e.g. "ilostat UNE_DEAP_SEX_AGE_RT_A for BEN". */
  where: string;
  /**
   * Sees the header as soon as it is parsed, also when no row follows; throws to refuse it (a format
   * change), returns the column names to key rows by. See `requireColumns`.
   */
  header(names: string[]): string[];
}

/**
 * The rows of a CSV table while it streams, with the checks every tabular source needs: the header is
 * checked on arrival; a row shorter than the header is a cut-off body (every real row carries all its
 * commas, blanks included); a malformed body says how many rows were read before it broke.
 */
export async function* csvTable(
  bytes: AsyncIterable<Buffer>,
  opts: CsvTableOptions,
): AsyncGenerator<Record<string, string>, number> {
  let width = 0;
  const columns = (names: string[]) => {
    const kept = opts.header(names.map((n) => n.replace(/^\uFEFF/, '').trim()));
    width = kept.length;
    return kept;
  };
  let rows = 0;
  try {
    for await (const record of csvRecords(bytes, { ...opts, parser: { columns } })) {
      rows++;
      const cells = Object.keys(record).length;
      if (cells < width)
        throw invalidPayload(`${opts.where}: row ${rows} has ${cells} of ${width} columns (body cut off?)`);
      yield record;
    }
  } catch (err) {
    if (err instanceof Error && err.cause instanceof CsvError) {
      throw invalidPayload(`${opts.where}: not a well-formed CSV after ${rows} rows: ${err.cause.message}`, err.cause);
    }
    throw err;
  }
  return rows;
}

export interface RequiredColumnsOptions {
  /** How the message lists the missing columns; default "column a" / "columns a, b". */
  list?(missing: readonly string[]): string;
}

/** A header check that refuses a header lacking any of `required`, naming them and the header it got. */
export function requireColumns(
  required: readonly string[],
  where: string,
  opts: RequiredColumnsOptions = {},
): (names: string[]) => string[] {
  return (names) => {
    const missing = required.filter((c) => !names.includes(c));
    if (missing.length > 0) {
      const which = opts.list?.(missing) ?? `column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
      throw invalidPayload(`${where}: the CSV header lacks ${which} (header: ${names.join(',').slice(0, 200)})`);
    }
    return names;
  };
}
