// The read query layer: the one way TEDI's own consumers (the CLI `data` and `series` commands now, the HTTP
// API later) read the versioned store. Every query goes through the `tedi_read` contract
// (prisma/migrations/*_read_contract), never the tables in `public`, so what the CLI shows is what an
// analyst with the `tedi_reader` role gets in SQL.
//
// Inputs are validated with zod; every bad input is a ReadError that names the parameter and says what to
// give instead (unknown source or version, revision out of range, bad date, limit above MAX_LIMIT,
// malformed cursor), so the CLI and the API can both show it as it is (exit 2, HTTP 400).
// Paging is keyset paging on (series_key, period): a page's `next` cursor also pins the revision it was
// read at, so a revision committed between two pages changes nothing in the pages still to come.
// Filters and limits are SQL: nothing reads more rows than it returns, and streamObservations walks a
// server-side cursor, so a whole dataset never sits in memory.
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { parseIsoTime } from '../../lib/iso-time';

/** The largest page any list function returns. */
export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;
/** Rows fetched per round trip by streamObservations. */
export const STREAM_BATCH = 2_000;

export type ReadErrorCode =
  | 'invalid'
  | 'unknown_source'
  | 'unknown_version'
  | 'revision_out_of_range'
  | 'bad_date'
  | 'limit_too_large'
  | 'bad_cursor';

/** Bad input to a read: `parameter` is the input's name (source, version, asOf, limit, after, ...). */
export class ReadError extends Error {
  override name = 'ReadError';
  constructor(
    readonly parameter: string,
    readonly code: ReadErrorCode,
    /** What is wrong and what to give instead, without the parameter's name. */
    readonly detail: string,
  ) {
    super(`${parameter}: ${detail}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Input schemas

const sourceName = z
  .string({ error: 'missing: give a source name, e.g. world_bank_agriculture' })
  .regex(/^[a-z0-9_-]+$/, 'must be a catalog name such as world_bank_agriculture');
const versionLabel = z
  .string()
  .trim()
  .min(1, 'needs a version label, e.g. current')
  .max(200, 'is too long for a version label')
  .default('current');
const revisionNumber = z
  .number({ error: 'must be a revision number, e.g. 1' })
  .int('must be a whole revision number, e.g. 1')
  .min(0, 'must be 0 or more (0: before the first revision)')
  .max(2_147_483_647, 'is too large for a revision number');
const limit = z
  .number({ error: `must be a whole number from 1 to ${MAX_LIMIT}, e.g. 100` })
  .int(`must be a whole number from 1 to ${MAX_LIMIT}, e.g. 100`)
  .min(1, `must be a whole number from 1 to ${MAX_LIMIT}, e.g. 100`)
  .default(DEFAULT_LIMIT);
const cursor = z.string().min(1, 'is empty: give the `next` of the previous page, or leave it out').optional();
const dimensions = z
  .record(
    z.string().min(1, 'a dimension name cannot be empty, e.g. country'),
    z.string({ error: 'dimension values are strings, e.g. {"country": "BEN"}' }),
  )
  .optional();
const periodBound = z.string().trim().min(1, 'needs a period label, e.g. 2020').optional();
/** A revision number, or an instant (Date or ISO 8601 text) meaning the latest revision created by then. */
const asOf = z.union([z.number(), z.instanceof(Date), z.string()]).optional();

const ObservationsInput = z.object({
  source: sourceName,
  version: versionLabel,
  asOf,
  series: z
    .union([z.string().min(1, 'needs a series key'), z.array(z.string().min(1, 'needs a series key'))])
    .optional(),
  dimensions,
  periodFrom: periodBound,
  periodTo: periodBound,
  limit,
  after: cursor,
});
export type ObservationsQuery = z.input<typeof ObservationsInput>;

const SeriesInput = z.object({
  source: sourceName,
  version: versionLabel,
  dimensions,
  prefix: z.string().min(1, 'needs the start of a series key, e.g. AG.PRD').optional(),
  limit,
  after: cursor,
});
export type SeriesQuery = z.input<typeof SeriesInput>;

const DiffInput = z.object({
  source: sourceName,
  version: versionLabel,
  from: revisionNumber,
  to: revisionNumber,
  limit,
  after: cursor,
});
export type DiffQuery = z.input<typeof DiffInput>;

const VersionInput = z.object({ source: sourceName, version: versionLabel });

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) {
    const limitValue = (parsed.data as { limit?: number }).limit;
    if (limitValue !== undefined && limitValue > MAX_LIMIT) {
      throw new ReadError(
        'limit',
        'limit_too_large',
        `${limitValue} is above the cap of ${MAX_LIMIT}: page with the \`next\` cursor, or stream`,
      );
    }
    return parsed.data;
  }
  const issue = parsed.error.issues[0]!;
  throw new ReadError(issue.path.map(String).join('.') || 'input', 'invalid', issue.message);
}

// ---------------------------------------------------------------------------------------------------------
// Cursors: opaque to callers, base64url JSON.

function encodeCursor(parts: (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeCursor(text: string, shape: 'observation' | 'series'): (string | number)[] {
  const bad = () =>
    new ReadError(
      'after',
      'bad_cursor',
      `"${text}" is not a cursor of this list: give the \`next\` of the previous page`,
    );
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parts)) throw bad();
  if (shape === 'series') {
    if (parts.length !== 2 || parts[0] !== 's' || typeof parts[1] !== 'string') throw bad();
  } else if (
    parts.length !== 4 ||
    parts[0] !== 'o' ||
    !Number.isInteger(parts[1]) ||
    typeof parts[2] !== 'string' ||
    typeof parts[3] !== 'string'
  ) {
    throw bad();
  }
  return parts as (string | number)[];
}

// ---------------------------------------------------------------------------------------------------------
// Results

export interface SourceRow {
  source: string;
  title: string;
  organization: string;
  vertical: string;
  connector: string;
  cadence: string;
  isActive: boolean;
  version: string | null;
  dataset: string | null;
  currentRevision: number;
  checkEnabled: boolean | null;
  lastCheckedAt: Date | null;
  lastSuccessAt: Date | null;
  nextCheckAt: Date | null;
  dueBy: Date | null;
  freshness: 'fresh' | 'overdue' | 'never_checked' | 'on_event' | 'inactive';
  breakerState: 'open' | 'closed' | null;
  breakerOpenedAt: Date | null;
  consecutiveFailures: number | null;
  reliabilityScore: number | null;
}

export interface RevisionRow {
  revision: number;
  createdAt: Date;
  recordCount: number;
  recordsAdded: number;
  recordsUpdated: number;
  recordsRemoved: number;
  recordsKept: number;
  checksum: string;
  /** The source's release token (e.g. World Bank lastupdated) seen when the revision was made. */
  probeToken: string | null;
  acceptedOverride: string | null;
}

export interface SeriesRow {
  seriesKey: string;
  dimensions: Record<string, string> | null;
}

export interface ObservationRow {
  seriesKey: string;
  dimensions: Record<string, string> | null;
  period: string;
  /** Exact decimal text, no float rounding. */
  value: string | null;
  unit: string | null;
  attributes: Record<string, unknown> | null;
  /** The revision that stored this value. */
  validFrom: number;
}

export interface DiffRow {
  seriesKey: string;
  period: string;
  change: 'added' | 'updated' | 'removed';
  oldValue: string | null;
  newValue: string | null;
  oldUnit: string | null;
  newUnit: string | null;
  oldAttributes: Record<string, unknown> | null;
  newAttributes: Record<string, unknown> | null;
}

/** A dataset version as the query layer found it. */
export interface ResolvedVersion {
  source: string;
  version: string;
  currentRevision: number;
}

export interface Page<R> {
  rows: R[];
  /** Cursor of the next page (pass as `after`), null on the last page. */
  next: string | null;
}

export interface ObservationsPage extends Page<ObservationRow>, ResolvedVersion {
  /** The revision read: the one asked for, the one current at the date, or the latest. 0: nothing yet. */
  revision: number;
}

// ---------------------------------------------------------------------------------------------------------
// Queries

type Queryable = Pick<Pool, 'query'>;

export async function listSources(pool: Queryable): Promise<SourceRow[]> {
  const { rows } = await pool.query<SourceRow>(
    `SELECT source, title, organization, vertical, connector, cadence, is_active AS "isActive", version, dataset,
            current_revision AS "currentRevision", check_enabled AS "checkEnabled",
            last_checked_at AS "lastCheckedAt", last_success_at AS "lastSuccessAt", next_check_at AS "nextCheckAt",
            due_by AS "dueBy", freshness, breaker_state AS "breakerState", breaker_opened_at AS "breakerOpenedAt",
            consecutive_failures AS "consecutiveFailures", reliability_score AS "reliabilityScore"
       FROM tedi_read.sources ORDER BY source, version`,
  );
  return rows;
}

/** The dataset version, or a ReadError naming `source` or `version` with what exists. */
export async function resolveVersion(pool: Queryable, source: string, version = 'current'): Promise<ResolvedVersion> {
  const input = parse(VersionInput, { source, version });
  const { rows } = await pool.query<{ version: string | null; current_revision: number }>(
    'SELECT version, current_revision FROM tedi_read.sources WHERE source = $1 ORDER BY version',
    [input.source],
  );
  if (rows.length === 0) {
    const names = await pool.query<{ source: string }>('SELECT DISTINCT source FROM tedi_read.sources ORDER BY 1');
    throw new ReadError(
      'source',
      'unknown_source',
      `no source named "${input.source}". Sources: ${names.rows.map((r) => r.source).join(', ') || 'none'}`,
    );
  }
  const found = rows.find((r) => r.version === input.version);
  if (!found) {
    const labels = rows.flatMap((r) => (r.version === null ? [] : [r.version]));
    throw new ReadError(
      'version',
      'unknown_version',
      `source "${input.source}" has no version "${input.version}". Versions: ${labels.join(', ') || 'none'}`,
    );
  }
  return { source: input.source, version: input.version, currentRevision: found.current_revision };
}

function checkRevision(v: ResolvedVersion, revision: number, parameter: string, allowZero = false): void {
  const low = allowZero ? 0 : 1;
  if (revision >= low && revision <= v.currentRevision) return;
  const name = `${v.source}/${v.version}`;
  const range = allowZero ? `0 (before the first) to ${v.currentRevision}` : `1 to ${v.currentRevision}`;
  throw new ReadError(
    parameter,
    'revision_out_of_range',
    v.currentRevision === 0 && !allowZero ? `${name} has no revisions yet` : `${name} has revisions ${range}`,
  );
}

export async function listRevisions(pool: Queryable, source: string, version = 'current'): Promise<RevisionRow[]> {
  const v = await resolveVersion(pool, source, version);
  const { rows } = await pool.query<RevisionRow>(
    `SELECT revision, created_at AS "createdAt", record_count AS "recordCount", records_added AS "recordsAdded",
            records_updated AS "recordsUpdated", records_removed AS "recordsRemoved", records_kept AS "recordsKept",
            checksum, probe_token AS "probeToken", accepted_override AS "acceptedOverride"
       FROM tedi_read.revisions WHERE source = $1 AND version = $2 ORDER BY revision`,
    [v.source, v.version],
  );
  return rows;
}

/** Builds `AND ...` clauses with numbered parameters. */
class Where {
  readonly params: unknown[];
  private readonly clauses: string[] = [];
  constructor(initial: unknown[]) {
    this.params = [...initial];
  }
  /** Adds a clause whose placeholders `?` take `values`, in order. */
  with(clause: string, ...values: unknown[]): void {
    let i = 0;
    this.clauses.push(
      clause.replace(/\?/g, () => {
        this.params.push(values[i++]);
        return `$${this.params.length}`;
      }),
    );
  }
  sql(): string {
    return this.clauses.map((c) => ` AND ${c}`).join('');
  }
}

export async function listSeries(pool: Queryable, query: SeriesQuery): Promise<Page<SeriesRow> & ResolvedVersion> {
  const input = parse(SeriesInput, query);
  const v = await resolveVersion(pool, input.source, input.version);
  const where = new Where([v.source, v.version]);
  if (input.dimensions) where.with('dimensions @> ?::jsonb', JSON.stringify(input.dimensions));
  if (input.prefix !== undefined) where.with('left(series_key, ?) = ?', input.prefix.length, input.prefix);
  if (input.after) where.with('series_key > ?', decodeCursor(input.after, 'series')[1]);
  where.params.push(input.limit + 1);
  const limitParam = `$${where.params.length}`;
  const { rows } = await pool.query<SeriesRow>(
    `SELECT series_key AS "seriesKey", dimensions FROM tedi_read.series
      WHERE source = $1 AND version = $2${where.sql()}
      ORDER BY series_key LIMIT ${limitParam}`,
    where.params,
  );
  const more = rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  return { ...v, rows: page, next: more ? encodeCursor(['s', page[page.length - 1]!.seriesKey]) : null };
}

interface ObservationsPlan {
  version: ResolvedVersion;
  revision: number;
  /** FROM + WHERE, parameters in `params`. */
  from: string;
  params: unknown[];
  cursor: [string, string] | null;
}

async function planObservations(pool: Queryable, input: z.output<typeof ObservationsInput>): Promise<ObservationsPlan> {
  const v = await resolveVersion(pool, input.source, input.version);
  const after = input.after ? decodeCursor(input.after, 'observation') : null;
  let revision: number;
  const asOf = input.asOf;
  if (typeof asOf === 'number') {
    if (!Number.isInteger(asOf)) throw new ReadError('asOf', 'invalid', 'must be a whole revision number, e.g. 1');
    checkRevision(v, asOf, 'asOf');
    revision = asOf;
  } else if (asOf !== undefined) {
    const at = asOf instanceof Date ? asOf : parseIsoTime(asOf);
    if (!at || Number.isNaN(at.getTime())) {
      throw new ReadError(
        'asOf',
        'bad_date',
        `"${String(asOf)}" is not an ISO date or time: give e.g. 2026-03-01 or 2026-03-01T06:00:00Z (UTC unless it has an offset)`,
      );
    }
    const { rows } = await pool.query<{ r: number }>('SELECT tedi_read.revision_at($1, $2, $3) AS r', [
      v.source,
      v.version,
      at,
    ]);
    revision = rows[0]!.r;
  } else {
    // The cursor pins the revision of the first page, so later pages read the same data.
    revision = after ? (after[1] as number) : v.currentRevision;
  }
  if (after && after[1] !== revision) {
    throw new ReadError(
      'after',
      'bad_cursor',
      `this cursor was made reading revision ${after[1]}, not ${revision}: give the same asOf as for the first page`,
    );
  }
  if (after && (after[1] as number) > v.currentRevision) {
    throw new ReadError('after', 'bad_cursor', `this cursor names revision ${after[1]}, which does not exist`);
  }
  const where = new Where([v.source, v.version, revision]);
  if (input.series !== undefined) {
    const keys = Array.isArray(input.series) ? input.series : [input.series];
    if (keys.length === 1) where.with('series_key = ?', keys[0]);
    else where.with('series_key = ANY(?::text[])', keys);
  }
  if (input.dimensions) where.with('dimensions @> ?::jsonb', JSON.stringify(input.dimensions));
  if (input.periodFrom !== undefined) where.with('period >= ?', input.periodFrom);
  if (input.periodTo !== undefined) where.with('period <= ?', input.periodTo);
  const cursorAt: [string, string] | null = after ? [after[2] as string, after[3] as string] : null;
  return {
    version: v,
    revision,
    from: `FROM tedi_read.observations_as_of($1, $2, $3) WHERE true${where.sql()}`,
    params: where.params,
    cursor: cursorAt,
  };
}

/**
 * Rows after the cursor's (series_key, period), whose values are parameters $key and $key+1. The row
 * comparison alone is not an index condition (its columns come from two tables), so every page would walk
 * the series index from the start, and walking a million rows by pages of 10,000 would cost O(N²); the
 * redundant `series_key >= $key` bounds that walk to the page's own series.
 */
const keysetAfter = (key: number) => ` AND series_key >= $${key} AND (series_key, period) > ($${key}, $${key + 1})`;

const OBSERVATION_COLUMNS = `series_key AS "seriesKey", dimensions, period, value::text AS value, unit, attributes,
                             valid_from AS "validFrom"`;

/** One page of observations as of a revision or a date (default: the latest), ordered by (series, period). */
export async function observations(pool: Queryable, query: ObservationsQuery): Promise<ObservationsPage> {
  const input = parse(ObservationsInput, query);
  const plan = await planObservations(pool, input);
  const params = [...plan.params];
  let keyset = '';
  if (plan.cursor) {
    params.push(plan.cursor[0], plan.cursor[1]);
    keyset = keysetAfter(params.length - 1);
  }
  params.push(input.limit + 1);
  const { rows } = await pool.query<ObservationRow>(
    `SELECT ${OBSERVATION_COLUMNS} ${plan.from}${keyset} ORDER BY series_key, period LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  const last = page[page.length - 1];
  return {
    ...plan.version,
    revision: plan.revision,
    rows: page,
    next: more && last ? encodeCursor(['o', plan.revision, last.seriesKey, last.period]) : null,
  };
}

/** How many observations match (the same filters as `observations`, without paging). */
export async function countObservations(
  pool: Queryable,
  query: Omit<ObservationsQuery, 'limit' | 'after'>,
): Promise<{ revision: number; count: number } & ResolvedVersion> {
  const input = parse(ObservationsInput, query);
  const plan = await planObservations(pool, input);
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n ${plan.from}`, plan.params);
  return { ...plan.version, revision: plan.revision, count: Number(rows[0]!.n) };
}

export interface ObservationStream extends AsyncIterable<ObservationRow> {
  /** The version and revision read; known once the first row is asked for (or `ready` awaited). */
  ready: Promise<ResolvedVersion & { revision: number }>;
}

/**
 * Every matching observation, in (series, period) order, through a server-side cursor fetched `batch` rows
 * at a time inside one read-only REPEATABLE READ transaction: one consistent snapshot, and never more than
 * a batch in memory. `limit` is not capped here (leave it out for all rows). Stopping early (break) closes
 * the cursor and gives the connection back.
 */
export function streamObservations(
  pool: Pool,
  query: Omit<ObservationsQuery, 'limit'> & { limit?: number },
  opts: { batch?: number } = {},
): ObservationStream {
  const batch = opts.batch ?? STREAM_BATCH;
  let resolveReady!: (v: ResolvedVersion & { revision: number }) => void;
  let rejectReady!: (e: unknown) => void;
  const ready = new Promise<ResolvedVersion & { revision: number }>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  async function* rows(): AsyncGenerator<ObservationRow> {
    const { limit: wanted, ...rest } = query;
    if (wanted !== undefined && (!Number.isInteger(wanted) || wanted < 1)) {
      throw new ReadError('limit', 'invalid', 'must be a whole number of 1 or more, or left out for every row');
    }
    let client: PoolClient | undefined;
    try {
      const input = parse(ObservationsInput, { ...rest, limit: 1 });
      client = await pool.connect();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const plan = await planObservations(client, input);
      resolveReady({ ...plan.version, revision: plan.revision });
      const params = [...plan.params];
      let keyset = '';
      if (plan.cursor) {
        params.push(plan.cursor[0], plan.cursor[1]);
        keyset = keysetAfter(params.length - 1);
      }
      let limitSql = '';
      if (wanted !== undefined) {
        params.push(wanted);
        limitSql = ` LIMIT $${params.length}`;
      }
      await client.query(
        `DECLARE tedi_read_stream NO SCROLL CURSOR FOR
         SELECT ${OBSERVATION_COLUMNS} ${plan.from}${keyset} ORDER BY series_key, period${limitSql}`,
        params,
      );
      for (;;) {
        const { rows: chunk } = await client.query<ObservationRow>(`FETCH ${batch} FROM tedi_read_stream`);
        for (const row of chunk) yield row;
        if (chunk.length < batch) break;
      }
      await client.query('COMMIT');
    } catch (err) {
      rejectReady(err);
      throw err;
    } finally {
      // Also reached when the consumer stops early: ROLLBACK closes the cursor (a no-op after COMMIT).
      if (client) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release();
      }
    }
  }
  const iterable = rows();
  return { ready, [Symbol.asyncIterator]: () => iterable };
}

/** What changed between two revisions, per (series, period), in that order, paged like `observations`. */
export async function diff(pool: Queryable, query: DiffQuery): Promise<Page<DiffRow> & ResolvedVersion> {
  const input = parse(DiffInput, query);
  const v = await resolveVersion(pool, input.source, input.version);
  checkRevision(v, input.from, 'from', true);
  checkRevision(v, input.to, 'to', true);
  const params: unknown[] = [v.source, v.version, input.from, input.to];
  let keyset = '';
  if (input.after) {
    const after = decodeCursor(input.after, 'observation');
    if (after[1] !== input.to) {
      throw new ReadError(
        'after',
        'bad_cursor',
        'this cursor is not of this diff: give the `next` of its previous page',
      );
    }
    params.push(after[2], after[3]);
    keyset = 'WHERE (series_key, period) > ($5, $6)';
  }
  params.push(input.limit + 1);
  const { rows } = await pool.query<DiffRow>(
    `SELECT series_key AS "seriesKey", period, change, old_value::text AS "oldValue", new_value::text AS "newValue",
            old_unit AS "oldUnit", new_unit AS "newUnit", old_attributes AS "oldAttributes",
            new_attributes AS "newAttributes"
       FROM tedi_read.diff($1, $2, $3, $4) ${keyset}
      ORDER BY series_key, period LIMIT $${params.length}`,
    params,
  );
  const more = rows.length > input.limit;
  const page = more ? rows.slice(0, input.limit) : rows;
  const last = page[page.length - 1];
  return { ...v, rows: page, next: more && last ? encodeCursor(['o', input.to, last.seriesKey, last.period]) : null };
}

// ---------------------------------------------------------------------------------------------------------
// CSV: the export's one spelling (the API's format=csv; the CLI has the same columns).

/** The columns of an observations CSV: attributes and dimensions as JSON. */
export const OBSERVATION_CSV_HEADER = ['series_key', 'period', 'value', 'unit', 'attributes', 'dimensions'];

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvField(value: string | null): string {
  if (value === null) return '';
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One observation as a CSV line (with its line break), columns as OBSERVATION_CSV_HEADER. */
export function observationCsvLine(o: ObservationRow): string {
  return `${[
    o.seriesKey,
    o.period,
    o.value,
    o.unit,
    o.attributes ? JSON.stringify(o.attributes) : null,
    o.dimensions ? JSON.stringify(o.dimensions) : null,
  ]
    .map(csvField)
    .join(',')}\n`;
}
