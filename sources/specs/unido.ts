// UNIDO INDSTAT (industrial statistics by country, ISIC activity and variable, yearly).
// UNIDO has no public API any more: the data portal (stat.unido.org) lets users download CSV exports,
// so the main path imports such a file, handed in by an operator (event location) or served at a
// configured params.feedUrl. Exports come in several shapes, all read here:
//  - long, with a header: country, year, ISIC, variable, value, unit (names vary: see COLUMN_NAMES);
//  - wide, with a header: one column per year ("2015", "2016", …) instead of year + value;
//  - the headerless INDSTAT bulk CSV: table code, country (M49), year, ISIC, ISIC combination, value,
//    unit table, source, [last updated,] unit (as R readers of those files name the columns).
// '...' (INDSTAT's "not available") and empty cells are null values.
// Secondary path, only with credentials: the legacy REST API (2015, likely defunct): POST /rest/dbdata
// with a form body and Username/Password headers, answering {"data":[{country, variable, isic,
// isicComb, year, value}], "api.responseStatus", "api.responseText", …}.
// Both paths stage the same raw record shape, so one transform serves them.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { configurationError, FailureType, invalidPayload } from '../../lib/failures';
import { csvRecords } from '../kit/csv';
import { canonicalDecimal, parseDecimal } from '../kit/decimal';
import { defineSource } from '../kit/define-source';
import { checksumOfLocation, describeLocation, openLocation } from '../kit/open-location';
import { codeListOr, sourceParams } from '../kit/params';
import { cartesian } from '../kit/partitions';
import { compactAttributes, recordLabel, textField } from '../kit/records';
import { payloadOf, refuseOn } from '../kit/refusals';
import { withoutSecret } from '../kit/secrets';
import { seriesIdentity } from '../kit/series-key';
import { type ObservationRow, type ProbeResult, RowRejected, type SourceContext } from '../kit/types';

// ---------------------------------------------------------------------------------------------------
// Params

const M49 = /^\d{1,3}$/;
const COUNTRY = { of: 'M49 codes', example: '204', pattern: M49, hint: 'use M49 codes such as "204" (Benin)' };
const VARIABLE = { of: 'INDSTAT variable codes', example: '20', pattern: /^\d{2}$/ };
const Year = (name: string) =>
  z
    .number({ error: `${name} must be a year such as 2015` })
    .int(`${name} must be a whole year`)
    .min(1950, `${name} must be 1950 or later`)
    .max(2100, `${name} must be 2100 or earlier`);

export const UnidoParamsSchema = sourceParams('UNIDO', '{"mode":"file","feedUrl":"https://example.org/indstat.csv"}', {
  // auto: the event's file, else feedUrl, else the legacy API when credentials are stored.
  mode: z
    .enum(['auto', 'file', 'legacy_api'], { error: 'mode must be "auto", "file" or "legacy_api"' })
    .default('auto'),
  feedUrl: z.string({ error: 'feedUrl must be a URL or a file path' }).trim().min(1, 'feedUrl is empty').optional(),
  encoding: z.enum(['utf8', 'latin1'], { error: 'encoding must be "utf8" or "latin1"' }).default('utf8'),
  // Legacy API only.
  db: z.string({ error: 'db must be a database name' }).trim().min(1, 'db is empty').optional(),
  countries: codeListOr('countries', COUNTRY, ['204']),
  variables: codeListOr('variables', { ...VARIABLE, hint: 'use INDSTAT variable codes such as "20" (Value added)' }, [
    '01',
    '04',
    '05',
    '14',
    '20',
  ]),
  startYear: Year('startYear').default(2000),
  endYear: Year('endYear').optional(),
}).refine((p) => p.endYear === undefined || p.endYear >= p.startYear, {
  path: ['endYear'],
  message: 'endYear is before startYear',
});
export type UnidoParams = z.output<typeof UnidoParamsSchema>;

type Ctx = SourceContext<UnidoParams>;

// ---------------------------------------------------------------------------------------------------
// Vocabulary

/** INDSTAT variable codes (legacy dbinfo, bulk table codes) and the names exports use for them. */
export const INDSTAT_VARIABLES: Readonly<Record<string, string>> = {
  '01': 'Establishments',
  '04': 'Employees',
  '05': 'Wages and salaries',
  '14': 'Output',
  '20': 'Value added',
  '21': 'Gross fixed capital formation',
  '31': 'Female employees',
  '51': 'Index of industrial production',
};
const VARIABLE_BY_NAME = new Map(Object.values(INDSTAT_VARIABLES).map((name) => [name.toLowerCase(), name]));

/** One name per variable, so that a file ("Value added") and the API ("20") give the same series. */
export function canonicalVariable(text: string): string {
  const t = text.trim();
  if (/^\d{1,2}$/.test(t)) return INDSTAT_VARIABLES[t.padStart(2, '0')] ?? t;
  return VARIABLE_BY_NAME.get(t.toLowerCase()) ?? t;
}

/** M49 codes are three digits ("4" and "004" are Afghanistan); other codes (ISO3) are upper-cased. */
const canonicalCountry = (code: string) => (M49.test(code) ? code.padStart(3, '0') : code.toUpperCase());

/** INDSTAT's "not available" and its look-alikes. */
const NULL_CELLS = new Set(['', '...', '..', '…']);
const GROUPED_NUMBER = /^-?\d{1,3}(?:[, \u00a0\u202f]\d{3})+(?:\.\d+)?$/;

/**
 * A cell's value as a canonical decimal string (sources/kit/decimal.ts), null when not available, undefined when
 * it is not a number; a number beyond the canonical bound throws RowRejected.
 */
export function parseValue(cell: string | null): string | null | undefined {
  const t = (cell ?? '').trim();
  if (NULL_CELLS.has(t)) return null;
  if (GROUPED_NUMBER.test(t)) return canonicalDecimal(t.replace(/[, \u00a0\u202f]/g, ''));
  const parsed = parseDecimal(t);
  if ('value' in parsed) return parsed.value;
  // Beyond the canonical bound is a reason of its own; anything else is simply not a number.
  if (!parsed.reason.startsWith('expected')) throw new RowRejected(parsed.reason);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Raw records: one per file row or API data item

/** What fetch stages: the row mapped to INDSTAT's dimensions, values by year (one year in long files). */
export interface UnidoRaw {
  /** Data row number in the file (1 = first data row); absent for API records. */
  row?: number;
  countryCode?: string;
  countryName?: string;
  isic?: string;
  isicDesc?: string;
  variable?: string;
  unit?: string;
  values: Record<string, string | null>;
}

const Optional = textField.optional().transform((t) => (t?.trim() ? t.trim() : undefined));

export const UnidoRecordSchema = z
  .object({
    row: z.number().int().positive().optional(),
    countryCode: Optional,
    countryName: Optional,
    isic: textField.pipe(z.string().trim().min(1, 'the ISIC code is empty')),
    isicDesc: Optional,
    variable: textField.pipe(z.string().trim().min(1, 'the variable is empty')),
    unit: Optional,
    values: z.record(z.string(), z.union([textField, z.null()])),
  })
  .refine((r) => r.countryCode || r.countryName, {
    path: ['countryCode'],
    message: 'the country is empty (no code, no name)',
  });

/** "row 3 (204 Benin 10 Value added)", or "record …" for an API item, so a rejection says which one it was. */
function unidoLabel(raw: unknown): string {
  const row = (raw as Partial<UnidoRaw> | null)?.row;
  const what = recordLabel(raw, ['countryCode', 'countryName', 'isic', 'variable']);
  const where = typeof row === 'number' ? `row ${row}` : 'record';
  return `UNIDO ${where} ${typeof raw === 'object' && raw !== null ? `(${what})` : what}`;
}

/** One observation per year of a valid record; a year or a value that is not one rejects the record. */
function rowsOf(r: z.output<typeof UnidoRecordSchema>): ObservationRow[] {
  const label = unidoLabel(r);
  const country = canonicalCountry((r.countryCode ?? r.countryName) as string);
  const series = seriesIdentity({ country, isic: r.isic, variable: canonicalVariable(r.variable) }, ['unido']);
  const attributes = compactAttributes(r, ['isicDesc', 'countryName']);
  const entries = Object.entries(r.values);
  if (entries.length === 0) throw new RowRejected(`${label}: no year`);
  return entries.map(([year, cell]) => {
    if (!/^\d{4}$/.test(year)) throw new RowRejected(`${label}: year ${JSON.stringify(year)} is not a year`);
    let value: string | null | undefined;
    try {
      value = parseValue(cell);
    } catch (err) {
      if (err instanceof RowRejected) throw new RowRejected(`${label}: value for ${year}: ${err.message}`);
      throw err;
    }
    if (value === undefined)
      throw new RowRejected(`${label}: value ${JSON.stringify(cell)} for ${year} is not a number`);
    return { ...series, period: year, value, unit: r.unit ?? null, attributes };
  });
}

// ---------------------------------------------------------------------------------------------------
// Files

/** Accepted header names per role, most specific first, compared lower-case without punctuation. */
const COLUMN_NAMES = {
  countryCode: [
    'countrycode',
    'countryid',
    'm49',
    'm49code',
    'cc',
    'iso3',
    'iso3code',
    'isocode',
    'countryiso3code',
    'areacode',
    'economycode',
    'reportercode',
  ],
  countryName: [
    'country',
    'countryname',
    'countryorarea',
    'countryarea',
    'area',
    'areaname',
    'economy',
    'reporter',
    'countrydescription',
  ],
  year: ['year', 'years', 'period', 'time', 'timeperiod', 'refyear'],
  isic: [
    'isic',
    'isiccode',
    'isicrev4',
    'isicrev4code',
    'isic4',
    'isicrev3',
    'isicrev3code',
    'isic3',
    'activitycode',
    'industrycode',
    'sectorcode',
  ],
  isicDesc: [
    'isicdescription',
    'isicdesc',
    'isicname',
    'isiclabel',
    'activity',
    'activitydescription',
    'industry',
    'industrydescription',
    'industryname',
    'sector',
    'sectordescription',
    'description',
  ],
  variable: [
    'variable',
    'variablename',
    'variabledescription',
    'variablecode',
    'indicator',
    'indicatorname',
    'item',
    'measure',
    'series',
    'seriesname',
  ],
  value: ['value', 'values', 'obsvalue', 'observationvalue', 'amount'],
  unit: ['unit', 'units', 'unitname', 'unitofmeasure', 'unitofmeasurement', 'measureunit', 'currency'],
} as const;
type Role = keyof typeof COLUMN_NAMES;

const normalizeHeader = (h: string) =>
  h
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');

type Columns = Partial<Record<Role, number>>;
type Layout =
  | { kind: 'long'; columns: Columns }
  | { kind: 'wide'; columns: Columns; years: Array<[string, number]> }
  | { kind: 'bulk'; unit: number };

/** The headerless bulk CSV's first row: table code, M49 country, year, ISIC, … (9 or 10 cells). */
const looksLikeBulkRow = (cells: string[]) =>
  (cells.length === 9 || cells.length === 10) &&
  /^\d{1,2}$/.test(cells[0] ?? '') &&
  M49.test(cells[1] ?? '') &&
  /^\d{4}$/.test(cells[2] ?? '');

export function layoutOf(header: string[], file: string): Layout {
  if (looksLikeBulkRow(header)) return { kind: 'bulk', unit: header.length - 1 };
  const normalized = header.map(normalizeHeader);
  const columns: Columns = {};
  const taken = new Set<number>();
  for (const role of Object.keys(COLUMN_NAMES) as Role[]) {
    for (const name of COLUMN_NAMES[role]) {
      const at = normalized.findIndex((h, i) => h === name && !taken.has(i));
      if (at >= 0) {
        columns[role] = at;
        taken.add(at);
        break;
      }
    }
  }
  const years = header.flatMap((h, i): Array<[string, number]> => (/^\d{4}$/.test(h.trim()) ? [[h.trim(), i]] : []));
  const missing: string[] = [];
  const need = (ok: boolean, what: string) => ok || missing.push(what);
  const names = (role: Role) => COLUMN_NAMES[role].slice(0, 4).join(', ');
  need(
    columns.countryCode !== undefined || columns.countryName !== undefined,
    `country (${names('countryCode')} or ${names('countryName')})`,
  );
  need(columns.isic !== undefined, `ISIC code (${names('isic')})`);
  need(columns.variable !== undefined, `variable (${names('variable')})`);
  const long = columns.year !== undefined;
  if (long) need(columns.value !== undefined, `value (${names('value')})`);
  else need(years.length > 0, `year (${names('year')}, or one column per year such as 2019, 2020)`);
  if (missing.length > 0) {
    throw invalidPayload(
      `UNIDO file ${file}: not an INDSTAT export: no column for ${missing.join('; ')}. ` +
        `The header has: ${header.join(', ') || '(nothing)'}.`,
    );
  }
  return long ? { kind: 'long', columns } : { kind: 'wide', columns, years };
}

/** A cell's text, or undefined when the column is absent or the cell empty (so it is left out of the JSON). */
function cellAt(cells: string[], at: number | undefined): string | undefined {
  const text = at === undefined ? undefined : cells[at]?.trim();
  return text ? text : undefined;
}

export function rawOfRow(layout: Layout, cells: string[], row: number): UnidoRaw {
  if (layout.kind === 'bulk') {
    return {
      row,
      countryCode: cellAt(cells, 1),
      isic: cellAt(cells, 3),
      variable: cellAt(cells, 0),
      unit: cellAt(cells, layout.unit),
      values: { [cells[2]?.trim() ?? '']: cells[5] ?? null },
    };
  }
  const c = layout.columns;
  const values =
    layout.kind === 'long'
      ? { [cellAt(cells, c.year) ?? '']: cells[c.value as number] ?? null }
      : Object.fromEntries(layout.years.map(([year, at]) => [year, cells[at] ?? null]));
  return {
    row,
    countryCode: cellAt(cells, c.countryCode),
    countryName: cellAt(cells, c.countryName),
    isic: cellAt(cells, c.isic),
    isicDesc: cellAt(cells, c.isicDesc),
    variable: cellAt(cells, c.variable),
    unit: cellAt(cells, c.unit),
    values,
  };
}

/** Reads up to the first line end and hands back a stream that still holds every byte. */
async function peekFirstLine(
  bytes: AsyncIterable<Buffer>,
): Promise<{ firstLine: string; bytes: AsyncIterable<Buffer> }> {
  const it = bytes[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size < 65_536) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    size += next.value.length;
    if (next.value.includes(0x0a)) break;
  }
  const buffered = Buffer.concat(head);
  async function* all() {
    yield buffered;
    // Delegating to the same iterator keeps closing it (and the file or response) when reading stops early.
    yield* { [Symbol.asyncIterator]: () => it };
  }
  return { firstLine: buffered.toString('latin1').split(/\r?\n/)[0] ?? '', bytes: all() };
}

/** The delimiter used most on the header line (quoted text aside): exports may use , ; tab or |. */
export function sniffDelimiter(firstLine: string): string {
  const unquoted = firstLine.replace(/"[^"]*"/g, '');
  let best = ',';
  let most = 0;
  for (const d of [',', ';', '\t', '|']) {
    const n = unquoted.split(d).length - 1;
    if (n > most) [best, most] = [d, n];
  }
  return best;
}

async function* fetchFile(ctx: Ctx, location: string): AsyncGenerator<UnidoRaw> {
  const file = describeLocation(location);
  const { firstLine, bytes } = await peekFirstLine(openLocation(ctx, location));
  const seen: { header?: string[] } = {};
  const records = csvRecords(bytes, {
    // The shared rule (sources/kit/encoding.ts): BOM, then strict UTF-8; "latin1" reads a file that is not UTF-8.
    encoding: ctx.params.encoding === 'latin1' ? 'latin1' : 'utf-8',
    where: `UNIDO file ${file}`,
    delimiter: sniffDelimiter(firstLine),
    // Positional names: header names may repeat, and the header of a bulk file is its first data row.
    parser: {
      columns: (header: string[]) => {
        seen.header = header.map((h) => h.replace(/^\uFEFF/, '').trim());
        return header.map((_, i) => `c${i}`);
      },
    },
  });
  let layout: Layout | undefined;
  let rows = 0;
  const cellsOf = (record: Record<string, string>) => (seen.header ?? []).map((_, i) => record[`c${i}`] ?? '');
  for await (const record of records) {
    if (!layout) {
      layout = layoutOf(seen.header ?? [], file);
      if (layout.kind === 'bulk') yield rawOfRow(layout, seen.header ?? [], ++rows);
    }
    yield rawOfRow(layout, cellsOf(record), ++rows);
  }
  if (!seen.header) throw invalidPayload(`UNIDO file ${file} is empty.`);
  if (!layout) {
    // A header alone: still checked, so a wrong file says which columns it lacks; one bulk row is data.
    layout = layoutOf(seen.header, file);
    if (layout.kind !== 'bulk') throw invalidPayload(`UNIDO file ${file} has a header but no data rows.`);
    yield rawOfRow(layout, seen.header, ++rows);
  }
  ctx.log('UNIDO file read', { file, layout: layout.kind, rows });
}

// ---------------------------------------------------------------------------------------------------
// Legacy REST API

const LegacyEnvelopeSchema = z.object({
  data: z.array(z.unknown(), { error: 'expected an array' }).nullish(),
});
/** A status other than 200 is the API refusing the query (a refusal carries no data). */
const LegacyRefusal = z.object({
  'api.responseStatus': z.union([z.number(), z.string()]).refine((status) => Number(status) !== 200),
  'api.responseText': z.string().nullish(),
});

const LegacyItemSchema = z
  .object({
    country: textField,
    variable: textField,
    isic: textField,
    year: textField,
    value: z.union([textField, z.null()]),
  })
  .partial();

function rawOfApiItem(item: unknown): unknown {
  const parsed = LegacyItemSchema.safeParse(item);
  // Not an object: staged as is, for transform to reject with the reason.
  if (!parsed.success) return item;
  const { country, variable, isic, year, value } = parsed.data;
  return { countryCode: country, variable, isic, values: { [year ?? '']: value ?? null } } satisfies UnidoRaw;
}

interface LegacyQuery {
  db: string;
  username: string;
  password: string;
  end: string;
}

/** The items of one country and variable. */
async function legacyItems(ctx: Ctx, q: LegacyQuery, cc: string, variable: string): Promise<unknown[]> {
  const where = `UNIDO legacy API (db ${q.db}, country ${cc}, variable ${variable})`;
  const body = await ctx.http.getJson(`${ctx.baseUrl}/rest/dbdata`, {
    method: 'POST',
    headers: { Username: q.username, Password: q.password },
    body: new URLSearchParams({ db: q.db, cc, variable, start: String(ctx.params.startYear), end: q.end }),
    // A data query, not a change: safe to send again.
    idempotent: true,
  });
  refuseOn(LegacyRefusal, body, (r) =>
    `${where} refused: ${r['api.responseStatus']} ${r['api.responseText'] ?? ''}`.trim(),
  );
  const { data } = payloadOf(LegacyEnvelopeSchema, body, where);
  if (data === undefined) throw invalidPayload(`${where}: no "data" array in the answer`);
  ctx.heartbeat({ country: cc, variable, records: data?.length ?? 0 });
  return data ?? [];
}

async function* fetchLegacy(ctx: Ctx): AsyncGenerator<unknown> {
  const { username, apiKey: password } = ctx.credentials;
  const { db, countries, variables, startYear } = ctx.params;
  if (!username || !password) {
    throw configurationError(
      `${ctx.sourceName}: mode "legacy_api" needs the UNIDO account: store the user name in ` +
        'data_source_configs.username and the password as the encrypted API key.',
    );
  }
  if (!db) {
    throw configurationError(
      `${ctx.sourceName}: the legacy API needs params.db, a database name as GET ${ctx.baseUrl}/rest/dblist lists it ` +
        '(e.g. "INDSTAT 2 2015, ISIC Revision 3").',
    );
  }
  const query = { db, username, password, end: String(ctx.params.endYear ?? new Date().getUTCFullYear()) };
  let total = 0;
  // Not eachPartition: "no data at all" is a fact about every partition, which a resumed walk would not see.
  for (const { country, variable } of cartesian({ country: countries, variable: variables })) {
    let items: unknown[];
    try {
      items = await legacyItems(ctx, query, country, variable);
    } catch (err) {
      throw withoutSecret(err, password);
    }
    total += items.length;
    for (const item of items) yield rawOfApiItem(item);
  }
  if (total === 0) {
    throw ApplicationFailure.nonRetryable(
      `UNIDO legacy API has no data for countries ${countries.join(', ')}, variables ${variables.join(', ')}, ` +
        `${startYear}-${query.end} in "${db}": nothing to load. Check the params.`,
      FailureType.SourceRejected,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Connector

/** How an operator gets INDSTAT data in, for the error of a run that has nothing to read. */
export const UNIDO_IMPORT_HELP =
  'UNIDO INDSTAT has no public API. Download the CSV export from the data portal (https://stat.unido.org), then ' +
  'import it by starting an ingestion with an event location, a file path the worker can read or an http(s) URL: ' +
  'workflow ingestDatasetVersion on task queue "business" with input ' +
  '{"source":"unido","trigger":"event","force":true,"event":{"location":"/path/to/indstat.csv"}} ' +
  '("force" while the source is inactive). Or set params.feedUrl to a URL that serves the export and activate the ' +
  'source; or, with a UNIDO account, store its user name and password (as the API key) for the legacy API.';

type Route = { kind: 'file'; location: string } | { kind: 'legacy_api' };

function routeOf(ctx: Ctx): Route {
  const { mode, feedUrl } = ctx.params;
  // An operator's file always wins: it is this run's explicit input.
  const location = ctx.event?.location ?? (mode === 'legacy_api' ? undefined : feedUrl);
  if (location) return { kind: 'file', location };
  const hasAccount = Boolean(ctx.credentials.username && ctx.credentials.apiKey);
  if (mode === 'legacy_api' || (mode === 'auto' && hasAccount)) return { kind: 'legacy_api' };
  throw configurationError(`${ctx.sourceName}: nothing to ingest. ${UNIDO_IMPORT_HELP}`);
}

async function probe(ctx: Ctx): Promise<ProbeResult> {
  const route = routeOf(ctx);
  if (route.kind === 'legacy_api')
    return { token: null, note: 'legacy API: no change signal, the content checksum decides' };
  const sum = await checksumOfLocation(ctx, route.location);
  // The encoding changes how the same bytes read, so it is part of the token.
  return {
    token: `sha256:${sum} ${ctx.params.encoding}`,
    note: `${describeLocation(route.location)} sha256 ${sum.slice(0, 12)}`,
  };
}

export const unidoConnector = defineSource({
  name: 'unido_indstat',
  params: UnidoParamsSchema,
  probe,
  async *fetch(ctx) {
    const route = routeOf(ctx);
    yield* route.kind === 'file' ? fetchFile(ctx, route.location) : fetchLegacy(ctx);
  },
  record: { schema: UnidoRecordSchema, label: unidoLabel, rows: rowsOf },
  // An imported file always wins (routeOf); mode auto without one may still use the legacy API's account.
  files: {
    missingFile: (p) =>
      p.mode === 'file' && !p.feedUrl ? 'its params.mode is "file" and it has no params.feedUrl' : null,
  },
});

/** One raw record's observations (the params do not change them). */
const DEFAULTS = UnidoParamsSchema.parse({});
export const transformUnidoRecord = (raw: unknown) => unidoConnector.transform(raw, DEFAULTS);
