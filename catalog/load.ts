// The source catalog: catalog/sources.yaml (or the file TEDI_CATALOG_FILE names), read and validated
// whole before anything is written, then loaded idempotently (catalog/apply.ts). A bad file stops
// start-up with one message naming the file, each bad entry and field (with its line), and the fix.
//
// Settings from the environment: a value written `${NAME}` is replaced by the setting NAME of
// CATALOG_SETTINGS (from lib/config.ts through catalogSettings, or the `settings` argument of the
// functions below, which is how tests point the World Bank sources at a fixture server).
import fs from 'node:fs';
import path from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type AppConfig, ConfigError } from '../lib/config';
import type { PrismaClient } from '../lib/db';
import { projectPath } from '../lib/paths';
import { getConnector, scheduledWithoutFile } from '../sources';
import { type ApplyResult, applyCatalog } from './apply';
import {
  type CatalogEntry,
  CatalogFileSchema,
  DEFAULT_VERSION,
  SETTING_REFERENCE,
  type SourceInput,
  SourceSchema,
} from './schema';

export type { CatalogDataset, CatalogEntry } from './schema';
export { DEFAULT_VERSION } from './schema';

/** The catalog shipped with TEDI, used when TEDI_CATALOG_FILE is unset. */
export const DEFAULT_CATALOG_FILE = projectPath('catalog', 'sources.yaml');

export interface CatalogSettings {
  /** `${TEDI_WORLD_BANK_BASE_URL}` in the file. */
  worldBankBaseUrl: string;
  /** `${TEDI_WB_COUNTRIES}` in the file (a list). */
  worldBankCountries: string[];
  /** The catalog file (TEDI_CATALOG_FILE); default DEFAULT_CATALOG_FILE. Relative to the working directory. */
  file?: string;
}

/** The catalog settings the environment gives (TEDI_WORLD_BANK_BASE_URL, TEDI_WB_COUNTRIES, TEDI_CATALOG_FILE). */
export function catalogSettings(
  config: Pick<AppConfig, 'TEDI_WORLD_BANK_BASE_URL' | 'TEDI_WB_COUNTRIES'> &
    Partial<Pick<AppConfig, 'TEDI_CATALOG_FILE'>>,
): CatalogSettings {
  return {
    worldBankBaseUrl: config.TEDI_WORLD_BANK_BASE_URL,
    worldBankCountries: config.TEDI_WB_COUNTRIES.split(';').map((c) => c.toUpperCase()),
    ...(config.TEDI_CATALOG_FILE ? { file: config.TEDI_CATALOG_FILE } : {}),
  };
}

/** What `${NAME}` may name in a catalog file: settings lib/config.ts has validated already, no secrets. */
export const CATALOG_SETTINGS: Record<string, { what: string; value(s: CatalogSettings): string | string[] }> = {
  TEDI_WORLD_BANK_BASE_URL: { what: 'the World Bank API base URL', value: (s) => s.worldBankBaseUrl },
  TEDI_WB_COUNTRIES: { what: 'the World Bank countries, a list', value: (s) => [...s.worldBankCountries] },
};

/** A catalog file that cannot be loaded. A ConfigError, so start-up prints its message alone. */
export class CatalogError extends ConfigError {
  override name = 'CatalogError';
}

/** The file's entries, validated and with their settings resolved; throws CatalogError. Writes nothing. */
export function catalog(settings: CatalogSettings): CatalogEntry[] {
  const file = path.resolve(settings.file ?? DEFAULT_CATALOG_FILE);
  const shown = shownPath(file);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new CatalogError(
      `Cannot read the catalog file ${shown}: ${reason}. Set TEDI_CATALOG_FILE to a catalog file, or unset it ` +
        'for the shipped catalog/sources.yaml.',
    );
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const at = syntax.linePos?.[0];
    const [first = '', ...frame] = syntax.message.split('\n');
    throw new CatalogError(
      `${shown}${at ? `:${at.line}:${at.col}` : ''}: YAML syntax error${at ? ` at line ${at.line}, column ${at.col}` : ''}: ` +
        `${first.replace(/ at line \d+, column \d+:?$/, '')}\n${frame.join('\n').replace(/\n+$/, '')}\n` +
        `Nothing was loaded. Fix the file and start again.`,
    );
  }
  const validation = validate(doc.toJS({ maxAliasCount: 1000 }), settings);
  if (validation.issues.length) throw new CatalogError(describe(validation.issues, shown, doc, lines));
  return validation.entries;
}

/** Reads and validates the whole file, then loads it (nothing is written when the file is bad). */
export async function loadCatalog(
  prisma: PrismaClient,
  settings: CatalogSettings,
  opts: { warn?: (message: string) => void } = {},
): Promise<ApplyResult> {
  return applyCatalog(prisma, catalog(settings), opts.warn);
}

type Path = (string | number)[];
interface Issue {
  path: Path;
  message: string;
  /** The source's name, when the entry has one. */
  entry?: string;
}

function validate(data: unknown, settings: CatalogSettings): { entries: CatalogEntry[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const file = CatalogFileSchema.safeParse(data ?? {});
  if (!file.success) return { entries: [], issues: zodIssues(file.error, []) };
  const checked: { index: number; entry: CatalogEntry }[] = [];
  file.data.sources.forEach((raw, index) => {
    const name = (raw as { name?: unknown } | null)?.name;
    const found: Issue[] = [];
    const entry = checkEntry(raw, ['sources', index], settings, found);
    issues.push(...found.map((f) => ({ ...f, entry: typeof name === 'string' ? name : undefined })));
    if (entry) checked.push({ index, entry });
  });
  // Across entries: source names, dataset slugs and (dataset, version) pairs are unique.
  const names = new Map<string, number>();
  const slugs = new Map<string, string>();
  for (const { index, entry: e } of checked) {
    const earlier = names.get(e.name);
    if (earlier !== undefined) {
      issues.push({
        path: ['sources', index, 'name'],
        entry: e.name,
        message: `the name "${e.name}" is already used by sources[${earlier}]: give each source a name of its own`,
      });
      continue;
    }
    names.set(e.name, index);
    e.datasets.forEach((d, k) => {
      const owner = slugs.get(d.slug);
      if (owner !== undefined) {
        issues.push({
          path: ['sources', index, 'datasets', k, 'slug'],
          entry: e.name,
          message:
            `dataset "${d.slug}" is already listed at ${owner}: a dataset belongs to one source and is listed once ` +
            '(list several versions under one dataset instead)',
        });
      } else slugs.set(d.slug, `sources[${index}].datasets[${k}]`);
      const seen = new Set<string>();
      d.versions.forEach((v, n) => {
        if (seen.has(v)) {
          issues.push({
            path: ['sources', index, 'datasets', k, 'versions', n],
            entry: e.name,
            message: `version "${v}" of dataset "${d.slug}" is listed twice: remove the duplicate`,
          });
        }
        seen.add(v);
      });
    });
  }
  return { entries: checked.map((c) => c.entry), issues };
}

/** One entry on its own: its shape, its setting references, its connector's params. */
function checkEntry(raw: unknown, at: Path, settings: CatalogSettings, issues: Issue[]): CatalogEntry | null {
  const parsed = SourceSchema.safeParse(raw);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, at));
    return null;
  }
  const before = issues.length;
  const s = resolve(parsed.data, at, settings, issues) as SourceInput;
  for (const field of ['title', 'url', 'organization', 'rationale', 'note', 'baseUrl'] as const) {
    if (s[field] !== undefined && typeof s[field] !== 'string') {
      issues.push({ path: [...at, field], message: 'names a list setting: it can only be the whole value of a list' });
    }
  }
  if (issues.length > before) return null;
  const connector = getConnector(s.connector);
  const params = connector.paramsSchema.safeParse(s.params);
  if (!params.success) issues.push(...zodIssues(params.error, [...at, 'params']));
  if (
    s.implemented &&
    s.active !== false &&
    params.success &&
    scheduledWithoutFile(connector, s.frequency, params.data)
  ) {
    issues.push({
      path: [...at, s.active === undefined ? 'params' : 'active'],
      message:
        `a ${s.frequency} ${s.connector} source without params.feedUrl would fail every scheduled check: set ` +
        'params.feedUrl to the http(s):// or file:// URL of its feed, or write active: false (files can still be imported)',
    });
  }
  for (const issue of authIssues(s)) issues.push({ ...issue, path: [...at, ...issue.path] });
  if (issues.length > before) return null;
  const { datasets, ...rest } = s;
  return {
    ...rest,
    datasets: (datasets ?? [{ slug: s.name, versions: [DEFAULT_VERSION] }]).map((d) => ({
      slug: d.slug,
      title: d.title ?? s.title,
      versions: d.versions,
    })),
  };
}

/** The auth columns that go with authType (sources/kit/http/auth.ts reads them). */
function authIssues(s: SourceInput): Issue[] {
  const type = s.authType ?? 'none';
  const issues: Issue[] = [];
  if (type === 'api_key' && !s.apiKeyParam) {
    issues.push({
      path: ['authType'],
      message:
        'authType api_key needs apiKeyParam: the header (or, with apiKeyIn: query, the query parameter) that ' +
        'carries the key, e.g. apiKeyParam: Ocp-Apim-Subscription-Key',
    });
  }
  for (const field of ['apiKeyParam', 'apiKeyIn'] as const) {
    if (s[field] !== undefined && type !== 'api_key') {
      issues.push({ path: [field], message: `${field} is for authType api_key: remove it, or set authType: api_key` });
    }
  }
  if (s.bearerLoginUrl !== undefined && type !== 'bearer') {
    issues.push({
      path: ['bearerLoginUrl'],
      message: 'bearerLoginUrl is for authType bearer: remove it, or set authType: bearer',
    });
  }
  return issues;
}

/** Replaces `${NAME}` references by their settings; a list setting as a list element is spliced in. */
function resolve(value: unknown, at: Path, settings: CatalogSettings, issues: Issue[]): unknown {
  if (typeof value === 'string') return resolveString(value, at, settings, issues);
  if (Array.isArray(value)) {
    return value.flatMap((v, i) => {
      const r = resolve(v, [...at, i], settings, issues);
      return Array.isArray(r) && typeof v === 'string' ? r : [r];
    });
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, [...at, k], settings, issues)]));
  }
  return value;
}

function resolveString(value: string, at: Path, settings: CatalogSettings, issues: Issue[]): unknown {
  const known = () =>
    Object.entries(CATALOG_SETTINGS)
      .map(([n, s]) => `\${${n}} (${s.what})`)
      .join(', ');
  const lookup = (name: string) => {
    const setting = CATALOG_SETTINGS[name];
    if (setting) return setting.value(settings);
    issues.push({
      path: at,
      message: `unknown setting \${${name}}: a catalog file can use ${known()}; write any other value itself`,
    });
    return undefined;
  };
  const whole = /^\$\{([A-Z][A-Z0-9_]*)\}$/.exec(value);
  if (whole) return lookup(whole[1]!) ?? value;
  return value.replace(SETTING_REFERENCE, (ref, name: string) => {
    const v = lookup(name);
    if (v === undefined) return ref;
    if (Array.isArray(v)) {
      issues.push({ path: at, message: `\${${name}} is a list: write it alone, as the whole value of a list field` });
      return ref;
    }
    return v;
  });
}

function zodIssues(error: z.ZodError, at: Path): Issue[] {
  return error.issues.map((issue) => ({
    path: [
      ...at,
      ...issue.path.map((k) => (typeof k === 'symbol' ? String(k) : k)),
      // An unknown field: point at it, not at its entry.
      ...(issue.code === 'unrecognized_keys' && issue.keys[0] ? [issue.keys[0]] : []),
    ],
    message: issue.message,
  }));
}

const MAX_SHOWN = 20;

function describe(issues: Issue[], shown: string, doc: Document, lines: LineCounter): string {
  const rows = issues.slice(0, MAX_SHOWN).map((issue) => {
    const where = position(doc, lines, issue.path);
    const [, index, ...field] = issue.path;
    const entry =
      issue.path[0] === 'sources' && typeof index === 'number'
        ? `${issue.entry ? `source "${issue.entry}" ` : ''}(sources[${index}])`
        : 'the file';
    const fieldName = (issue.path[0] === 'sources' ? field : issue.path)
      .map((k, n) => (typeof k === 'number' ? `[${k}]` : n === 0 ? k : `.${k}`))
      .join('');
    return `  ${shown}${where}: ${entry}, field ${fieldName || '(the whole entry)'}: ${issue.message}`;
  });
  const more = issues.length - rows.length;
  return [
    `Invalid catalog file ${shown} (nothing was loaded):`,
    ...rows,
    ...(more > 0 ? [`  and ${more} more`] : []),
    `Fix ${issues.length === 1 ? 'this field' : 'these fields'} in ${shown} and start again; ` +
      'the comments at the top of catalog/sources.yaml describe every field.',
  ].join('\n');
}

/** `:line:col` of the deepest node of `at` that the file has (a missing field: its entry). */
function position(doc: Document, lines: LineCounter, at: Path): string {
  for (let n = at.length; n > 0; n--) {
    const node = doc.getIn(at.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return `:${line}:${col}`;
    }
  }
  return '';
}

function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
