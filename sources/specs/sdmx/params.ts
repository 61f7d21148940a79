// Params of the generic SDMX connector: which dataflow of which agency, which slice of it (the SDMX key),
// and how to ask for it. Every message names the field and the fix.
import { z } from 'zod';
import { sourceParams } from '../../kit/params';

/** SDMX IDType: letters, digits, `_`, `@`, `$`, `-` (dataflow ids, codes). */
const ID = /^[A-Za-z0-9_@$-]+$/;
/** Agency ids may be nested with dots (e.g. "SDMX.ESTAT"). */
const AGENCY = /^[A-Za-z][A-Za-z0-9_@$.-]*$/;
/** "1.0", "1.0.0", "2.1.0-draft"; or "latest". */
const VERSION = /^(?:latest|\d+(?:\.\d+){0,2}(?:-[A-Za-z0-9.]+)?)$/;
/** One key position: empty (wildcard) or codes joined by "+" (OR). */
const KEY = /^(?:all|[A-Za-z0-9_@$+-]*(?:\.[A-Za-z0-9_@$+-]*)*)$/;
/** An SDMX reporting period as a query bound: 2023, 2023-07, 2023-07-14, 2023-Q1, 2023-S1, 2023-W05, 2023-M07. */
const PERIOD = /^\d{4}(?:-(?:\d{2}(?:-\d{2})?|Q[1-4]|S[12]|W\d{2}|M\d{2}|A1))?$/;

export const SDMX_FORMATS = ['csv', 'json'] as const;
export const SDMX_FORMAT_VERSIONS = ['1.0.0', '2.0.0'] as const;
/**
 * `standard`: SDMX REST content negotiation (Accept: application/vnd.sdmx.data+csv / +json). `ecb`: the ECB
 * Data Portal's own `format=csvdata` / `format=jsondata` query parameter, whose CSV has a KEY column
 * ("EXR.M.USD.EUR.SP00.A") where SDMX-CSV has DATAFLOW, and SDMX-ML (XML) structures.
 */
export const SDMX_FLAVOURS = ['standard', 'ecb'] as const;

export const SdmxParamsSchema = sourceParams('SDMX', '{"agency":"ECB","dataflow":"EXR","key":"M.USD.EUR.SP00.A"}', {
  agency: z
    .string({ error: 'agency is required: the id of the agency maintaining the dataflow, e.g. "ILO" or "ECB"' })
    .trim()
    .regex(AGENCY, 'agency: an agency id is letters, digits, "_" and "-", e.g. "ILO" or "ECB"'),
  dataflow: z
    .string({ error: 'dataflow is required: the dataflow id, e.g. "DF_UNE_DEAP_SEX_AGE_RT" or "EXR"' })
    .trim()
    .regex(ID, 'dataflow: a dataflow id is letters, digits, "_" and "-", e.g. "DF_UNE_DEAP_SEX_AGE_RT"'),
  version: z
    .string({ error: 'version must be a string such as "1.0" or "latest"' })
    .trim()
    .regex(VERSION, 'version must be "latest" or a version such as "1.0" (what the provider lists for the dataflow)')
    .default('latest'),
  key: z
    .string({ error: 'key must be a string: the SDMX series key, e.g. "M.USD.EUR.SP00.A" or "BEN...."' })
    .trim()
    .regex(
      KEY,
      'key: the SDMX key is one position per dimension in DSD order, joined by ".", each empty (all values) or ' +
        'codes joined by "+", e.g. "BEN...." or "M.USD+GBP.EUR.SP00.A"; "all" (or "") for everything',
    )
    .transform((key) => (key === '' ? 'all' : key))
    .default('all'),
  startPeriod: z
    .string({ error: 'startPeriod must be a string such as "2010" or "2020-01"' })
    .trim()
    .regex(PERIOD, 'startPeriod must be a period such as "2010", "2020-01", "2020-Q1" or "2020-01-31"')
    .optional(),
  endPeriod: z
    .string({ error: 'endPeriod must be a string such as "2023" or "2023-12"' })
    .trim()
    .regex(PERIOD, 'endPeriod must be a period such as "2023", "2023-12", "2023-Q4" or "2023-12-31"')
    .optional(),
  format: z.enum(SDMX_FORMATS, { error: 'format must be "csv" (SDMX-CSV) or "json" (SDMX-JSON)' }).default('csv'),
  formatVersion: z
    .enum(SDMX_FORMAT_VERSIONS, {
      error:
        'formatVersion must be "1.0.0" (SDMX 2.1 formats) or "2.0.0" (SDMX 3.0 formats: SDMX-CSV 2.0, SDMX-JSON 2.0)',
    })
    .default('1.0.0'),
  flavour: z
    .enum(SDMX_FLAVOURS, {
      error:
        'flavour must be "standard" (SDMX content negotiation) or "ecb" (the ECB Data Portal: format=csvdata, KEY column)',
    })
    .default('standard'),
}).superRefine((p, ctx) => {
  // Same-format bounds compare as strings ("2010" < "2023", "2020-01" < "2020-12").
  if (p.startPeriod && p.endPeriod && p.startPeriod.length === p.endPeriod.length && p.startPeriod > p.endPeriod) {
    ctx.addIssue({
      code: 'custom',
      path: ['endPeriod'],
      message: `endPeriod ${p.endPeriod} is before startPeriod ${p.startPeriod}: swap them`,
    });
  }
  if (p.flavour === 'ecb' && p.formatVersion !== '1.0.0') {
    ctx.addIssue({
      code: 'custom',
      path: ['formatVersion'],
      message:
        'formatVersion: the "ecb" flavour asks for format=csvdata / jsondata, which have no version; leave it out',
    });
  }
});
export type SdmxParams = z.output<typeof SdmxParamsSchema>;

/** The key positions ("BEN...." → ["BEN", "", "", "", ""]); null for "all". */
export function keyPositions(key: string): string[] | null {
  return key === 'all' ? null : key.split('.');
}
