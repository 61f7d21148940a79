// Params of a tabular source (DataSource.params): where its file comes from, how to read it, and how its
// columns map to observations. Every error names the field and says how to fix it, because operators
// write these by hand in the catalog or the database.
import { z } from 'zod';
import { EncodingParam } from '../../kit/encoding';
import { noDuplicates, sourceParams } from '../../kit/params';
import { COLUMN_TYPES, parseTypeSpec, TYPE_SPEC } from './row-schema';

export const FORMATS = ['csv', 'json', 'xlsx'] as const;
export type TabularFormat = (typeof FORMATS)[number];

const COLUMNS_EXAMPLE = '{"seriesKey":["commune"],"period":"year","value":"value"}';
const PARAMS_EXAMPLE = `{"columns":${COLUMNS_EXAMPLE},"rowSchema":{"commune":"string","year":"integer","value":"number?"}}`;
const TYPES_HELP = `use ${COLUMN_TYPES.join(', ')}, with "?" for a column that may be empty (e.g. "number?")`;

const columnName = (field: string) =>
  z
    .string({ error: `${field} must be a column name (a string)` })
    .trim()
    .min(1, `${field} must be a column name, not empty`);

const ColumnsSchema = z.strictObject(
  {
    seriesKey: z
      .array(columnName('every seriesKey entry'), {
        error: 'seriesKey is required: list the columns that identify a series, e.g. ["commune", "crop"]',
      })
      .min(1, 'seriesKey is empty: list at least one column, e.g. ["commune"]'),
    period: columnName('period'),
    value: columnName('value').optional(),
    unit: z
      .union([columnName('unit'), z.strictObject({ constant: z.string().trim().min(1) })], {
        error: 'unit is a column name such as "unit", or a constant such as {"constant":"m2"}',
      })
      .optional(),
    attributes: z.array(columnName('every attributes entry')).default([]),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key ${issue.keys.join(', ')}: columns takes seriesKey, period, value, unit, attributes`
        : `columns is required: map the file's columns, e.g. ${COLUMNS_EXAMPLE}`,
  },
);

export const TabularParamsSchema = sourceParams('tabular_file', PARAMS_EXAMPLE, {
  format: z.enum(FORMATS, { error: 'format must be "csv", "json" or "xlsx" (or leave it out to infer it)' }).optional(),
  feedUrl: z
    .string({ error: 'feedUrl must be a URL string' })
    .trim()
    .regex(/^(https?|file):\/\/\S+$/i, 'feedUrl must be an http(s):// or file:// URL, e.g. "https://example.org/x.csv"')
    .optional(),
  sheet: z
    .union([z.string().trim().min(1), z.number().int().min(1)], {
      error: 'sheet is a sheet name such as "Parcels" or its position counted from 1',
    })
    .optional(),
  jsonPath: z
    .string({ error: 'jsonPath must be a string such as "data"' })
    .trim()
    .regex(
      /^[^.\s]+(\.[^.\s]+)*$/,
      'jsonPath is the dot-separated key of the array of rows, e.g. "data" or "result.items"',
    )
    .optional(),
  delimiter: z
    .string({ error: 'delimiter must be a string such as ";"' })
    .refine((d) => d.length === 1 && !/["\r\n]/.test(d), 'delimiter is one character such as "," or ";" or "\\t"')
    .optional(),
  // What the file is when it is not UTF-8 (sources/kit/encoding.ts: BOM, then strict UTF-8, decide first).
  encoding: EncodingParam.optional(),
  decimalSeparator: z
    .enum(['.', ','], { error: 'decimalSeparator is "." (default) or "," for files written with a decimal comma' })
    .default('.'),
  columns: ColumnsSchema,
  rowSchema: z
    .record(z.string().trim().min(1, 'rowSchema has an empty column name'), z.string().regex(TYPE_SPEC, TYPES_HELP), {
      error: `rowSchema is required: give each column a type, e.g. {"commune":"string","value":"number?"}`,
    })
    .refine((schema) => Object.keys(schema).length > 0, `rowSchema is empty: give each column a type (${TYPES_HELP})`),
}).superRefine((p, ctx) => {
  const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const declared = (column: string, path: (string | number)[]) => {
    const spec = p.rowSchema[column];
    if (spec === undefined)
      problem(path, `"${column}" is not in rowSchema: declare its type there, e.g. "${column}": "string"`);
    return spec === undefined ? undefined : parseTypeSpec(spec);
  };
  const { seriesKey, period, value, unit, attributes } = p.columns;
  seriesKey.forEach((column, i) => {
    const spec = declared(column, ['columns', 'seriesKey', i]);
    if (spec?.optional) {
      problem(['columns', 'seriesKey', i], `"${column}" is optional in rowSchema, but every row needs its series key`);
    }
  });
  const periodSpec = declared(period, ['columns', 'period']);
  if (periodSpec?.optional)
    problem(['columns', 'period'], `"${period}" is optional in rowSchema, but every row needs a period`);
  if (periodSpec?.type === 'number' || periodSpec?.type === 'boolean') {
    problem(['columns', 'period'], `"${period}" is a ${periodSpec.type}; a period column is a string, integer or date`);
  }
  if (value !== undefined) {
    const spec = declared(value, ['columns', 'value']);
    if (spec && spec.type !== 'number' && spec.type !== 'integer') {
      problem(['columns', 'value'], `"${value}" is declared "${spec.type}"; a value column is "number" or "integer"`);
    }
  }
  if (typeof unit === 'string') declared(unit, ['columns', 'unit']);
  for (const [i, column] of attributes.entries()) declared(column, ['columns', 'attributes', i]);
  if (!noDuplicates(seriesKey)) problem(['columns', 'seriesKey'], 'a column is listed twice');
  if (!noDuplicates(attributes)) problem(['columns', 'attributes'], 'a column is listed twice');
  // Options of another format are a sign of a mix-up (e.g. a sheet for a CSV source): say so instead of ignoring them.
  const only = (key: 'sheet' | 'jsonPath' | 'delimiter' | 'encoding', formats: TabularFormat[]) => {
    if (p.format && p[key] !== undefined && !formats.includes(p.format)) {
      problem(
        [key],
        `${key} applies to ${formats.join('/')} files, but format is "${p.format}": remove it or fix format`,
      );
    }
  };
  only('sheet', ['xlsx']);
  only('jsonPath', ['json']);
  only('delimiter', ['csv']);
  only('encoding', ['csv', 'json']);
});

export type TabularParams = z.output<typeof TabularParamsSchema>;

/** The columns rowSchema declares, in its order: the only cells a reader keeps (staging stays small). */
export function declaredColumns(params: TabularParams): string[] {
  return Object.keys(params.rowSchema);
}
