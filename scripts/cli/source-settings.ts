// What `tedi sources set <source> key=value...` may set, and how each value's text becomes a value. Two
// kinds of key: the connector's params (countries, indicators, feedUrl…), typed from the connector's own
// zod schema and validated by it, so a bad value gets the connector's own message; and the
// data_source_configs columns, by their column names (rate_limit_per_second…), validated here. Nothing is
// written here: planSettings returns the new values and the changes, config-changes.ts writes them.
import { z } from 'zod';
import { MAX_RETRIES_LIMIT } from '../../activities/ingestion/source-context';
import type { DataSourceConfig } from '../../generated/prisma/client';
import { getConnector, scheduledWithoutFile } from '../../sources';
import { resolveAuth } from '../../sources/kit/http/auth';
import { UsageError } from './errors';

/** One changed key: old → new, as JSON values; undefined = not set (a params key left to its default). */
export interface SettingChange {
  key: string;
  old: unknown;
  new: unknown;
}

type ConfigField = keyof Pick<
  DataSourceConfig,
  | 'baseUrl'
  | 'rateLimitPerSecond'
  | 'timeoutMs'
  | 'maxRetries'
  | 'maxBodyBytes'
  | 'allowEmptySnapshot'
  | 'maxRemovedRatio'
  | 'authType'
  | 'apiKeyParam'
  | 'apiKeyIn'
  | 'bearerLoginUrl'
>;

export interface SettingsPlan {
  /** The source's new params, when a params key changed. */
  params?: Record<string, unknown>;
  /** The data_source_configs columns to write. */
  config: Partial<Pick<DataSourceConfig, ConfigField>>;
  changes: SettingChange[];
}

export interface SettableSource {
  name: string;
  connector: string;
  updateFrequency: string;
  isActive: boolean;
  params: unknown;
  config: DataSourceConfig | null;
}

// ---------------------------------------------------------------------------------------------------
// data_source_configs columns

const number = (message: string) =>
  z
    .string()
    .trim()
    .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, message)
    .transform(Number);
const whole = (message: string, min: number, max: number) =>
  number(message).pipe(z.number().int(message).min(min, message).max(max, message));
const flag = (message: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false', 'yes', 'no'], { error: message }))
    .transform((v) => v === 'true' || v === 'yes');
/** A nullable text column: an empty value clears it. */
const optionalText = z
  .string()
  .trim()
  .transform((v) => v || null);

const URL_PROTOCOLS = ['http:', 'https:', 'file:'];
const INT_MAX = 2_147_483_647;

/** Each settable column: its Prisma field, and its value's text parsed and checked (messages say the fix). */
export const CONFIG_COLUMNS: Record<string, { field: ConfigField; value: z.ZodType }> = {
  base_url: {
    field: 'baseUrl',
    value: z
      .string()
      .trim()
      .refine(
        (v) => URL.canParse(v) && URL_PROTOCOLS.includes(new URL(v).protocol),
        'must be an http://, https:// or file:// URL, e.g. https://api.worldbank.org/v2',
      ),
  },
  rate_limit_per_second: {
    field: 'rateLimitPerSecond',
    value: number('must be a number of requests per second, e.g. 1 or 0.5').pipe(
      z.number().positive('must be above 0 requests per second, e.g. 1 or 0.5'),
    ),
  },
  timeout_ms: {
    field: 'timeoutMs',
    value: whole(`must be a whole number of milliseconds from 1 to ${INT_MAX}, e.g. 60000`, 1, INT_MAX),
  },
  max_retries: {
    field: 'maxRetries',
    // The bound prepareSource enforces (activities/ingestion/source-context.ts).
    value: whole(`must be a whole number from 0 to ${MAX_RETRIES_LIMIT}, e.g. 5`, 0, MAX_RETRIES_LIMIT),
  },
  max_body_bytes: {
    field: 'maxBodyBytes',
    value: whole(
      'must be a whole number of bytes above 0, e.g. 2147483648 (2 GiB)',
      1,
      Number.MAX_SAFE_INTEGER,
    ).transform(BigInt),
  },
  allow_empty_snapshot: { field: 'allowEmptySnapshot', value: flag('must be true or false') },
  max_removed_ratio: {
    field: 'maxRemovedRatio',
    value: number('must be a share of the current rows from 0 to 1, e.g. 0.2 (20 %)').pipe(
      z
        .number()
        .min(0, 'must be a share of the current rows from 0 to 1, e.g. 0.2 (20 %)')
        .max(1, 'must be a share of the current rows from 0 to 1, e.g. 0.2 (20 %)'),
    ),
  },
  auth_type: {
    field: 'authType',
    value: z.enum(['none', 'api_key', 'bearer', 'basic'], { error: 'must be one of none, api_key, bearer, basic' }),
  },
  api_key_param: { field: 'apiKeyParam', value: optionalText },
  api_key_in: { field: 'apiKeyIn', value: z.enum(['header', 'query'], { error: 'must be header or query' }) },
  bearer_login_url: { field: 'bearerLoginUrl', value: optionalText },
};

// ---------------------------------------------------------------------------------------------------
// params keys, typed from the connector's schema

type ParamKind = 'list' | 'number' | 'boolean' | 'json' | 'text' | 'any';

/** The connector's params fields (every params schema is a sourceParams object, sources/kit/params.ts). */
export function paramFields(connectorName: string): Record<string, z.ZodType> {
  const schema = getConnector(connectorName).paramsSchema;
  return schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>) : {};
}

/** What kind of value a params field holds, under its optional/default/pipe wrappers. */
function kindOf(field: z.ZodType): ParamKind {
  let t = field as z.ZodType & { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } };
  for (;;) {
    const def = t.def;
    if (def.innerType) t = def.innerType as typeof t;
    else if (def.type === 'pipe' && def.in) t = def.in as typeof t;
    else break;
  }
  const def = t.def as { type: string; element?: { def: { type: string } } };
  switch (def.type) {
    case 'array':
      // A list of texts is written as a,b,c; a list of objects only as JSON.
      return def.element?.def.type === 'string' ? 'list' : 'json';
    case 'number':
    case 'boolean':
      return def.type;
    case 'object':
    case 'record':
    case 'tuple':
      return 'json';
    case 'string':
    case 'enum':
      return 'text';
    default:
      return 'any';
  }
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A params value from its text. JSON (a value starting with [ or {) is always accepted; otherwise by kind:
 * a list is comma-separated (countries=BJ,TG), a number or a flag is read as one. A text that is not of
 * its kind is passed as text, so the connector's own schema says what it wanted.
 */
function paramValue(key: string, kind: ParamKind, text: string): unknown {
  const trimmed = text.trim();
  if (/^[[{]/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch (err) {
      throw new UsageError(`${key}: ${trimmed} is not valid JSON (${(err as Error).message}): quote it for the shell`);
    }
  }
  switch (kind) {
    case 'list':
      return trimmed
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
    case 'number':
      return NUMERIC.test(trimmed) ? Number(trimmed) : text;
    case 'boolean':
      return trimmed === 'true' ? true : trimmed === 'false' ? false : text;
    case 'json':
      throw new UsageError(`${key}: give it as JSON, e.g. ${key}='[...]' or ${key}='{...}' (quoted for the shell)`);
    case 'any':
      return NUMERIC.test(trimmed) ? Number(trimmed) : trimmed;
    default:
      return text;
  }
}

// ---------------------------------------------------------------------------------------------------

/** `key=value` split at the first "=". */
export function parseAssignment(text: string): { key: string; value: string } {
  const at = text.indexOf('=');
  const key = at > 0 ? text.slice(0, at).trim() : '';
  if (!key) {
    throw new UsageError(
      `<key=value>: "${text}" is not key=value: write e.g. countries=BJ,TG or rate_limit_per_second=2`,
    );
  }
  return { key, value: text.slice(at + 1) };
}

function keysHelp(source: SettableSource): string {
  const params = Object.keys(paramFields(source.connector));
  return (
    `its params (${source.connector} connector) are ${params.join(', ') || 'none'}; its configuration columns are ` +
    `${Object.keys(CONFIG_COLUMNS).join(', ')}; the active flag is set by sources activate|deactivate, ` +
    'the API key by set-key'
  );
}

/** "countries[1]: countries: use ISO…" → "countries[1]: use ISO…": the connector's messages name the field already. */
export function paramIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path
        .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
        .join('')
        .slice(1);
      const head = String(issue.path[0] ?? '');
      return head && issue.message.startsWith(head) ? issue.message : `${where || 'params'}: ${issue.message}`;
    })
    .join('\n');
}

const json = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);

/**
 * The new params and columns `assignments` give `source`, checked as a whole: the connector's schema on
 * the params that would result, the auth columns together, and that an active scheduled source keeps
 * something to read. Throws a UsageError naming the key and the fix; returns only what changes.
 */
export function planSettings(source: SettableSource, assignments: readonly string[]): SettingsPlan {
  if (!source.config) {
    throw new UsageError(
      `<source>: ${source.name} has no configuration row yet: start TEDI once (npm start) to create it`,
    );
  }
  const fields = paramFields(source.connector);
  const current = (source.params ?? {}) as Record<string, unknown>;
  const params = { ...current };
  const config: SettingsPlan['config'] = {};
  const changes: SettingChange[] = [];
  const seen = new Set<string>();
  for (const text of assignments) {
    const { key, value } = parseAssignment(text);
    if (seen.has(key)) throw new UsageError(`${key}: given twice: give each key once`);
    seen.add(key);
    const column = CONFIG_COLUMNS[key];
    const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (column) {
      const parsed = column.value.safeParse(value);
      if (!parsed.success) throw new UsageError(`${key}: "${value}" ${parsed.error.issues[0]?.message}`);
      const old = source.config[column.field];
      if (json(old) !== json(parsed.data)) {
        Object.assign(config, { [column.field]: parsed.data });
        changes.push({ key, old: json(old), new: json(parsed.data) });
      }
    } else if (field) {
      // key= (nothing after "=") removes the key: the connector's default applies again.
      const next = value === '' ? undefined : paramValue(key, kindOf(field), value);
      if (JSON.stringify(current[key]) === JSON.stringify(next)) continue;
      if (next === undefined) delete params[key];
      else params[key] = next;
      changes.push({ key, old: current[key], new: next });
    } else {
      throw new UsageError(`${key}: not a setting of ${source.name}: ${keysHelp(source)}`);
    }
  }
  const paramsChanged = changes.some((c) => !CONFIG_COLUMNS[c.key]);
  if (paramsChanged) checkParams(source, params);
  // Only what this command changes is checked: an unrelated setting is not held up by the auth columns.
  if (changes.some((c) => AUTH_KEYS.includes(c.key))) checkAuth(source, { ...source.config, ...config });
  return { ...(paramsChanged ? { params } : {}), config, changes };
}

function checkParams(source: SettableSource, params: Record<string, unknown>): void {
  const connector = getConnector(source.connector);
  const parsed = connector.paramsSchema.safeParse(params);
  if (!parsed.success) {
    throw new UsageError(
      `${paramIssues(parsed.error)}\n(the ${connector.name} connector's params; nothing was changed)`,
    );
  }
  // The catalog reload hands a source whose params are {} back to the file (catalog/apply.ts).
  if (Object.keys(params).length === 0) {
    throw new UsageError(
      `${source.name}: this would leave its params empty, which hands the source back to the catalog file at the ` +
        'next start: set at least one key, or edit catalog/sources.yaml instead',
    );
  }
  const missing = source.isActive ? scheduledWithoutFile(connector, source.updateFrequency, parsed.data) : null;
  if (missing) {
    throw new UsageError(
      `${source.name} is active and ${source.updateFrequency}, and ${missing}: every scheduled check would fail. ` +
        `Keep feedUrl, or deactivate it first (npm run tedi -- sources deactivate ${source.name})`,
    );
  }
}

/** The columns resolveAuth reads: a change to any of them is checked with the others. */
const AUTH_KEYS = ['base_url', 'auth_type', 'api_key_param', 'api_key_in', 'bearer_login_url'];

/** The auth columns as prepareSource will read them, without a credential (set-key stores that). */
function checkAuth(source: SettableSource, config: DataSourceConfig): void {
  try {
    resolveAuth({
      sourceName: source.name,
      baseUrl: config.baseUrl,
      config,
      storedKey: null,
      credentialOptional: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (nothing was changed)`);
  }
}

/** Throws a UsageError when `source` cannot be activated: no connector, params that fail, nothing to read. */
export function checkActivation(source: SettableSource, implemented: boolean): void {
  if (!implemented) {
    throw new UsageError(
      `<source>: ${source.name} has no connector yet (implemented: false in the catalog): it cannot run, so it stays inactive`,
    );
  }
  const connector = getConnector(source.connector);
  const params = connector.paramsSchema.safeParse(source.params);
  if (!params.success) {
    throw new UsageError(
      `<source>: ${source.name}'s params do not validate, so every run would fail; fix them first ` +
        `(npm run tedi -- sources set ${source.name} key=value):\n${paramIssues(params.error)}`,
    );
  }
  const missing = scheduledWithoutFile(connector, source.updateFrequency, params.data);
  if (missing) {
    throw new UsageError(
      `<source>: ${source.name} is ${source.updateFrequency} and ${missing}, so every scheduled check would fail: ` +
        `set its feed first (npm run tedi -- sources set ${source.name} feedUrl=https://…); files can be imported ` +
        'while it is inactive',
    );
  }
}
