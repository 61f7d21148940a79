// The tabular_file connector: every source that arrives as a CSV, JSON or XLSX file, handed in by an
// operator (on-event imports) or served at a feed URL (scheduled). Its params say how to read the file
// and how its columns map to observations; a declared row schema validates every row with zod.
//   probe     – sha256 of the file or feed body: the same file twice is no new version;
//   fetch     – rows streamed from the file as {row, values}, only the declared columns kept;
//   transform – row schema → one observation per row, or RowRejected naming the row and the column; the
//               series is identified by the seriesKey columns, each a dimension named after its column.

import { ApplicationFailure } from '@temporalio/common';
import { CsvError } from 'csv-parse';
import { z } from 'zod';
import { invalidPayload } from '../../../lib/failures';
import { defineSource } from '../../kit/define-source';
import { JsonSyntaxError } from '../../kit/json-stream';
import { checksumOfLocation, describeLocation, requireLocation } from '../../kit/open-location';
import { compactAttributes, recordLabel, validRecord } from '../../kit/records';
import { seriesIdentity } from '../../kit/series-key';
import { type Connector, type ObservationRow, RowRejected, type SourceContext } from '../../kit/types';
import { declaredColumns, type TabularFormat, type TabularParams, TabularParamsSchema } from './params';
import { readCsv } from './readers/csv';
import { readJson } from './readers/json';
import type { Reader } from './readers/row';
import { readXlsx } from './readers/xlsx';
import { compileRowSchema, describeRowIssues, type Value } from './row-schema';
import { ByteSource, openTabular, resolveFormat } from './source';

export { type TabularParams, TabularParamsSchema } from './params';

const READERS: Record<TabularFormat, Reader> = { csv: readCsv, json: readJson, xlsx: readXlsx };

/** Where a file with no rows should have had them, per format. */
const NO_ROWS_HINT: Record<TabularFormat, string> = {
  csv: 'it has no data rows after the header',
  json: 'no rows were found: check params.jsonPath (the key holding the array of rows)',
  xlsx: 'the sheet has no data rows after the header: check params.sheet',
};

const Cell = z.union([z.string(), z.number(), z.null()]);
/** The staged raw record, as fetch wrote it. */
const TabularRecordSchema = z.union([
  z.object({ row: z.number().int().positive(), values: z.record(z.string(), Cell) }),
  z.object({ row: z.number().int().positive(), invalid: z.string() }),
]);
export type TabularRecord = z.infer<typeof TabularRecordSchema>;

async function* fetchRows(ctx: SourceContext<TabularParams>): AsyncGenerator<TabularRecord> {
  const { params } = ctx;
  const location = requireLocation(ctx, params.feedUrl);
  const opened = await openTabular(ctx, location);
  const format = resolveFormat(params.format, location, opened.contentType);
  const source = new ByteSource(ctx, location, opened.bytes);
  const where = describeLocation(location);
  let row = 0;
  try {
    for await (const read of READERS[format](source.bytes(), { params, columns: declaredColumns(params) })) {
      // A read failure cuts the stream short: the rows parsed from the cut-off are not trusted.
      source.check();
      row++;
      yield { row, ...read };
    }
  } catch (err) {
    source.check();
    // A malformed CSV or JSON (typed by the kit's readers, the parser's error as its cause): say how far it got.
    if (err instanceof ApplicationFailure && (err.cause instanceof CsvError || err.cause instanceof JsonSyntaxError)) {
      throw invalidPayload(
        `${where} is not a readable ${format.toUpperCase()} file (after ${row} rows): ${err.cause.message}`,
        err.cause,
      );
    }
    // Failures the readers raise (a missing column, no such sheet) say what is wrong; this says where.
    if (err instanceof ApplicationFailure) {
      throw ApplicationFailure.create({
        message: `${where}: ${err.message}`,
        type: err.type ?? undefined,
        nonRetryable: err.nonRetryable ?? undefined,
      });
    }
    throw invalidPayload(
      `${where} is not a readable ${format.toUpperCase()} file (after ${row} rows): ${(err as Error).message}`,
    );
  }
  source.check();
  // An empty export is far more often an upstream accident than a source that emptied: the store's
  // snapshot guard refuses it (with the hint below), as it does for every source.
  if (row === 0) ctx.log(`tabular file has no rows: ${NO_ROWS_HINT[format]}`, { location: where, format });
  ctx.log('tabular file read', { location: where, format, rows: row, bytes: source.bytesRead });
}

const asText = (value: Value | undefined): string | null =>
  value === null || value === undefined ? null : String(value);

/** A staged row's observation: its cells by the declared row schema, mapped by params.columns. */
function rowsOf(record: TabularRecord, params: TabularParams): ObservationRow[] {
  const { row } = record;
  if ('invalid' in record) throw new RowRejected(`row ${row}: ${record.invalid}`);
  const cells = validRecord(compileRowSchema(params), record.values, () => `row ${row}`, describeRowIssues);
  const { seriesKey, period, value, unit, attributes } = params.columns;
  // Series-key and period columns are required by the params check, so these are never null.
  const series = seriesIdentity(seriesKey.map((column) => [column, asText(cells[column]) ?? ''] as const));
  return [
    {
      ...series,
      period: asText(cells[period]) ?? '',
      value: value === undefined ? null : asText(cells[value]),
      unit: unit === undefined ? null : typeof unit === 'string' ? asText(cells[unit]) : unit.constant,
      // Attributes are part of the row hash: empty ones are left out rather than stored as null.
      attributes: compactAttributes(cells, attributes),
    },
  ];
}

/** Its fetch stages TabularRecords (fetchRows), which is what its type says of them. */
export const tabularConnector = defineSource({
  name: 'tabular_file',
  params: TabularParamsSchema,
  async probe(ctx) {
    const location = requireLocation(ctx, ctx.params.feedUrl);
    const checksum = await checksumOfLocation(ctx, location);
    return { token: checksum, note: `sha256 ${checksum.slice(0, 12)} of ${describeLocation(location)}` };
  },
  fetch: fetchRows,
  record: {
    schema: TabularRecordSchema,
    label: (raw) => `not a tabular row record: ${recordLabel(raw, ['row'])}`,
    rows: rowsOf,
  },
  // Its file comes from the run (an import) or from params.feedUrl; with neither, a run has nothing to read.
  files: { missingFile: (params) => (params.feedUrl ? null : 'it has no params.feedUrl') },
  snapshot: {
    emptyHint: (params) =>
      `the file has no data rows (${params.format ? NO_ROWS_HINT[params.format] : Object.values(NO_ROWS_HINT).join('; or ')})`,
  },
}) as Connector<TabularParams, TabularRecord>;

/** One staged row's observations under `params`. */
export const transformTabularRecord = (raw: unknown, params: TabularParams) => tabularConnector.transform(raw, params);
