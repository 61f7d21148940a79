// ILOSTAT through its rplumber API (the one the official Rilostat package uses), as CSV:
//  - table of contents: GET {base}/metadata/toc/indicator/?lang=en&format=.csv, one row per dataset with
//    `id` (indicator + frequency, e.g. UNE_DEAP_SEX_AGE_RT_A) and `last.update` ("dd/mm/YYYY HH:MM:SS"),
//    the date Rilostat itself compares to decide a re-download: it is the probe;
//  - data: GET {base}/data/indicator/?id=<id>&ref_area=<ISO3>&format=.csv, the whole series in one CSV (no
//    paging): ref_area,source,indicator,sex,classif1[,classif2],time,obs_value,obs_status,note_classif,
//    note_indicator,note_source; strings quoted, numbers not, missing values blank. Datasets without a sex or
//    classification breakdown lack those columns, so only the identifying ones are required.
//  - a query too large for the server is refused with HTTP 413.
// Rows are validated one by one in `transform`; the header is checked here, where a mismatch means the
// format changed.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { configurationError, FailureType, invalidPayload } from '../../lib/failures';
import { csvTable, requireColumns } from '../kit/csv';
import { decimalValue } from '../kit/decimal';
import { defineSource, eachPartition } from '../kit/define-source';
import { codeList, codeListOr, sourceParams } from '../kit/params';
import { cartesian } from '../kit/partitions';
import { joinedToken, latestStamp } from '../kit/probe';
import { compactAttributes, recordLabel } from '../kit/records';
import { seriesIdentity } from '../kit/series-key';
import type { ObservationRow, ProbeResult, SourceContext } from '../kit/types';

// ---------------------------------------------------------------------------------------------------
// Params

const DATASET = { of: 'dataset ids', example: 'UNE_DEAP_SEX_AGE_RT_A', pattern: /^[A-Z0-9]+(?:_[A-Z0-9]+)*_[AQM]$/ };
const AREA = { of: 'ISO alpha-3 codes', example: 'BEN', pattern: /^[A-Za-z0-9]{3}$/, upperCase: true };
export const IlostatParamsSchema = sourceParams('ILOSTAT', '{"indicators":["UNE_DEAP_SEX_AGE_RT_A"]}', {
  indicators: codeList('indicators', {
    ...DATASET,
    entry: 'an id',
    hint: 'a dataset id is the indicator and its frequency (_A, _Q, _M), e.g. "UNE_DEAP_SEX_AGE_RT_A"',
  }),
  refAreas: codeListOr('refAreas', { ...AREA, hint: 'use ISO 3166 alpha-3 codes such as "BEN"' }, ['BEN']),
});
export type IlostatParams = z.output<typeof IlostatParamsSchema>;

// ---------------------------------------------------------------------------------------------------
// CSV bodies

export const TOC_COLUMNS = ['id', 'last.update'] as const;
export const DATA_COLUMNS = ['ref_area', 'indicator', 'time', 'obs_value'] as const;
/** The breakdown columns, in series-key order; a dataset has those of its breakdown. */
const DIMENSIONS = ['sex', 'classif1', 'classif2'] as const;
const ATTRIBUTES = ['source', 'obs_status', 'note_classif', 'note_indicator', 'note_source'] as const;

/** The rows of one CSV answer, its header checked for `required` (sources/kit/csv.ts, csvTable). */
function checkedCsv(ctx: SourceContext<unknown>, res: Response, required: readonly string[], where: string) {
  return csvTable(ctx.http.stream(res), { where, header: requireColumns(required, where) });
}

// ---------------------------------------------------------------------------------------------------
// Probe

export const tocUrl = (baseUrl: string) => `${baseUrl}/metadata/toc/indicator/?lang=en&format=.csv`;

const LAST_UPDATE = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/;

/** "30/05/2024 12:00:00" → "2024-05-30T12:00:00", so that stamps sort and read the same everywhere. */
export function isoLastUpdate(text: string): string | undefined {
  const m = LAST_UPDATE.exec(text.trim());
  return m ? `${m[3]}-${m[2]}-${m[1]}T${m[4]}:${m[5]}:${m[6]}` : undefined;
}

async function probe(ctx: SourceContext<IlostatParams>): Promise<ProbeResult> {
  const wanted = new Set(ctx.params.indicators);
  const stamps = new Map<string, string>();
  const label = `${ctx.sourceName} table of contents`;
  const res = await ctx.http.request(tocUrl(ctx.baseUrl));
  for await (const row of checkedCsv(ctx, res, TOC_COLUMNS, label)) {
    const id = row.id ?? '';
    if (!wanted.has(id)) continue;
    const stamp = isoLastUpdate(row['last.update'] ?? '');
    if (!stamp) {
      throw invalidPayload(
        `${label}: ${id} has last.update ${JSON.stringify(row['last.update'])}, expected dd/mm/YYYY HH:MM:SS`,
      );
    }
    stamps.set(id, stamp);
    // The TOC lists every dataset (megabytes); the rest of it is not needed.
    if (stamps.size === wanted.size) break;
  }
  const unknown = ctx.params.indicators.filter((id) => !stamps.has(id));
  if (unknown.length > 0) {
    throw configurationError(
      `ILOSTAT has no dataset ${unknown.join(', ')} in its table of contents: fix params.indicators ` +
        '(a dataset id is the indicator and its frequency, e.g. UNE_DEAP_SEX_AGE_RT_A).',
    );
  }
  return { token: joinedToken([...stamps]), note: `last.update ${latestStamp([...stamps.values()])}` };
}

// ---------------------------------------------------------------------------------------------------
// Fetch

export function dataUrl(baseUrl: string, id: string, refArea: string): string {
  return `${baseUrl}/data/indicator/?id=${encodeURIComponent(id)}&ref_area=${encodeURIComponent(refArea)}&format=.csv`;
}

async function* fetchDataset(
  ctx: SourceContext<IlostatParams>,
  id: string,
  refArea: string,
): AsyncGenerator<Record<string, string>> {
  const label = `${ctx.sourceName} ${id} for ${refArea}`;
  const res = await ctx.http.request(dataUrl(ctx.baseUrl, id, refArea), { acceptStatuses: [413] });
  if (res.status === 413) {
    await res.body?.cancel();
    throw ApplicationFailure.nonRetryable(
      `${label}: ILOSTAT refused the query as too large (HTTP 413). Narrow it: fewer params.refAreas or ` +
        'params.indicators per source, or split the source in two.',
      FailureType.SourceRejected,
    );
  }
  let rows = 0;
  for await (const row of checkedCsv(ctx, res, DATA_COLUMNS, label)) {
    // A filter the server ignored would bring the world's rows under this source's name.
    if (row.ref_area?.toUpperCase() !== refArea) {
      throw invalidPayload(
        `${label}: row ${rows + 1} is for ref_area ${JSON.stringify(row.ref_area)}; the ref_area filter was not applied`,
      );
    }
    rows++;
    yield row;
  }
  ctx.heartbeat({ indicator: id, refArea, rows });
  ctx.log(rows === 0 ? 'ILOSTAT returned no rows' : 'ILOSTAT dataset fetched', { indicator: id, refArea, rows });
}

// ---------------------------------------------------------------------------------------------------
// Transform

const optionalText = z.string().optional();

export const IlostatRowSchema = z.object({
  ref_area: z.string().regex(/^[A-Z0-9]{3}$/, 'expected a 3-letter area code such as BEN'),
  indicator: z.string().min(1, 'expected an indicator code'),
  sex: optionalText,
  classif1: optionalText,
  classif2: optionalText,
  // A year, a quarter (2023Q1) or a month (2023M01).
  time: z.string().regex(/^\d{4}(?:Q[1-4]|M(?:0[1-9]|1[0-2]))?$/, 'expected a period such as 2023, 2023Q1 or 2023M01'),
  // CSV cells are text: a blank is no value; a number takes the one canonical spelling.
  obs_value: decimalValue('expected a number or a blank'),
  source: optionalText,
  obs_status: optionalText,
  note_classif: optionalText,
  note_indicator: optionalText,
  note_source: optionalText,
});

/** A raw row's "indicator area sex classif1 time", so a rejection says which row it was. */
const rowLabel = (raw: unknown) =>
  `ILOSTAT row ${recordLabel(raw, ['indicator', 'ref_area', 'sex', 'classif1', 'time'])}`;

function rowsOf(r: z.output<typeof IlostatRowSchema>): ObservationRow[] {
  const breakdown = DIMENSIONS.flatMap((d) => (r[d] === undefined ? [] : [[d, r[d]] as const]));
  const series = seriesIdentity([['indicator', r.indicator], ['ref_area', r.ref_area], ...breakdown]);
  return [{ ...series, period: r.time, value: r.obs_value, unit: null, attributes: compactAttributes(r, ATTRIBUTES) }];
}

export const ilostatConnector = defineSource({
  name: 'ilostat',
  params: IlostatParamsSchema,
  probe,
  // One read of the table of contents for every indicator: probed at every master tick.
  cheapProbe: true,
  fetch: eachPartition(
    (p: IlostatParams) => cartesian({ id: p.indicators, refArea: p.refAreas }),
    (ctx, { id, refArea }) => fetchDataset(ctx, id, refArea),
  ),
  record: { schema: IlostatRowSchema, label: rowLabel, rows: rowsOf },
});

/** One raw row's observations (the decimal tests call it directly). */
export const transformIlostatRow = (raw: unknown) => ilostatConnector.transform(raw, { indicators: [], refAreas: [] });
