// World Bank Indicators API v2: one request per indicator and page, for a ';'-joined list of countries.
// Format quirks this module tolerates (docs, client libraries, real bodies):
//  - a 2-element array [metadata, records]; metadata counts are numbers now, numeric strings in old docs;
//  - an empty result is [{page:0,pages:0,per_page:0,total:0,sourceid:null,lastupdated:null}, null];
//  - a bad indicator or parameter is a 1-element array holding an error envelope, with HTTP 200;
//  - `value` is a number or null (the latest year is usually not yet published).
// Records are validated one by one in `transform`, so one odd row is rejected into the log instead of
// failing the whole run; the page envelope is validated here, where a mismatch means the format changed.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType, invalidPayload } from '../../lib/failures';
import { decimalValue } from '../kit/decimal';
import { type Connector, type ObservationRow, type ProbeResult, RowRejected, type SourceContext } from '../kit/types';
import { formatIssues } from '../kit/zod-issues';

// ---------------------------------------------------------------------------------------------------
// Params

const INDICATOR_CODE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const COUNTRY_CODE = /^[A-Za-z]{2,3}$/;
// A year, a month (2012M01) or a quarter (2012Q1), alone or as a range; also "YTD:2010".
const DATE_POINT = String.raw`\d{4}(?:M(?:0[1-9]|1[0-2])|Q[1-4])?`;
const DATE_RANGE = new RegExp(`^(?:${DATE_POINT}(?::${DATE_POINT})?|YTD:\\d{4})$`);
/** Upper bound claimed by third-party docs for per_page; larger values are not known to work. */
const MAX_PER_PAGE = 32500;
const PARAM_NAMES = 'indicators, countries, dateRange, perPage';

const noDuplicates = (values: string[]) => new Set(values).size === values.length;
/** Same-format range ends compare as strings ("2000" < "2023", "2012M01" < "2012M12"). */
const rangeInOrder = (range: string) => {
  const [from, to] = range.split(':');
  return to === undefined || from === 'YTD' || (from ?? '') <= to;
};

export const WorldBankParamsSchema = z.strictObject(
  {
    indicators: z
      .array(
        z
          .string({ error: 'indicators: every entry must be a string such as "AG.PRD.CROP.XD"' })
          .trim()
          .regex(INDICATOR_CODE, 'indicators: a code is letters, digits and dots, such as "AG.PRD.CROP.XD"'),
        { error: 'indicators is required: give a list of indicator codes, e.g. ["AG.PRD.CROP.XD"]' },
      )
      .min(1, 'indicators is empty: list at least one indicator code, e.g. ["AG.PRD.CROP.XD"]')
      .refine(noDuplicates, 'indicators lists a code twice: remove the duplicate'),
    countries: z
      .array(
        z
          .string({ error: 'countries: every entry must be a string such as "BJ" or "BEN"' })
          .trim()
          .regex(COUNTRY_CODE, 'countries: use ISO 3166 alpha-2 or alpha-3 codes such as "BJ" or "BEN"')
          .transform((code) => code.toUpperCase()),
        { error: 'countries must be a list of ISO codes, e.g. ["BJ"]' },
      )
      .min(1, 'countries is empty: list at least one ISO code, e.g. ["BJ"], or leave it out for the default')
      .refine(noDuplicates, 'countries lists a code twice: remove the duplicate')
      .default(['BJ']),
    dateRange: z
      .string({ error: 'dateRange must be a string such as "2000:2023"' })
      .trim()
      .regex(DATE_RANGE, 'dateRange must look like "2000:2023" or "2023" (or "2012M01:2012M12", "2012Q1:2013Q4")')
      .refine(rangeInOrder, 'dateRange ends before it starts: write it as "from:to", e.g. "2000:2023"')
      .optional(),
    perPage: z
      .number({ error: 'perPage must be a number, e.g. 1000' })
      .int('perPage must be a whole number, e.g. 1000')
      .min(1, 'perPage must be at least 1 (default 1000)')
      .max(MAX_PER_PAGE, `perPage must be at most ${MAX_PER_PAGE} (default 1000)`)
      .default(1000),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown parameter ${issue.keys.join(', ')}: the World Bank connector takes ${PARAM_NAMES}`
        : `params must be an object with ${PARAM_NAMES}, e.g. {"indicators":["AG.PRD.CROP.XD"]}`,
  },
);
export type WorldBankParams = z.output<typeof WorldBankParamsSchema>;

// ---------------------------------------------------------------------------------------------------
// Response format

/** page/pages/per_page/total: numbers in current bodies, numeric strings in older docs ("per_page": "50"). */
const Count = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)], {
  error: 'expected a whole number or a numeric string',
});

export const WorldBankMetaSchema = z.object({
  page: Count,
  pages: Count,
  per_page: Count,
  total: Count,
  sourceid: z.union([z.string(), z.number()]).nullish(),
  // Date of the source database's last update; null only on an empty result.
  lastupdated: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a YYYY-MM-DD date')
    .nullable(),
});
export type WorldBankMeta = z.output<typeof WorldBankMetaSchema>;

/** [metadata, records]; records is null when total is 0. Each record is checked later, in `transform`. */
export const WorldBankPageSchema = z.tuple([WorldBankMetaSchema, z.array(z.unknown()).nullable()]);

/** The API's answer (with HTTP 200) to a bad indicator code or parameter. */
export const WorldBankErrorSchema = z.tuple([
  z.object({
    message: z
      .array(
        z.object({
          id: z.union([z.string(), z.number()]).optional(),
          key: z.string().optional(),
          value: z.string().optional(),
        }),
      )
      .min(1),
  }),
]);

/** number | null as documented; numeric strings (and "" for missing) tolerated. Output: decimal string or null. */
const ObservationValue = decimalValue('expected a number, a numeric string or null');

const Labelled = z.object({ id: z.string().min(1), value: z.string() });

export const WorldBankRecordSchema = z.object({
  indicator: Labelled,
  country: Labelled,
  // "" for some aggregates; the series key then falls back to country.id.
  countryiso3code: z.string().nullish(),
  date: z.string().min(1),
  value: ObservationValue,
  unit: z.string().nullish(),
  obs_status: z.string().nullish(),
  decimal: z.union([z.number(), z.string()]).nullish(),
});
export type WorldBankRecord = z.output<typeof WorldBankRecordSchema>;

/** One-line zod issues with their paths, e.g. `[0].per_page: expected a whole number...`. */

// ---------------------------------------------------------------------------------------------------
// Requests

/** One query against the API: an indicator for the configured countries and dates. */
export interface WorldBankRequest {
  indicator: string;
  countries: readonly string[];
  dateRange?: string;
}

const describe = (req: WorldBankRequest) =>
  `indicator ${req.indicator} (countries ${req.countries.join(';')}${req.dateRange ? `, date ${req.dateRange}` : ''})`;

export function worldBankUrl(baseUrl: string, req: WorldBankRequest, page: number, perPage: number): string {
  // format=json is required: the API answers XML by default.
  const query = ['format=json', `per_page=${perPage}`, `page=${page}`];
  if (req.dateRange) query.push(`date=${req.dateRange}`);
  const countries = req.countries.map(encodeURIComponent).join(';');
  const base = baseUrl.replace(/\/+$/, '');
  return `${base}/country/${countries}/indicator/${encodeURIComponent(req.indicator)}?${query.join('&')}`;
}

export interface WorldBankPage {
  meta: WorldBankMeta;
  records: unknown[];
}

/** Reads one parsed JSON body: error envelope → SourceRejected, anything off-format → InvalidPayload. */
export function parseWorldBankPage(body: unknown, req: WorldBankRequest): WorldBankPage {
  const rejected = WorldBankErrorSchema.safeParse(body);
  if (rejected.success) {
    const reasons = rejected.data[0].message.map((m) =>
      [m.id, m.key, m.value].filter((x) => x !== undefined).join(' '),
    );
    throw ApplicationFailure.nonRetryable(
      `World Bank rejected ${describe(req)}: ${reasons.join('; ')}. Check the codes in the data source params.`,
      FailureType.SourceRejected,
    );
  }
  const parsed = WorldBankPageSchema.safeParse(body);
  if (!parsed.success) {
    throw invalidPayload(
      `World Bank ${describe(req)}: not a v2 [metadata, records] body: ${formatIssues(parsed.error)}`,
    );
  }
  const [meta, records] = parsed.data;
  if (records === null && meta.total > 0) {
    throw invalidPayload(`World Bank ${describe(req)}: [1] (records) is null but metadata says total ${meta.total}`);
  }
  return { meta, records: records ?? [] };
}

async function getPage(
  ctx: SourceContext<WorldBankParams>,
  req: WorldBankRequest,
  page: number,
  perPage: number,
): Promise<WorldBankPage> {
  const body = await ctx.http.getJson(worldBankUrl(ctx.baseUrl, req, page, perPage));
  return parseWorldBankPage(body, req);
}

/** Pages are read one request at a time; if the dataset moves underneath, the pages no longer add up. */
function changedWhilePaging(req: WorldBankRequest, detail: string): ApplicationFailure {
  return ApplicationFailure.retryable(
    `World Bank ${describe(req)} changed while paging (${detail}); a retry reads a consistent snapshot`,
    FailureType.PartialResult,
  );
}

async function* fetchIndicator(ctx: SourceContext<WorldBankParams>, req: WorldBankRequest): AsyncGenerator<unknown> {
  let snapshot: WorldBankMeta | undefined;
  let yielded = 0;
  for (let page = 1; page <= (snapshot?.pages ?? 1); page++) {
    const { meta, records } = await getPage(ctx, req, page, ctx.params.perPage);
    snapshot ??= meta;
    if (meta.total !== snapshot.total || meta.lastupdated !== snapshot.lastupdated) {
      throw changedWhilePaging(
        req,
        `page ${page}: total ${snapshot.total} → ${meta.total}, lastupdated ${snapshot.lastupdated} → ${meta.lastupdated}`,
      );
    }
    ctx.heartbeat({ indicator: req.indicator, page, pages: snapshot.pages });
    yielded += records.length;
    yield* records;
  }
  if (yielded !== snapshot?.total) {
    throw changedWhilePaging(req, `metadata total ${snapshot?.total}, pages held ${yielded} records`);
  }
  ctx.log('World Bank indicator fetched', { indicator: req.indicator, pages: snapshot.pages, records: yielded });
}

// ---------------------------------------------------------------------------------------------------
// Connector

async function probe(ctx: SourceContext<WorldBankParams>): Promise<ProbeResult> {
  const { countries, dateRange } = ctx.params;
  // Sorted so that reordering the indicators in the catalog does not look like a change.
  const indicators = [...ctx.params.indicators].sort();
  const stamps: string[] = [];
  let latest: string | null = null;
  for (const indicator of indicators) {
    const { meta } = await getPage(ctx, { indicator, countries, dateRange }, 1, 1);
    stamps.push(`${indicator}=${meta.lastupdated ?? 'none'}`);
    if (meta.lastupdated && (latest === null || meta.lastupdated > latest)) latest = meta.lastupdated;
  }
  return { token: stamps.join(';'), note: latest ? `lastupdated ${latest}` : 'no lastupdated (empty result)' };
}

/** Best-effort "indicator country date" of a raw record, so a rejection says which row it was. */
function recordLabel(raw: unknown): string {
  const r = (raw ?? {}) as { indicator?: { id?: unknown }; countryiso3code?: unknown; date?: unknown };
  const parts = [r.indicator?.id, r.countryiso3code, r.date].filter((p) => typeof p === 'string' && p !== '');
  return parts.length > 0 ? parts.join(' ') : (JSON.stringify(raw)?.slice(0, 80) ?? String(raw));
}

/** Drops null, undefined and "" so that absent flags do not bloat the row hash. */
function compact(values: Record<string, unknown>): Record<string, unknown> | null {
  const kept = Object.entries(values).filter(([, v]) => v !== null && v !== undefined && v !== '');
  return kept.length > 0 ? Object.fromEntries(kept) : null;
}

export function transformWorldBankRecord(raw: unknown): ObservationRow[] {
  const parsed = WorldBankRecordSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RowRejected(`World Bank record ${recordLabel(raw)}: ${formatIssues(parsed.error)}`);
  }
  const r = parsed.data;
  return [
    {
      seriesKey: `${r.indicator.id}|${r.countryiso3code || r.country.id}`,
      period: r.date,
      value: r.value,
      unit: r.unit || null,
      attributes: compact({
        indicator: r.indicator.value,
        country: r.country.value,
        obs_status: r.obs_status,
        decimal: r.decimal,
      }),
    },
  ];
}

export const worldBankConnector: Connector<WorldBankParams, unknown> = {
  name: 'world-bank',
  paramsSchema: WorldBankParamsSchema,
  probe,
  async *fetch(ctx) {
    const { countries, dateRange } = ctx.params;
    for (const indicator of ctx.params.indicators) {
      yield* fetchIndicator(ctx, { indicator, countries, dateRange });
    }
  },
  transform: (raw) => transformWorldBankRecord(raw),
};
