// The declarative row schema of a tabular source, e.g. {"parcel_id":"string","area_m2":"number","price":"number?"},
// compiled at run time into a zod object schema, so every row is validated by zod and every reason names
// its column: `column "area_m2": expected a number, got "abc"`.
// Cells arrive as the readers deliver them (CSV text, XLSX numbers, JSON numbers kept as text so that no
// float rounding happens) and leave as canonical values, so the same content always hashes the same.
import { z } from 'zod';
import { parseDecimal } from '../../kit/decimal';

export const COLUMN_TYPES = ['string', 'number', 'integer', 'date', 'boolean'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];
/** A type spec as written in params: a column type, "?" appended when the cell may be empty. */
export const TYPE_SPEC = new RegExp(`^(${COLUMN_TYPES.join('|')})(\\?)?$`);

export interface ColumnSpec {
  type: ColumnType;
  optional: boolean;
}

export function parseTypeSpec(spec: string): ColumnSpec | undefined {
  const match = TYPE_SPEC.exec(spec);
  return match ? { type: match[1] as ColumnType, optional: match[2] === '?' } : undefined;
}

/** A cell as a reader delivers it. */
export type Cell = string | number | null;
/** A validated cell: numbers as canonical decimal strings (no float rounding), integers as numbers. */
export type Value = string | number | boolean | null;

export interface RowSchemaOptions {
  rowSchema: Record<string, string>;
  /** ',' for files written with a decimal comma ("12,5"), as French-locale spreadsheets export them. */
  decimalSeparator: '.' | ',';
}

const INTEGER = /^[-+]?\d+$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, oui: true, non: false };

/** A real calendar date: rejects 2023-02-30, which Date.UTC would roll over into March. */
function isCalendarDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

type Parsed = { value: Value } | { expected: string } | { problem: string };

function parseCell(type: ColumnType, cell: string | number, decimalSeparator: '.' | ','): Parsed {
  const text = String(cell);
  switch (type) {
    case 'string':
      return { value: text };
    case 'number': {
      // Readers give numbers as JS numbers (XLSX) or as their source text; only text carries a locale.
      const normalized = typeof cell === 'string' && decimalSeparator === ',' ? text.replace(',', '.') : text;
      const localeClash = typeof cell === 'string' && decimalSeparator === ',' && text.includes('.');
      // One canonical spelling for every connector (sources/kit/decimal.ts): "+007.50" → "7.5", "1e3" → "1000".
      const parsed = localeClash ? undefined : parseDecimal(normalized);
      if (parsed && 'value' in parsed) return parsed;
      if (parsed && !parsed.reason.startsWith('expected')) return { problem: parsed.reason };
      return { expected: decimalSeparator === ',' ? 'a number with a decimal comma (e.g. 12,5)' : 'a number' };
    }
    case 'integer': {
      const n = Number(text);
      return INTEGER.test(text) && Number.isSafeInteger(n) ? { value: n } : { expected: 'a whole number' };
    }
    case 'date': {
      const m = typeof cell === 'string' ? ISO_DATE.exec(text) : null;
      const [y, mo, d] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
      return m && isCalendarDate(y, mo, d) ? { value: text.slice(0, 10) } : { expected: 'a date written YYYY-MM-DD' };
    }
    case 'boolean': {
      const value = BOOLEANS[text.toLowerCase()] ?? (text === '1' ? true : text === '0' ? false : undefined);
      return value === undefined ? { expected: 'true or false' } : { value };
    }
  }
}

const shown = (cell: unknown) => (typeof cell === 'string' ? JSON.stringify(cell.slice(0, 60)) : String(cell));

function columnSchema(spec: ColumnSpec, decimalSeparator: '.' | ',') {
  return z.unknown().transform((input, ctx): Value => {
    // Cells are trimmed: spreadsheets keep stray spaces that are never part of the data.
    const cell = typeof input === 'string' ? input.trim() : input;
    if (cell === null || cell === undefined || cell === '') {
      if (spec.optional) return null;
      ctx.addIssue({ code: 'custom', input, message: `missing value (declared "${spec.type}", not "${spec.type}?")` });
      return z.NEVER;
    }
    if (typeof cell !== 'string' && typeof cell !== 'number') {
      // Readers only deliver text and numbers; anything else means the staged record was not written by them.
      ctx.addIssue({ code: 'custom', input, message: `expected a ${spec.type}, got a ${typeof cell}` });
      return z.NEVER;
    }
    const parsed = parseCell(spec.type, cell, decimalSeparator);
    if ('value' in parsed) return parsed.value;
    const message = 'problem' in parsed ? parsed.problem : `expected ${parsed.expected}, got ${shown(cell)}`;
    ctx.addIssue({ code: 'custom', input, message });
    return z.NEVER;
  });
}

export type CompiledRowSchema = z.ZodType<Record<string, Value>, Record<string, unknown>>;

/** Params are validated once per activity and then handed to every transform call: compile once per params object. */
const compiled = new WeakMap<RowSchemaOptions, CompiledRowSchema>();

export function compileRowSchema(options: RowSchemaOptions): CompiledRowSchema {
  let schema = compiled.get(options);
  if (!schema) {
    const shape: Record<string, ReturnType<typeof columnSchema>> = {};
    for (const [column, spec] of Object.entries(options.rowSchema)) {
      const parsed = parseTypeSpec(spec);
      if (!parsed) throw new Error(`rowSchema.${column}: "${spec}" is not a type spec (params were not validated)`);
      shape[column] = columnSchema(parsed, options.decimalSeparator);
    }
    schema = z.object(shape) as unknown as CompiledRowSchema;
    compiled.set(options, schema);
  }
  return schema;
}

/** `column "area_m2": expected a number, got "abc"; column "registered_on": missing value ...` */
export function describeRowIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.slice(0, max).map((issue) => `column "${String(issue.path[0])}": ${issue.message}`);
  const more = error.issues.length - lines.length;
  return lines.join('; ') + (more > 0 ? `; and ${more} more` : '');
}
