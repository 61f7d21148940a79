// Record helpers: a raw record is validated against the source's schema one by one, so one odd row is a
// rejected row that says which row it was and which field is wrong, never a failed run.
import { z } from 'zod';
import { RowRejected } from './types';
import { formatIssues } from './zod-issues';

/** A code or label an API writes as a string or as a number (M49 204 or "204"), as text. */
export const textField = z.union([z.string(), z.number().transform(String)]);

/**
 * The attributes worth storing: the fields named in `keys` (all when omitted) without null, undefined and
 * "", so that absent flags do not bloat the row hash; null when none is left.
 */
export function compactAttributes(
  values: Record<string, unknown>,
  keys?: readonly string[],
): Record<string, unknown> | null {
  const entries = keys ? keys.map((k) => [k, values[k]] as const) : Object.entries(values);
  const kept = entries.filter(([, v]) => v !== null && v !== undefined && v !== '');
  return kept.length > 0 ? Object.fromEntries(kept) : null;
}

/** The value at a dotted path of a raw record, e.g. "indicator.id"; undefined when absent. */
function at(raw: unknown, path: string): unknown {
  let value = raw;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export interface LabelOptions {
  /** Written between the parts; default " " ("/" makes an Overpass "way/42"). */
  join?: string;
}

/**
 * Best-effort "X BJ 2020" of a raw record from the fields at `paths`, so a rejection says which row it
 * was even when the row is malformed; the record's first 80 characters when none of them is there.
 * Paths given by name, e.g. {area: "Area Code", year: "Year"}, write each part "name value": "area 53 year 2020".
 */
export function recordLabel(
  raw: unknown,
  paths: readonly string[] | Readonly<Record<string, string>>,
  opts: LabelOptions = {},
): string {
  const named = isPathList(paths) ? paths.map((p) => [undefined, p] as const) : Object.entries(paths);
  const parts: string[] = [];
  for (const [name, path] of named) {
    const v = at(raw, path);
    if ((typeof v === 'string' && v !== '') || typeof v === 'number') parts.push(name ? `${name} ${v}` : String(v));
  }
  return parts.length > 0 ? parts.join(opts.join ?? ' ') : (JSON.stringify(raw)?.slice(0, 80) ?? String(raw));
}

const isPathList = (paths: readonly string[] | Readonly<Record<string, string>>): paths is readonly string[] =>
  Array.isArray(paths);

/**
 * The record parsed by `schema`, or RowRejected naming the record (`label`) and the wrong fields, as
 * `describe` words them (default "path: issue; …"; a tabular row says `column "x": …`).
 */
export function validRecord<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  label: () => string,
  describe: (error: z.ZodError) => string = formatIssues,
): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new RowRejected(`${label()}: ${describe(parsed.error)}`);
  return parsed.data;
}
