// Every setting TEDI reads from the environment, validated once at start-up.
// A bad value stops start-up with a message that names the variable and says how to fix it.
import fs from 'node:fs';
import { z } from 'zod';
import { redactUrlsInText } from './redact';

const port = z.coerce.number().int().min(1).max(65535);

const EnvSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// connection URL')
    .optional()
    .describe('PostgreSQL connection URL; unset = start the embedded PostgreSQL under .data/postgres'),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port, e.g. 127.0.0.1:7233')
    .optional()
    .describe('Temporal frontend host:port; unset = start the Temporal dev server'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEDI_TEMPORAL_UI_URL: z
    .string()
    .url("must be the Temporal Web UI's base URL, e.g. http://localhost:8233")
    .regex(/^https?:\/\//, 'must be an http:// or https:// URL, e.g. http://localhost:8233')
    .default('http://localhost:8233')
    .describe('Temporal Web UI base URL the status page links runs into'),
  EMBEDDED_PG_PORT: port.default(54329),
  TEDI_TEMPORAL: z
    .enum(['dev', 'cluster'], {
      error: 'must be dev (the Temporal dev server) or cluster (Temporal server on PostgreSQL)',
    })
    .default('dev')
    .describe('what `npm start` runs on when TEMPORAL_ADDRESS is unset: the dev server, or the cluster mode'),
  TEDI_CLUSTER_PG_PORT: port
    .default(54330)
    .describe("port of the cluster mode's embedded PostgreSQL that holds Temporal's own databases"),
  TEDI_DATA_DIR: z.string().min(1).default('.data'),
  TEDI_SECRET_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters (32 bytes); generate one with `openssl rand -hex 32`')
    .optional()
    .describe('key that encrypts API keys at rest; unset = a key generated once under .data/secret.key'),
  TEDI_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).default(90),
  TEDI_MASTER_INTERVAL: z
    .string()
    .regex(/^\d+\s*(m|h|d)$/, 'must be a duration such as 6h, 30m or 1d')
    .default('6h'),
  TEDI_MASTER_FIRST_RUN: z
    .enum(['at-creation', 'next-interval'], { error: 'must be at-creation or next-interval' })
    .default('at-creation')
    .describe('when a newly created tedi-master schedule first runs: at once, or one interval later'),
  TEDI_MAX_CHILDREN_IN_FLIGHT: z.coerce.number().int().min(1).max(500).default(20),
  TEDI_WB_COUNTRIES: z
    .string()
    .regex(/^[A-Za-z]{2,3}(;[A-Za-z]{2,3})*$/, 'must be ISO codes separated by ";", e.g. BJ;TG;NE')
    .default('BJ'),
  TEDI_WORLD_BANK_BASE_URL: z.string().url().default('https://api.worldbank.org/v2'),
  TEDI_CATALOG_FILE: z
    .string()
    .refine(
      (file) => fs.statSync(file, { throwIfNoEntry: false })?.isFile() === true,
      'no such file: give the path of a catalog file laid out like catalog/sources.yaml (absolute, or relative to the working directory)',
    )
    .optional()
    .describe('the source catalog file; unset = catalog/sources.yaml'),
  TEDI_WORKER_QUEUES: z
    .string()
    .regex(
      /^(scheduler|agriculture|realestate|employment|business)(,(scheduler|agriculture|realestate|employment|business))*$/,
      'must be a comma-separated list of task queues: scheduler, agriculture, realestate, employment, business',
    )
    .optional()
    .describe('task queues this worker process polls; unset = all five'),
  TEDI_METRICS_BIND: z
    .string()
    .regex(
      // The SDK parses it as a socket address: an IP literal, not a host name.
      /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\]):\d{1,5}$/,
      'must be ip:port (an IP address, not a host name), e.g. 127.0.0.1:9464, or 0.0.0.0:9464 in a container',
    )
    .refine((v) => {
      const p = Number(v.slice(v.lastIndexOf(':') + 1));
      return p >= 1 && p <= 65535;
    }, 'port must be between 1 and 65535')
    .optional()
    .describe('address of the Prometheus /metrics endpoint (SDK and TEDI metrics); unset = no endpoint'),
  TEDI_API_HOST: z
    .string()
    .regex(
      /^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[?[0-9a-fA-F:.]+\]?)$/,
      'must be a host name or IP address to listen on, e.g. 127.0.0.1, or 0.0.0.0 in a container',
    )
    .default('127.0.0.1')
    .describe('address the HTTP read API listens on; default loopback only'),
  TEDI_API_PORT: port.default(8088).describe('port of the HTTP read API (npm start, npm run api)'),
  TEDI_ALERT_FROM: z
    .string()
    .regex(/^([^<>]+<)?[^\s@<>]+@[^\s@<>]+>?$/, 'must be an address, e.g. TEDI <tedi@example.org>')
    .optional()
    .describe('the From of alert e-mails; unset = TEDI Ingest <tedi@localhost>'),
  TEDI_API_ADMIN_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters: generate one with `openssl rand -hex 32`')
    .optional()
    .describe("bearer token of the API's subscription routes (/v1/subscriptions); unset = those routes are off"),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type AppConfig = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Variables whose value is never printed, not even in part: the message says what is wrong with it instead. */
const SECRET_VARIABLES = new Set(['TEDI_SECRET_KEY', 'TEDI_API_ADMIN_TOKEN']);

/**
 * How a bad value appears in the error: a secret only by its shape (length, hex or not), anything else
 * as written with the password of a connection URL (and credential parameters) masked.
 */
function shownValue(name: string, value: string): string {
  if (SECRET_VARIABLES.has(name)) {
    const hex = /^[0-9a-fA-F]*$/.test(value) ? 'hex' : 'not hex';
    return ` (value not shown: ${value.length} characters, ${hex})`;
  }
  return `=${JSON.stringify(redactUrlsInText(value))}`;
}

/** Parses `env` (default: process.env); throws ConfigError listing every bad variable and its fix. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings mean "unset" for optional variables, the way shells and compose files write them.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return `  ${name}${shownValue(name, env[name] ?? '')}: ${issue.message}`;
  });
  throw new ConfigError(
    `Invalid configuration:\n${lines.join('\n')}\nFix these environment variables and start again.`,
  );
}

/** The variables the application reads: the compose file and the README are checked against this list. */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape);
