// One FAOSTAT record → one observation. Bulk CSV rows and API objects carry the same column names
// ("Area Code", "Item Code", "Element Code", "Year", "Unit", "Value", "Flag", "Note"), so both routes share
// this schema; CSV cells are all strings, API values may be numbers, and both are tolerated.
import { z } from 'zod';
import { decimalValue } from '../../kit/decimal';
import type { RecordRule } from '../../kit/define-source';
import { recordLabel } from '../../kit/records';
import { seriesIdentity } from '../../kit/series-key';
import type { FaostatParams } from './params';

/** Columns a record must have; the bulk reader checks the CSV header against them before any row. */
export const REQUIRED_COLUMNS = [
  'Area Code',
  'Area',
  'Item Code',
  'Item',
  'Element Code',
  'Element',
  'Year',
  'Unit',
  'Value',
] as const;

const Code = z.union([
  z.string().trim().regex(/^\d+$/, 'expected a numeric code'),
  z.number().int().nonnegative().transform(String),
]);
const Label = z.string().trim().min(1, 'is empty');
/** Empty string or null = no value published; a number or a numeric string otherwise. */
const Value = decimalValue('expected a number, a numeric string or an empty cell');
const Text = z
  .string()
  .nullish()
  .transform((s) => s?.trim() || null);

export const FaostatRecordSchema = z.object({
  'Area Code': Code,
  Area: Label,
  'Item Code': Code,
  Item: Label,
  'Element Code': Code,
  Element: Label,
  // QCL years are "2021"; some other domains publish 3-year ranges such as "2019-2021".
  Year: z.union([
    z
      .string()
      .trim()
      .regex(/^\d{4}(?:-\d{4})?$/, 'expected a year such as "2021"'),
    z.number().int(),
  ]),
  Unit: Text,
  Value,
  Flag: Text,
  Note: Text,
});

export type FaostatRecord = z.output<typeof FaostatRecordSchema>;

/** "area 53 item 15 element 5510 year 2021" (whatever of it is there), so a rejection names its row. */
const LABEL = { area: 'Area Code', item: 'Item Code', element: 'Element Code', year: 'Year' };

/** The record rule of both routes: series "<domain>|<area code>|<item code>|<element code>", period the year. */
export const faostatRecord: RecordRule<Pick<FaostatParams, 'datasetCode'>, FaostatRecord> = {
  schema: FaostatRecordSchema,
  label: (raw) => `FAOSTAT record ${recordLabel(raw, LABEL)}`,
  rows: (r, params) => {
    // The flag stays when empty (null), as every stored row has it; notes are rare, and leaving the key out
    // when empty keeps the row hash of most rows small and stable.
    const attributes: Record<string, unknown> = { area: r.Area, item: r.Item, element: r.Element, flag: r.Flag };
    if (r.Note) attributes.note = r.Note;
    // Destructured, not spread into the row: a spread of the identity costs microseconds a row (QCL: 4M rows).
    const { seriesKey, dimensions } = seriesIdentity(
      { area: r['Area Code'], item: r['Item Code'], element: r['Element Code'] },
      [params.datasetCode],
    );
    return [{ seriesKey, dimensions, period: String(r.Year), value: r.Value, unit: r.Unit, attributes }];
  },
};
