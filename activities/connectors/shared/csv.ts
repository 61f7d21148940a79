// CSV records from a byte stream, one object per row keyed by the header, parsed as the bytes arrive.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Options, parse } from 'csv-parse';

export interface CsvOptions {
  /** Source encoding (FAOSTAT bulk files are latin1). */
  encoding?: BufferEncoding;
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
    encoding: opts.encoding ?? 'utf8',
    delimiter: opts.delimiter ?? ',',
    ...opts.parser,
  });
  // pipeline (not .pipe) carries a source failure (dropped connection, missing file) into the parser, so
  // it surfaces from the loop below as a normal rejection instead of an unhandled 'error' event.
  pipeline(Readable.from(bytes), parser).catch(() => undefined);
  for await (const record of parser) yield record as Record<string, string>;
}
