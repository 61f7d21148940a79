// The zod schemas of the HTTP read API: they validate every request (fastify-type-provider-zod's validator),
// shape every JSON response (its serializer), and are the OpenAPI 3.1 document (@fastify/swagger through
// the same provider's transform). One definition each, so the document cannot drift from what is checked.
import { z } from 'zod';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../activities/store/read';

/** `dim.NAME=value`: a dimension filter in a query string. */
export const DIMENSION_PARAM = /^dim\.([A-Za-z0-9_][A-Za-z0-9_.-]*)$/;

const wholeNumber = (what: string, example: number) =>
  z.coerce
    .number({ error: `must be ${what}, e.g. ${example}` })
    .int(`must be ${what}, e.g. ${example}`)
    .min(0, `must be ${what}, e.g. ${example}`)
    .max(2_147_483_647, 'is too large');

const limit = z.coerce
  .number({ error: `must be a whole number from 1 to ${MAX_LIMIT}, e.g. ${DEFAULT_LIMIT}` })
  .int(`must be a whole number from 1 to ${MAX_LIMIT}, e.g. ${DEFAULT_LIMIT}`)
  .min(1, `must be a whole number from 1 to ${MAX_LIMIT}, e.g. ${DEFAULT_LIMIT}`)
  .max(MAX_LIMIT, `is above the cap of ${MAX_LIMIT}: page with the \`next\` cursor, or use format=csv or parquet`)
  .optional()
  .describe(`page size, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT}; with format=csv or parquet: every row)`);

const version = z
  .string()
  .min(1, 'needs a version label, e.g. current')
  .optional()
  .describe('dataset version label (default: current)');
const after = z
  .string()
  .min(1, 'is empty: give the `next` of the previous page, or leave it out')
  .optional()
  .describe('the `next` cursor of the previous page');

export const SourceParams = z.object({
  source: z
    .string()
    .regex(/^[a-z0-9_-]+$/, 'must be a catalog name such as world_bank_agriculture')
    .describe('source name, e.g. world_bank_agriculture'),
});

/**
 * Query strings that take dimension filters: the named parameters, plus any number of `dim.NAME=value`.
 * Any other name is refused (a misspelt parameter is an error, not silently ignored).
 */
function withDimensions<S extends z.ZodRawShape>(shape: S) {
  const known = new Set(Object.keys(shape));
  return z
    .object(shape)
    .catchall(z.unknown())
    .superRefine((query, ctx) => {
      for (const [key, value] of Object.entries(query)) {
        if (known.has(key)) continue;
        if (!key.startsWith('dim.') && !key.startsWith('dim[') && key !== 'dim') {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `is not a parameter of this route: known are ${[...known].join(', ')}, and dim.NAME=value`,
          });
        } else if (!DIMENSION_PARAM.test(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'is not a dimension filter: write dim.NAME=value, e.g. dim.country=BEN',
          });
        } else if (typeof value !== 'string' || value === '') {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'needs exactly one non-empty value, e.g. dim.country=BEN',
          });
        }
      }
    })
    .describe('dimension filters: any number of dim.NAME=value (e.g. dim.country=BEN), all must match');
}

/** The `dim.NAME=value` entries of a validated query as `{NAME: value}`, or undefined when there are none. */
export function dimensionsOf(query: Record<string, unknown>): Record<string, string> | undefined {
  const found: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const m = DIMENSION_PARAM.exec(key);
    if (m && typeof value === 'string') found[m[1]!] = value;
  }
  return Object.keys(found).length ? found : undefined;
}

export const VersionQuery = z.object({ version }).strict();

export const SeriesQuery = withDimensions({
  version,
  prefix: z.string().min(1, 'needs the start of a series key, e.g. AG.PRD').optional().describe('series key prefix'),
  limit,
  after,
});

export const ObservationsQuery = withDimensions({
  version,
  revision: wholeNumber('a revision number', 1).optional().describe('read as of this revision (default: the latest)'),
  asOf: z
    .string()
    .min(1, 'needs an ISO date or time, e.g. 2026-03-01')
    .optional()
    .describe('read what TEDI held at this ISO 8601 date or time (UTC unless it has an offset)'),
  series: z
    .union([z.string().min(1, 'needs a series key'), z.array(z.string().min(1, 'needs a series key'))])
    .optional()
    .describe('only this series key (repeat for several)'),
  from: z.string().min(1, 'needs a period label, e.g. 2010').optional().describe('first period (compared as text)'),
  to: z.string().min(1, 'needs a period label, e.g. 2020').optional().describe('last period (compared as text)'),
  limit,
  after,
  format: z
    .enum(['json', 'csv', 'parquet'], { error: 'must be json, csv or parquet' })
    .optional()
    .describe('json (default, one page), csv or parquet (every matching row, streamed)'),
});

export const DiffQuery = z
  .object({
    from: wholeNumber('a revision number', 1).describe('the older revision (0: before the first)'),
    to: wholeNumber('a revision number', 2).describe('the newer revision'),
    version,
    limit,
    after,
  })
  .strict();

// ---------------------------------------------------------------------------------------------------------
// Responses

const json = z.record(z.string(), z.unknown());
const dimensions = z.record(z.string(), z.string()).nullable();

export const ErrorBody = z
  .object({
    statusCode: z.number().int(),
    error: z.string().describe('unknown_source, bad_parameter, limit_too_large, bad_cursor, bad_date, …'),
    parameter: z.string().nullable().describe('the query or path parameter at fault'),
    message: z.string().describe('what is wrong and what to give instead'),
  })
  .meta({ id: 'Error' });

export const Source = z
  .object({
    source: z.string(),
    title: z.string(),
    organization: z.string(),
    vertical: z.string(),
    connector: z.string(),
    cadence: z.string(),
    isActive: z.boolean(),
    version: z.string().nullable(),
    dataset: z.string().nullable(),
    currentRevision: z.number().int(),
    checkEnabled: z.boolean().nullable(),
    lastCheckedAt: z.date().nullable(),
    lastSuccessAt: z.date().nullable(),
    nextCheckAt: z.date().nullable(),
    dueBy: z.date().nullable(),
    freshness: z.enum(['fresh', 'overdue', 'never_checked', 'on_event', 'inactive']),
    breakerState: z.enum(['open', 'closed']).nullable(),
    breakerOpenedAt: z.date().nullable(),
    consecutiveFailures: z.number().int().nullable(),
    reliabilityScore: z.number().nullable(),
  })
  .meta({ id: 'Source' });

export const SourcesResponse = z.object({ sources: z.array(Source) });

export const Revision = z
  .object({
    revision: z.number().int(),
    createdAt: z.date(),
    recordCount: z.number().int(),
    recordsAdded: z.number().int(),
    recordsUpdated: z.number().int(),
    recordsRemoved: z.number().int(),
    recordsKept: z.number().int(),
    checksum: z.string(),
    probeToken: z.string().nullable(),
    acceptedOverride: z.string().nullable(),
  })
  .meta({ id: 'Revision' });

const versioned = {
  source: z.string(),
  version: z.string(),
  currentRevision: z.number().int().describe('the latest revision of the version'),
};
const next = z.string().nullable().describe('cursor of the next page (pass as `after`); null on the last page');

export const RevisionsResponse = z.object({ ...versioned, revisions: z.array(Revision) });

export const Series = z.object({ seriesKey: z.string(), dimensions }).meta({ id: 'Series' });
export const SeriesResponse = z.object({ ...versioned, series: z.array(Series), next });

export const Observation = z
  .object({
    seriesKey: z.string(),
    dimensions,
    period: z.string(),
    value: z.string().nullable().describe('exact decimal text'),
    unit: z.string().nullable(),
    attributes: json.nullable(),
    validFrom: z.number().int().describe('the revision that stored this value'),
  })
  .meta({ id: 'Observation' });
export const ObservationsResponse = z.object({
  ...versioned,
  revision: z.number().int().describe('the revision read (0: nothing yet)'),
  observations: z.array(Observation),
  next,
});

export const Change = z
  .object({
    seriesKey: z.string(),
    period: z.string(),
    change: z.enum(['added', 'updated', 'removed']),
    oldValue: z.string().nullable(),
    newValue: z.string().nullable(),
    oldUnit: z.string().nullable(),
    newUnit: z.string().nullable(),
    oldAttributes: json.nullable(),
    newAttributes: json.nullable(),
  })
  .meta({ id: 'Change' });
export const DiffResponse = z.object({
  ...versioned,
  from: z.number().int(),
  to: z.number().int(),
  changes: z.array(Change),
  next,
});

export const HealthResponse = z.object({ status: z.enum(['ok']), database: z.enum(['ok']) });
