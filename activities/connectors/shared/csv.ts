// CSV records from a byte stream, one object per row keyed by the header, parsed as the bytes arrive.
import { Readable } from 'node:stream';
import { parse, type Options } from 'csv-parse';

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
  const parser = Readable.from(bytes).pipe(
    parse({
      columns: (header: string[]) => header.map((h) => h.replace(/^\uFEFF/, '').trim()),
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      encoding: opts.encoding ?? 'utf8',
      delimiter: opts.delimiter ?? ',',
      ...opts.parser,
    }),
  );
  for await (const record of parser) yield record as Record<string, string>;
}
