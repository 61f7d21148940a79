// UN Comtrade (comtradeapi.un.org): annual or monthly merchandise trade of one reporter, per flow,
// partner and commodity. Format facts this module relies on (official comtradeapicall package, comtradr):
//  - with a subscription key: GET /data/v1/get/{type}/{freq}/{cl}?…, key in `Ocp-Apim-Subscription-Key`.
//    The key is not this module's business: the source's configuration sends it (auth_type api_key,
//    api_key_param Ocp-Apim-Subscription-Key, api_key_in header: never the `subscription-key` query
//    parameter, so no URL carries it), applied by the HttpClient (sources/kit/http/auth.ts);
//  - without a key: GET /public/v1/preview/{type}/{freq}/{cl}?…, same parameters, at most 500 rows. With no
//    key stored the source runs this way (credentialOptional below), and `ctx.http.authenticated` is false;
//  - the body is {"elapsedTime","count","data":[…],"error":""}; a non-empty `error` is the API refusing;
//  - no paging: a result is silently cut at the row cap, so a response holding exactly the cap is incomplete;
//  - change signal: /public/v1/getDa (keyless) or /data/v1/getDa (key) list a datasetChecksum per period;
//  - 429, or 403 with Retry-After, is throttling (the HttpClient turns both into RateLimited);
//  - without motCode=0, customsCode=C00 and partner2Code=0 the answer holds, per commodity, the total row
//    AND its breakdown rows (mode of transport, customs procedure, second partner), all with the same
//    reporter, flow, partner and commodity; client libraries send the three fixed, and so do we
//    (TOTALS_FILTER). See transform for how a breakdown row that still arrives is kept apart.
// Bodies are streamed by the kit's JSON reader (a keyed result may hold 100,000 rows), numbers kept as their text.
import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType, invalidPayload } from '../../lib/failures';
import { decimalValue } from '../kit/decimal';
import { defineSource, eachPartition } from '../kit/define-source';
import type { CredentialRule } from '../kit/http/auth';
import { arrayRecords } from '../kit/json-stream';
import { boundedInt, codeList, codeListOr, sourceParams } from '../kit/params';
import { joinedToken, latestStamp } from '../kit/probe';
import { compactAttributes, recordLabel, textField } from '../kit/records';
import { payloadOf, refuseOn } from '../kit/refusals';
import { seriesIdentity } from '../kit/series-key';
import type { Connector, ObservationRow, ProbeResult, SourceContext } from '../kit/types';

// ---------------------------------------------------------------------------------------------------
// Params

/** The keyless preview never returns more than this many rows per request. */
export const PREVIEW_ROW_CAP = 500;
/** Row cap of a free subscription key (comtradr); premium keys allow more (comtradeapicall: 250K). */
export const KEY_ROW_CAP = 100_000;

const M49 = /^\d{1,4}$/;
const YEAR = /^\d{4}$/;
const MONTH = /^\d{4}(?:0[1-9]|1[0-2])$/;
const FLOW = { of: 'flow codes', example: 'X', pattern: /^[A-Z]{1,3}$/, upperCase: true };
/** TOTAL, an aggregation level keyword (AG2 = every 2-digit chapter…) or an HS/SITC/BEC code. */
const CMD = { of: 'commodity codes', example: 'TOTAL', pattern: /^(?:TOTAL|ALL|AG[1-6]|\d{1,6})$/, upperCase: true };

export const ComtradeParamsSchema = sourceParams('UN Comtrade', '{"reporterCode":"204","periods":["2023"]}', {
  reporterCode: z
    .string({ error: 'reporterCode must be an M49 code as a string, e.g. "204" (Benin)' })
    .trim()
    .regex(M49, 'reporterCode must be an M49 code such as "204" (Benin)')
    .default('204'),
  // Left out: the last 3 complete years (or 12 complete months), computed at each run.
  periods: codeList('periods', {
    of: 'periods',
    example: '2023',
    pattern: /^\d{4}(?:\d{2})?$/,
    entry: 'a period',
    hint: 'a period is a year such as "2023" or a month such as "202307"',
  }).optional(),
  typeCode: z.enum(['C', 'S'], { error: 'typeCode must be "C" (goods) or "S" (services)' }).default('C'),
  freqCode: z.enum(['A', 'M'], { error: 'freqCode must be "A" (annual) or "M" (monthly)' }).default('A'),
  clCode: z
    .string({ error: 'clCode must be a classification such as "HS"' })
    .trim()
    .regex(/^[A-Z][A-Z0-9]{1,3}$/, 'clCode must be a classification code such as "HS", "SITC" or "EB"')
    .default('HS'),
  flowCodes: codeListOr('flowCodes', { ...FLOW, hint: 'a flow code is 1 to 3 letters, e.g. "X" or "M"' }, ['X', 'M']),
  partnerCode: z
    .string({ error: 'partnerCode must be an M49 code as a string, e.g. "0" (World)' })
    .trim()
    .regex(M49, 'partnerCode must be an M49 code such as "0" (World)')
    .default('0'),
  cmdCodes: codeListOr('cmdCodes', { ...CMD, hint: 'use TOTAL, ALL, AG1 to AG6 or an HS code such as "52"' }, [
    'TOTAL',
  ]),
  // With a key, the row cap asked for; a response holding this many rows is treated as cut.
  maxRecords: boundedInt('maxRecords', 1, 250_000, KEY_ROW_CAP), // 250000: the premium cap
}).superRefine((p, ctx) => {
  const [pattern, form] = p.freqCode === 'A' ? [YEAR, 'a year such as "2023"'] : [MONTH, 'a month such as "202307"'];
  p.periods?.forEach((period, i) => {
    if (!pattern.test(period)) {
      ctx.addIssue({
        code: 'custom',
        path: ['periods', i],
        message: `with freqCode "${p.freqCode}" a period is ${form}`,
      });
    }
  });
});
export type ComtradeParams = z.output<typeof ComtradeParamsSchema>;

/** The last 3 complete years (annual) or the last 12 complete months (monthly) before `now`. */
export function defaultPeriods(freqCode: ComtradeParams['freqCode'], now = new Date()): string[] {
  const year = now.getUTCFullYear();
  if (freqCode === 'A') return [year - 3, year - 2, year - 1].map(String);
  const months: string[] = [];
  for (let back = 12; back >= 1; back--) {
    const d = new Date(Date.UTC(year, now.getUTCMonth() - back, 1));
    months.push(`${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return months;
}

const periodsOf = (params: ComtradeParams) => params.periods ?? defaultPeriods(params.freqCode);

// ---------------------------------------------------------------------------------------------------
// The {count, data, error} envelope, streamed (sources/kit/json-stream.ts)

export interface Envelope {
  /** Top-level scalars (count, error, elapsedTime; statusCode, message on an error body), numbers as text. */
  fields: Record<string, string | boolean | null>;
  /** What the top-level `data` held. */
  data: 'missing' | 'null' | 'array';
}

/**
 * Yields the elements of the top-level `data` array one by one while the body streams in, and fills
 * `envelope` with the other top-level scalars. Numbers stay as their text, so values keep every digit.
 */
export async function* envelopeRecords(
  bytes: AsyncIterable<Buffer>,
  where: string,
  envelope: Envelope,
): AsyncGenerator<unknown, number> {
  const end = yield* arrayRecords(bytes, {
    at: ['data'],
    where,
    expected: 'the {count, data, error} object',
    keep: (_key, kind) => kind === 'scalar',
    members: envelope.fields,
  });
  envelope.data = end.array;
  return end.records;
}

/** The API's own refusals: a non-empty `error`, or an error body ({statusCode, message}) with HTTP 200. */
const Refused = z.object({ error: z.string().refine((e) => e.trim() !== '') });
const ErrorBody = z.object({ message: z.string(), statusCode: z.unknown() });

function checkEnvelope(envelope: Envelope, where: string): void {
  refuseOn(Refused, envelope.fields, (e) => `${where}: UN Comtrade refused: ${e.error}`);
  if (envelope.data !== 'missing') return;
  refuseOn(
    ErrorBody,
    envelope.fields,
    (e) => `${where}: UN Comtrade refused${e.statusCode ? ` (${e.statusCode})` : ''}: ${e.message}`,
  );
  const keys = Object.keys(envelope.fields);
  throw invalidPayload(`${where}: no "data" array in the body (top-level keys: ${keys.join(', ') || 'none'})`);
}

// ---------------------------------------------------------------------------------------------------
// Requests

type Ctx = SourceContext<ComtradeParams>;

const describeQuery = (p: ComtradeParams, period: string) =>
  `reporter ${p.reporterCode}, period ${period}, flows ${p.flowCodes.join(',')}, partner ${p.partnerCode}, cmd ${p.cmdCodes.join(',')}`;

/** `/data/v1/<endpoint>` with a key, `/public/v1/<keyless endpoint>` without. */
function endpointUrl(ctx: Ctx, endpoint: 'get' | 'getDa', query: Record<string, string>): string {
  const { typeCode, freqCode, clCode } = ctx.params;
  const keyless = endpoint === 'get' ? 'preview' : endpoint;
  const path = ctx.http.authenticated ? `data/v1/${endpoint}` : `public/v1/${keyless}`;
  return `${ctx.baseUrl}/${path}/${typeCode}/${freqCode}/${clCode}?${new URLSearchParams(query)}`;
}

/**
 * The breakdown codes meaning "all of them": total over every mode of transport (motCode 0), customs
 * procedure (C00) and second partner (0, World). Sent with every data request, so that each flow,
 * partner and commodity comes back as its total row only, never next to its sea-freight part.
 */
export const TOTALS_FILTER = { motCode: '0', customsCode: 'C00', partner2Code: '0' } as const;

export function dataUrl(ctx: Ctx, period: string, maxRecords: number): string {
  const p = ctx.params;
  return endpointUrl(ctx, 'get', {
    reporterCode: p.reporterCode,
    period,
    partnerCode: p.partnerCode,
    flowCode: p.flowCodes.join(','),
    cmdCode: p.cmdCodes.join(','),
    // Totals over partner2, customs procedure and mode of transport: one row per flow, partner and commodity.
    ...TOTALS_FILTER,
    breakdownMode: 'classic',
    includeDesc: 'true',
    maxRecords: String(maxRecords),
  });
}

/** Streams one request's envelope (the key, if any, is the HttpClient's to send and to mask). */
async function* envelopeOf(ctx: Ctx, url: string, where: string, envelope: Envelope): AsyncGenerator<unknown> {
  const res = await ctx.http.request(url);
  yield* envelopeRecords(ctx.http.stream(res), where, envelope);
  checkEnvelope(envelope, where);
}

const previewNotice = (ctx: Ctx) =>
  'UN Comtrade: no subscription key configured, using the keyless preview API, which returns at most ' +
  `${PREVIEW_ROW_CAP} rows per request. Store a key (npm run tedi -- set-key ${ctx.sourceName}) for complete data.`;

/** Record fields kept from the ~50 the API sends: what transform reads, plus identifying context. */
const KEPT_FIELDS = [
  'typeCode',
  'freqCode',
  'period',
  'reporterCode',
  'reporterISO',
  'flowCode',
  'flowDesc',
  'partnerCode',
  'partnerISO',
  'partner2Code',
  'customsCode',
  'motCode',
  'cmdCode',
  'cmdDesc',
  'primaryValue',
  'netWgt',
  'qty',
  'qtyUnitAbbr',
  'isReported',
] as const;

/** The record slimmed to KEPT_FIELDS; anything that is not an object passes as is, for transform to reject. */
export function slimRecord(record: unknown): unknown {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return record;
  const r = record as Record<string, unknown>;
  return Object.fromEntries(KEPT_FIELDS.filter((f) => f in r).map((f) => [f, r[f]]));
}

async function* fetchPeriod(ctx: Ctx, period: string): AsyncGenerator<unknown, number> {
  const keyed = ctx.http.authenticated;
  const cap = keyed ? ctx.params.maxRecords : Math.min(PREVIEW_ROW_CAP, ctx.params.maxRecords);
  const where = `UN Comtrade ${keyed ? 'data' : 'preview'} (${describeQuery(ctx.params, period)})`;
  const envelope: Envelope = { fields: {}, data: 'missing' };
  // A preview holds at most 500 rows and is only known to be cut once all of it is read, so it is
  // held back to mark its rows; a keyed result (up to 100,000 rows) streams straight through.
  const held: unknown[] = [];
  let rows = 0;
  for await (const record of envelopeOf(ctx, dataUrl(ctx, period, cap), where, envelope)) {
    rows++;
    if (keyed) yield slimRecord(record);
    else held.push(slimRecord(record));
  }
  const capped = rows >= cap;
  if (capped && keyed) {
    // Thrown after streaming: the fetch transaction rolls back everything staged by this run.
    throw ApplicationFailure.nonRetryable(
      `${where}: the response holds ${rows} rows, the row cap, so it is cut. Split the request: ` +
        'fewer periods per source, or fewer/finer cmdCodes (e.g. chapters instead of AG6).',
      FailureType.PartialResult,
    );
  }
  if (capped) {
    ctx.log(
      `UN Comtrade: the keyless preview for period ${period} returned exactly ${rows} rows: the data is CAPPED ` +
        'and incomplete. Its rows are marked capped=true; configure a subscription key to get everything.',
      { period, rows },
    );
  }
  for (const record of held)
    yield capped && typeof record === 'object' && record ? { ...record, capped: true } : record;
  ctx.heartbeat({ period, rows });
  ctx.log(rows === 0 ? `UN Comtrade: no data for period ${period}` : 'UN Comtrade period fetched', { period, rows });
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Probe

export const AvailabilityRowSchema = z.object({
  period: textField,
  datasetChecksum: textField.pipe(z.string().min(1, 'datasetChecksum is empty')),
  lastReleased: z.string().nullish(),
});

/**
 * The query's identity, so that changing what is asked for (or adding a key, which lifts the preview
 * cap) is a change even when no dataset checksum moved.
 */
function queryFingerprint(ctx: Ctx): string {
  const { periods: _periods, ...query } = ctx.params;
  const mode = ctx.http.authenticated ? 'key' : 'preview';
  return (
    crypto
      .createHash('sha256')
      // The totals filter is part of what is asked: adding it re-fetched data stored before it existed.
      .update(JSON.stringify([mode, query, TOTALS_FILTER]))
      .digest('hex')
      .slice(0, 12)
  );
}

async function probe(ctx: Ctx): Promise<ProbeResult> {
  if (!ctx.http.authenticated) ctx.log(previewNotice(ctx));
  const { reporterCode } = ctx.params;
  const periods = [...periodsOf(ctx.params)].sort();
  const where = `UN Comtrade availability (reporter ${reporterCode}, periods ${periods.join(',')})`;
  const envelope: Envelope = { fields: {}, data: 'missing' };
  const url = endpointUrl(ctx, 'getDa', { reporterCode, period: periods.join(',') });
  const checksums = new Map<string, Set<string>>();
  const released: string[] = [];
  let index = 0;
  for await (const row of envelopeOf(ctx, url, where, envelope)) {
    const { period, datasetChecksum, lastReleased } = payloadOf(
      AvailabilityRowSchema,
      row,
      `${where}: data[${index++}]`,
    );
    checksums.set(period, (checksums.get(period) ?? new Set()).add(datasetChecksum));
    if (lastReleased) released.push(lastReleased);
  }
  const stamps = periods.map(
    (p) => [p, checksums.has(p) ? [...(checksums.get(p) ?? [])].sort().join('+') : null] as const,
  );
  const latest = latestStamp(released);
  return {
    token: `${queryFingerprint(ctx)} ${joinedToken(stamps)}`,
    note: latest ? `lastReleased ${latest}` : `no released data for periods ${periods.join(',')}`,
  };
}

// ---------------------------------------------------------------------------------------------------
// Transform

/** Numbers arrive as their JSON text (the fetch keeps every digit); real numbers are tolerated too. */
const Amount = decimalValue('expected a number or null');

export const ComtradeRecordSchema = z.object({
  period: textField.pipe(z.string().regex(/^\d{4}(?:\d{2})?$/, 'expected YYYY or YYYYMM')),
  reporterCode: textField.pipe(z.string().regex(M49, 'expected an M49 code')),
  flowCode: z.string().min(1),
  flowDesc: z.string().nullish(),
  partnerCode: textField.pipe(z.string().regex(M49, 'expected an M49 code')),
  cmdCode: textField.pipe(z.string().min(1)),
  cmdDesc: z.string().nullish(),
  primaryValue: Amount,
  netWgt: Amount.optional(),
  qty: Amount.optional(),
  qtyUnitAbbr: z.string().nullish(),
  // Breakdown codes; absent (an older or trimmed body) means the total, which is what the request asks for.
  motCode: textField.pipe(z.string().trim().min(1, 'motCode is empty')).default(TOTALS_FILTER.motCode),
  customsCode: textField.pipe(z.string().trim().min(1, 'customsCode is empty')).default(TOTALS_FILTER.customsCode),
  partner2Code: textField.pipe(z.string().regex(M49, 'expected an M49 code')).default(TOTALS_FILTER.partner2Code),
  capped: z.literal(true).optional(),
});

/** "2023" stays; "202307" becomes "2023-07", the store's month label. */
const periodLabel = (period: string) => (period.length === 6 ? `${period.slice(0, 4)}-${period.slice(4)}` : period);

/** The breakdown dimensions, written "mot:2100" in the key (sources/kit/series-key.ts, tagged). */
const BREAKDOWN = ['mot', 'customs', 'partner2'] as const;

function rowsOf(r: z.output<typeof ComtradeRecordSchema>): ObservationRow[] {
  // A total row (motCode 0, customsCode C00, partner2Code 0: what every request asks for) keeps the plain
  // key, so series stay where they were. A breakdown row, should one still arrive, gets its codes in the
  // key: it is a different series (e.g. exports by sea), never a second value for the total's key.
  const total =
    r.motCode === TOTALS_FILTER.motCode &&
    r.customsCode === TOTALS_FILTER.customsCode &&
    r.partner2Code === TOTALS_FILTER.partner2Code;
  const breakdown = total
    ? []
    : ([
        [BREAKDOWN[0], r.motCode],
        [BREAKDOWN[1], r.customsCode],
        [BREAKDOWN[2], r.partner2Code],
      ] as const);
  const series = seriesIdentity(
    [
      ['reporter', r.reporterCode],
      ['flow', r.flowCode],
      ['partner', r.partnerCode],
      ['commodity', r.cmdCode],
      ...breakdown,
    ],
    ['comtrade'],
    { tagged: BREAKDOWN },
  );
  const attributes = compactAttributes({
    netWgt: r.netWgt,
    qty: r.qty,
    // "N/A" is the API's label for qtyUnitCode -1: no quantity unit.
    qtyUnit: r.qtyUnitAbbr === 'N/A' ? null : r.qtyUnitAbbr,
    cmdDesc: r.cmdDesc,
    flowDesc: r.flowDesc,
    // Kept on every row, so that a stored value says what it is the total of.
    motCode: r.motCode,
    customsCode: r.customsCode,
    partner2Code: r.partner2Code,
    capped: r.capped,
  });
  return [{ ...series, period: periodLabel(r.period), value: r.primaryValue, unit: 'USD', attributes }];
}

// ---------------------------------------------------------------------------------------------------
// Connector

export const comtradeConnector: Connector<ComtradeParams, unknown> & CredentialRule<ComtradeParams> = {
  ...defineSource({
    name: 'un_comtrade',
    params: ComtradeParamsSchema,
    probe,
    // One getDa (data availability) request for all the periods: probed at every master tick.
    cheapProbe: true,
    fetch: (ctx) => {
      if (!ctx.http.authenticated) ctx.log(previewNotice(ctx));
      // One request per period: the API limits the span of one request, and a smaller result stays under the cap.
      return eachPartition(periodsOf, fetchPeriod)(ctx);
    },
    record: {
      schema: ComtradeRecordSchema,
      label: (raw) => `UN Comtrade record ${recordLabel(raw, ['period', 'flowCode', 'cmdCode'])}`,
      rows: rowsOf,
    },
    snapshot: {
      emptyHint: (params) =>
        `UN Comtrade has no data for reporter ${params.reporterCode}, periods ${periodsOf(params).join(', ')} ` +
        `(flows ${params.flowCodes.join(',')}, partner ${params.partnerCode}, cmd ${params.cmdCodes.join(',')}): ` +
        'check reporterCode and periods in the source params, or wait until the periods are released',
    },
  }),
  // Without a stored key the keyless preview answers (capped at 500 rows, marked): not a configuration error.
  credentialOptional: () => true,
};

/** One raw record's observations (the params do not change them). */
const DEFAULTS = ComtradeParamsSchema.parse({});
export const transformComtradeRecord = (raw: unknown) => comtradeConnector.transform(raw, DEFAULTS);
