// TEDI's structured log: one JSON object per line through pino, ERROR and WARN on stderr, the rest on
// stdout. Errors are written as what an operator needs (type, message, failure type, code, the cause chain
// and the first stack), never as `{}` (an Error's own properties are not enumerable, so JSON.stringify
// drops them). Both TEDI's own lines and the Temporal SDK's forwarded ones (lib/logging.ts) come through
// here, so one line format covers a whole worker process. Nothing Temporal-specific is imported, so the
// CLI and the API can log through it without loading the SDK's worker.
import pino, { type DestinationStream, type Logger } from 'pino';

/** How deep a cause chain is written: undici nests two or three, a workflow failure four or five. */
const MAX_CAUSE_DEPTH = 8;

export interface SerializedError {
  /** The class: ApplicationFailure, ActivityFailure, TypeError… */
  type: string;
  message: string;
  /** An ApplicationFailure's own type (SourceUnavailable…), which decides retries. */
  failureType?: string;
  /** A system, TLS or library code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, UND_ERR_SOCKET). */
  code?: string;
  nonRetryable?: boolean;
  /** Only the outermost error's: the chain below it says where each cause came from. */
  stack?: string;
  cause?: SerializedError;
  /** An AggregateError's errors (a connection tried on IPv4 and IPv6). */
  errors?: SerializedError[];
}

/**
 * `err` as a plain object with its cause chain. An object that is not an Error is kept as it is (it may be
 * one serialised already: the `err` and `error` serializers run on fields forwardEntry has serialised);
 * anything else is written by its text.
 */
export function serializeError(err: unknown, depth = 0, seen = new Set<unknown>()): SerializedError {
  if (!(err instanceof Error)) {
    return typeof err === 'object' && err !== null
      ? (err as SerializedError)
      : { type: typeof err, message: String(err) };
  }
  seen.add(err);
  const e = err as Error & { type?: unknown; code?: unknown; nonRetryable?: unknown; errors?: unknown };
  const out: SerializedError = { type: e.constructor?.name || e.name, message: e.message };
  if (typeof e.type === 'string') out.failureType = e.type;
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = String(e.code);
  if (e.nonRetryable === true) out.nonRetryable = true;
  if (depth === 0 && e.stack) out.stack = e.stack;
  if (depth < MAX_CAUSE_DEPTH && e.cause !== undefined && !seen.has(e.cause)) {
    out.cause = serializeError(e.cause, depth + 1, seen);
  }
  if (depth < MAX_CAUSE_DEPTH && Array.isArray(e.errors) && e.errors.length > 0) {
    out.errors = e.errors.filter((x) => !seen.has(x)).map((x) => serializeError(x, depth + 1, seen));
  }
  return out;
}

/** Every Error among a line's fields serialised (the SDK passes them under `error`, TEDI under `err`). */
export function withSerializedErrors(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = value instanceof Error ? serializeError(value) : value;
  return out;
}

/** LOG_LEVEL names; anything else is info. */
export function logLevel(name: string | undefined): pino.Level {
  return name === 'trace' || name === 'debug' || name === 'warn' || name === 'error' ? name : 'info';
}

/** ERROR and WARN to stderr, the rest to stdout: each line goes to one of them only. */
function standardStreams(): DestinationStream {
  return pino.multistream(
    [
      { level: 'trace', stream: process.stdout },
      { level: 'warn', stream: process.stderr },
    ],
    { dedupe: true },
  );
}

/** A logger writing TEDI's line format to `destination` (default: stdout and stderr, as above). */
export function createLogger(level: string | undefined, destination: DestinationStream = standardStreams()): Logger {
  return pino(
    {
      level: logLevel(level),
      base: undefined,
      messageKey: 'msg',
      timestamp: () => `,"ts":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError, error: serializeError },
    },
    destination,
  );
}

let shared: Logger | undefined;

/** The process's logger. Set once by installLogger (lib/logging.ts); until then a default one at LOG_LEVEL. */
export function logger(): Logger {
  shared ??= createLogger(process.env.LOG_LEVEL);
  return shared;
}

/** Makes `l` the process's logger (the worker's runtime installs it, so TEDI's and the SDK's lines match). */
export function installLogger(l: Logger): void {
  shared = l;
}
