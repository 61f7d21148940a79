// One SDMX observation as both readers (SDMX-CSV and SDMX-JSON) hand it over, and its mapping to the store.
//
// The series key rule: `<dataflow id>|<dimension values in DSD order, joined by ".">`, the time dimension
// left out, e.g. "DF_UNE_DEAP_SEX_AGE_RT|BEN.A.UNE_DEAP_RT.SEX_T.AGE_YTHADULT_YGE15" or
// "EXR|M.USD.EUR.SP00.A". The part after "|" is the SDMX series key itself (the grammar of the REST `key`),
// so a stored series can be asked for again as it is, and CSV and JSON answers give the same keys. The
// period is TIME_PERIOD as the source writes it ("2011", "2023-01", "2023-Q1", "2025-10-28").
import { z } from 'zod';
import { invalidPayload } from '../../../lib/failures';
import { decimalValue } from '../../kit/decimal';
import type { RecordRule } from '../../kit/define-source';
import { compactAttributes } from '../../kit/records';
import { keyPositions, type SdmxParams } from './params';

export interface SdmxRecord {
  /** Dimension ids and values in DSD order, the time dimension excluded. */
  dimensions: [id: string, value: string][];
  /** TIME_PERIOD as given ("" when the answer has none: rejected in transform). */
  period: string;
  /** OBS_VALUE as given (numbers keep their text), null when the message has none. */
  value: string | null;
  /** The other observation, series and dataset attributes that have a value (no empty ones). */
  attributes: Record<string, string>;
}

/** The attributes whose value is the unit, in order of preference (ECB's DSDs call it UNIT). */
export const UNIT_ATTRIBUTES = ['UNIT_MEASURE', 'UNIT'] as const;

/**
 * Checks an answer's dimensions against the requested key, once per record: the answer must have one
 * dimension per key position, and each fixed position must hold one of the requested codes. A mismatch means
 * the server ignored the key (or the columns are not in DSD order), and the whole body is wrong.
 */
export function checkAgainstKey(record: SdmxRecord, p: SdmxParams, where: string, recordNumber: number): void {
  const positions = keyPositions(p.key);
  if (!positions) return;
  if (positions.length !== record.dimensions.length) {
    throw invalidPayload(
      `${where}: the answer has ${record.dimensions.length} dimensions (${record.dimensions.map(([id]) => id).join(', ')}) ` +
        `but params.key "${p.key}" has ${positions.length} positions`,
    );
  }
  positions.forEach((wanted, i) => {
    if (wanted === '') return;
    const [id, value] = record.dimensions[i]!;
    if (!wanted.split('+').includes(value)) {
      throw invalidPayload(
        `${where}: record ${recordNumber} has ${id} ${JSON.stringify(value)}, but params.key "${p.key}" asks for ` +
          `${wanted} at position ${i + 1}: the key was not applied`,
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Transform

/** OBS_VALUE: blank or null → null (never 0), "NaN" too (SDMX's spelling of a missing number); a number → canonical. */
const ObsValue = z.preprocess(
  (input) => (typeof input === 'string' && input.trim() === 'NaN' ? null : input),
  decimalValue('expected a number, a blank or NaN'),
);

/** A dimension value: a code, which the key grammar cannot hold when empty or when it contains "." or "|". */
function dimensionIssue(value: string): string | undefined {
  if (value === '') return 'empty dimension value';
  if (!/^[^.|]+$/.test(value)) return 'a dimension value cannot contain "." or "|" (the key separators)';
  return undefined;
}

/**
 * An observation as the readers hand it over, checked under its SDMX component names, so that a rejection
 * says TIME_PERIOD and OBS_VALUE, and names a wrong dimension by its DSD id.
 */
const RecordSchema = z.preprocess(
  (raw) => {
    const r = (raw ?? {}) as Partial<SdmxRecord>;
    return { dimensions: r.dimensions, TIME_PERIOD: r.period, OBS_VALUE: r.value, attributes: r.attributes };
  },
  z
    .object({
      dimensions: z.array(z.tuple([z.string().min(1), z.string()])).min(1, 'no dimensions'),
      TIME_PERIOD: z
        .string()
        .trim()
        .min(1, 'empty')
        .regex(/^\d{4}[0-9A-Za-z:.+/-]*$/, 'expected an SDMX time period such as 2023, 2023-Q1, 2023-01 or 2023-01-04'),
      OBS_VALUE: ObsValue,
      // A blank attribute is no attribute (compactAttributes leaves out "").
      attributes: z.record(
        z.string(),
        z.string().transform((v) => (v.trim() === '' ? '' : v)),
      ),
    })
    .superRefine((r, ctx) => {
      for (const [id, value] of r.dimensions) {
        const issue = dimensionIssue(value);
        if (issue) ctx.addIssue({ code: 'custom', path: [id], message: `${issue} (${JSON.stringify(value)})` });
      }
    }),
);

/** "ABW.A.UNE_DEAP_RT.SEX_T.AGE_YTHADULT_YGE15 2011": the key and period, whatever of them is there. */
function label(raw: unknown): string {
  const r = (raw ?? {}) as { dimensions?: unknown; period?: unknown };
  const dims = Array.isArray(r.dimensions)
    ? r.dimensions.map((d) => (Array.isArray(d) ? String(d[1]) : '?')).join('.')
    : '';
  const text = [dims, typeof r.period === 'string' ? r.period : ''].filter(Boolean).join(' ');
  return `SDMX observation ${text || (JSON.stringify(raw)?.slice(0, 80) ?? String(raw))}`;
}

/** An observation once checked (TIME_PERIOD and OBS_VALUE by their SDMX names). */
export type SdmxObservation = z.output<typeof RecordSchema>;

export const sdmxRecord: RecordRule<Pick<SdmxParams, 'dataflow'>, SdmxObservation> = {
  schema: RecordSchema,
  label,
  rows: (r, p) => {
    const attributes = { ...r.attributes };
    let unit: string | null = null;
    for (const name of UNIT_ATTRIBUTES) {
      const value = attributes[name];
      if (!value) continue;
      unit = value;
      delete attributes[name];
      break;
    }
    return [
      {
        // The SDMX key grammar after the dataflow (it is the standard's own key); the dimensions by DSD id.
        seriesKey: `${p.dataflow}|${r.dimensions.map(([, value]) => value).join('.')}`,
        dimensions: Object.fromEntries(r.dimensions),
        period: r.TIME_PERIOD,
        value: r.OBS_VALUE,
        unit,
        attributes: compactAttributes(attributes),
      },
    ];
  },
};
