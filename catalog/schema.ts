// The shape of catalog/sources.yaml, as zod schemas whose messages say what a good value looks like.
// This checks one entry on its own; catalog/load.ts adds what needs the whole file or the connector
// (unique names, dataset/version pairs, each connector's own params schema, setting references).
import { z } from 'zod';
import { FREQUENCIES, type Frequency } from '../lib/scheduling/frequency';
import { VERTICALS, type Vertical } from '../lib/verticals';
import { connectorNames } from '../sources';

/** Each source gets one dataset named after it with this one scheduled version, unless the file lists others. */
export const DEFAULT_VERSION = 'current';

export const AUTH_TYPES = ['none', 'api_key', 'bearer', 'basic'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];
export const API_KEY_LOCATIONS = ['header', 'query'] as const;
export type ApiKeyLocation = (typeof API_KEY_LOCATIONS)[number];

/** `${NAME}`: a setting the environment gives (see load.ts, CATALOG_SETTINGS), written in place of a value. */
export const SETTING_REFERENCE = /\$\{([A-Z][A-Z0-9_]*)\}/g;
const WHOLE_REFERENCE = /^\$\{[A-Z][A-Z0-9_]*\}$/;

const NAME = /^[a-z][a-z0-9_]*$/;

/** A zod `error` option: one message when the field is missing, another when it has the wrong type. */
const missingOr = (missing: string, wrong: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? missing : wrong;

const text = (field: string, example: string) =>
  z
    .string({
      error: missingOr(`${field} is required: write it as text, e.g. ${example}`, `must be text, e.g. ${example}`),
    })
    .trim()
    .min(1, `${field} is empty: write it as text, e.g. ${example}`);

const name = (what: string, example: string) =>
  z
    .string({ error: missingOr(`is required: give the ${what}, e.g. ${example}`, `must be text, e.g. ${example}`) })
    .regex(NAME, `must be lower-case letters, digits and "_", starting with a letter, e.g. ${example}`);

function isUrl(value: string): boolean {
  if (WHOLE_REFERENCE.test(value)) return true; // checked when the setting is resolved
  try {
    return ['http:', 'https:', 'file:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const url = (field: string, example: string) =>
  z
    .string({ error: missingOr(`${field} is required: give a URL, e.g. ${example}`, `must be a URL, e.g. ${example}`) })
    .trim()
    .refine(isUrl, `must be an http://, https:// or file:// URL, e.g. ${example} (file:// for file sources)`);

const oneOf = <T extends readonly [string, ...string[]]>(field: string, values: T) =>
  z.enum(values, {
    error: missingOr(`${field} is required: one of ${values.join(', ')}`, `must be one of ${values.join(', ')}`),
  });

const strict = <S extends z.ZodRawShape>(what: string, shape: S) => {
  const fields = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field ${issue.keys.join(', ')}: ${what} takes ${fields}`
        : `must be a mapping of ${fields}`,
  });
};

const versionLabel = z
  .string({ error: 'a version label must be text; quote one that looks like a number, e.g. "2024"' })
  .trim()
  .min(1, 'a version label is empty: write one, e.g. current')
  .max(200, 'a version label is at most 200 characters');

const DatasetSchema = strict('a dataset', {
  slug: name('dataset slug', 'world_bank_agriculture'),
  title: text('title', '"World Bank agriculture indicators"').optional(),
  versions: z
    .array(versionLabel, { error: 'versions must be a list of version labels, e.g. [current]' })
    .min(1, 'versions is empty: list at least one, e.g. [current]'),
});

export const SourceSchema = strict('a source', {
  name: name('source name', 'world_bank_agriculture'),
  title: text('title', '"World Bank agriculture indicators"'),
  url: url('url', 'https://data.worldbank.org/'),
  organization: text('organization', '"World Bank"'),
  vertical: oneOf('vertical', VERTICALS),
  connector: z
    .string({ error: missingOr('connector is required: the name of a connector', 'must be a connector name') })
    .refine((c) => connectorNames().includes(c), {
      error: (issue) =>
        `unknown connector "${String(issue.input)}": use one of ${connectorNames().join(', ')} ` +
        '(a new kind of source needs a connector in sources/specs first)',
    }),
  frequency: oneOf('frequency', FREQUENCIES),
  rationale: text('rationale', '"WDI updates yearly"'),
  implemented: z.boolean({ error: 'must be true or false' }).default(true),
  active: z.boolean({ error: 'must be true or false' }).optional(),
  note: text('note', '"Needs an API key"').optional(),
  baseUrl: url('baseUrl', 'https://api.worldbank.org/v2'),
  authType: oneOf('authType', AUTH_TYPES).optional(),
  apiKeyParam: text('apiKeyParam', 'Ocp-Apim-Subscription-Key').optional(),
  apiKeyIn: oneOf('apiKeyIn', API_KEY_LOCATIONS).optional(),
  bearerLoginUrl: text('bearerLoginUrl', 'auth/login').optional(),
  rateLimitPerSecond: z
    .number({ error: 'must be a number of requests per second, e.g. 1 or 0.5' })
    .positive('must be above 0 requests per second, e.g. 1 or 0.5')
    .optional(),
  params: z.record(z.string(), z.unknown(), {
    error: missingOr(
      "params is required: the connector's parameters, or params: {} for its defaults",
      "must be a mapping of the connector's parameters, e.g. {indicators: [AG.PRD.CROP.XD]}",
    ),
  }),
  datasets: z
    .array(DatasetSchema, { error: 'datasets must be a list, e.g. [{slug: my_source, versions: [current]}]' })
    .min(1, 'datasets is empty: list at least one, or leave datasets out for the default')
    .optional(),
});

export const CatalogFileSchema = strict('the catalog file', {
  sources: z.array(z.unknown(), {
    error: 'sources is required: a list of sources (see the comments of the shipped file)',
  }),
});

export type SourceInput = z.output<typeof SourceSchema>;

export interface CatalogDataset {
  slug: string;
  title: string;
  versions: string[];
}

/** One source of the catalog, validated, its setting references resolved. */
export interface CatalogEntry {
  name: string;
  title: string;
  url: string;
  organization: string;
  vertical: Vertical;
  connector: string;
  frequency: Frequency;
  rationale: string;
  /** False for a source whose connector does not exist yet: catalogued inactive, never scheduled. */
  implemented: boolean;
  /** As written in the file (references resolved), checked by the connector's params schema. */
  params: Record<string, unknown>;
  baseUrl: string;
  rateLimitPerSecond?: number;
  /** How the stored credential is sent (sources/kit/http/auth.ts); default none. */
  authType?: AuthType;
  /** api_key: the header or query parameter that carries the key. */
  apiKeyParam?: string;
  /** api_key: header (default) or query. */
  apiKeyIn?: ApiKeyLocation;
  /** bearer: where to log in for the token, absolute or relative to baseUrl. */
  bearerLoginUrl?: string;
  /** Whether the source is created active (default: when implemented); false while it needs operator setup. */
  active?: boolean;
  /** What an operator should know about the entry, e.g. what to configure to activate it. */
  note?: string;
  datasets: CatalogDataset[];
}
