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
import { type Connector, type ObservationRow, type ProbeResult, RowRejected, type SourceContext } from '../kit/types';
import { formatIssues } from '../kit/zod-issues';

// ---------------------------------------------------------------------------------------------------
// Params

const DATASET_ID = /^[A-Z0-9]+(?:_[A-Z0-9]+)*_[AQM]$/;
const REF_AREA = /^[A-Za-z0-9]{3}$/;
const PARAM_NAMES = 'indicators, refAreas';
const noDuplicates = (values: string[]) => new Set(values).size === values.length;

export const IlostatParamsSchema = z.strictObject(
  {
    indicators: z
      .array(
        z
          .string({ error: 'indicators: every entry must be a string such as "UNE_DEAP_SEX_AGE_RT_A"' })
          .trim()
          .regex(
            DATASET_ID,
            'indicators: a dataset id is the indicator and its frequency (_A, _Q, _M), e.g. "UNE_DEAP_SEX_AGE_RT_A"',
          ),
        { error: 'indicators is required: give a list of dataset ids, e.g. ["UNE_DEAP_SEX_AGE_RT_A"]' },
      )
      .min(1, 'indicators is empty: list at least one dataset id, e.g. ["UNE_DEAP_SEX_AGE_RT_A"]')
      .refine(noDuplicates, 'indicators lists an id twice: remove the duplicate'),
    refAreas: z
      .array(
        z
          .string({ error: 'refAreas: every entry must be a string such as "BEN"' })
          .trim()
          .regex(REF_AREA, 'refAreas: use ISO 3166 alpha-3 codes such as "BEN"')
          .transform((code) => code.toUpperCase()),
        { error: 'refAreas must be a list of ISO alpha-3 codes, e.g. ["BEN"]' },
      )
      .min(1, 'refAreas is empty: list at least one code, e.g. ["BEN"], or leave it out for the default')
      .refine(noDuplicates, 'refAreas lists a code twice: remove the duplicate')
      .default(['BEN']),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown parameter ${issue.keys.join(', ')}: the ILOSTAT connector takes ${PARAM_NAMES}`
        : `params must be an object with ${PARAM_NAMES}, e.g. {"indicators":["UNE_DEAP_SEX_AGE_RT_A"]}`,
  },
);
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
  // Sorted, so that reordering the ids in the catalog does not look like a change.
  const sorted = [...stamps].sort(([a], [b]) => (a < b ? -1 : 1));
  const latest = sorted
    .map(([, stamp]) => stamp)
    .sort()
    .at(-1);
  return { token: sorted.map(([id, stamp]) => `${id}=${stamp}`).join(';'), note: `last.update ${latest}` };
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

export function transformIlostatRow(raw: unknown): ObservationRow[] {
  const parsed = IlostatRowSchema.safeParse(raw);
  if (!parsed.success) {
    const r = (raw ?? {}) as Record<string, unknown>;
    const where = [r.indicator, r.ref_area, r.sex, r.classif1, r.time]
      .filter((p) => typeof p === 'string' && p)
      .join(' ');
    throw new RowRejected(`ILOSTAT row ${where || JSON.stringify(raw)?.slice(0, 80)}: ${formatIssues(parsed.error)}`);
  }
  const r = parsed.data;
  const dims = DIMENSIONS.flatMap((d) => (r[d] === undefined ? [] : [r[d]]));
  const attributes = Object.fromEntries(ATTRIBUTES.flatMap((a) => (r[a] ? [[a, r[a]]] : [])));
  return [
    {
      seriesKey: [r.indicator, r.ref_area, ...dims].join('|'),
      period: r.time,
      value: r.obs_value,
      unit: null,
      attributes: Object.keys(attributes).length > 0 ? attributes : null,
    },
  ];
}

export const ilostatConnector: Connector<IlostatParams, Record<string, string>> = {
  name: 'ilostat',
  paramsSchema: IlostatParamsSchema,
  probe,
  async *fetch(ctx) {
    for (const id of ctx.params.indicators) {
      for (const refArea of ctx.params.refAreas) yield* fetchDataset(ctx, id, refArea);
    }
  },
  transform: (raw) => transformIlostatRow(raw),
};
