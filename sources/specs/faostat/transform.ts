// One FAOSTAT record → one observation. Bulk CSV rows and API objects carry the same column names
// ("Area Code", "Item Code", "Element Code", "Year", "Unit", "Value", "Flag", "Note"), so both routes share
// this schema; CSV cells are all strings, API values may be numbers, and both are tolerated.
import { z } from 'zod';
import { decimalValue } from '../../kit/decimal';
import { type ObservationRow, RowRejected } from '../../kit/types';
import { formatIssues } from '../../kit/zod-issues';
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

/** "area 53 item 15 element 5510 year 2021" (whatever of it is there), so a rejection names its row. */
function recordLabel(raw: unknown): string {
  const r = (raw ?? {}) as Record<string, unknown>;
  const parts = (['Area Code', 'Item Code', 'Element Code', 'Year'] as const)
    .filter((k) => r[k] !== undefined && r[k] !== '')
    .map((k) => `${k.replace(' Code', '').toLowerCase()} ${String(r[k])}`);
  return parts.length > 0 ? parts.join(' ') : (JSON.stringify(raw)?.slice(0, 80) ?? String(raw));
}

export function transformFaostatRecord(raw: unknown, params: Pick<FaostatParams, 'datasetCode'>): ObservationRow[] {
  const parsed = FaostatRecordSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RowRejected(`FAOSTAT record ${recordLabel(raw)}: ${formatIssues(parsed.error)}`);
  }
  const r = parsed.data;
  const attributes: Record<string, unknown> = { area: r.Area, item: r.Item, element: r.Element, flag: r.Flag };
  // Notes are rare; leaving the key out when empty keeps the row hash of most rows small and stable.
  if (r.Note) attributes.note = r.Note;
  return [
    {
      seriesKey: `${params.datasetCode}|${r['Area Code']}|${r['Item Code']}|${r['Element Code']}`,
      period: String(r.Year),
      value: r.Value,
      unit: r.Unit,
      attributes,
    },
  ];
}
