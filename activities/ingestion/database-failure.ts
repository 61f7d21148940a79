// TEDI's own database going away is not the source's fault and must not wait on the source's backoff
// (up to 10 minutes between attempts). Activities turn such errors into one failure type,
// DatabaseUnavailable, which the ingestion workflow retries on its own short schedule
// (workflows/failure-handling.ts) so an ingestion resumes within seconds of the database's return.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';

/** SQLSTATE classes and codes that mean "the server or the connection is gone", not "the query is wrong". */
const CONNECTION_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const CONNECTION_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTCONN']);
/** What pg and Prisma's pg adapter say when the connection is lost (they carry no code for it). */
const CONNECTION_MESSAGE =
  /Connection terminated|terminating connection|connection error and is not queryable|the database system is (starting up|shutting down|in recovery)|Can't reach database server|Server has closed the connection|timeout exceeded when trying to connect/i;
/** Prisma's own codes for an unreachable or closed database. */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1017']);

/** True when `err` (or anything in its cause chain) says TEDI's database connection failed. */
export function isDatabaseConnectionError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    if (current instanceof ApplicationFailure) return current.type === FailureType.DatabaseUnavailable;
    const e = current as { code?: unknown; message?: unknown; errors?: unknown[]; cause?: unknown };
    const code = typeof e.code === 'string' ? e.code : '';
    if (CONNECTION_SQLSTATE.test(code) || CONNECTION_ERRNO.has(code) || PRISMA_CONNECTION_CODES.has(code)) return true;
    if (typeof e.message === 'string' && CONNECTION_MESSAGE.test(e.message)) return true;
    // net.connect to several addresses fails with an AggregateError whose members carry the errno.
    if (Array.isArray(e.errors) && e.errors.some(isDatabaseConnectionError)) return true;
    current = e.cause;
  }
  return false;
}

/** Rethrows a lost database connection as DatabaseUnavailable; any other error unchanged. */
export function asDatabaseFailure(err: unknown, during: string): unknown {
  if (!isDatabaseConnectionError(err) || err instanceof ApplicationFailure) return err;
  const reason = (err as Error)?.message || String(err);
  return ApplicationFailure.create({
    message: `TEDI's database was unreachable during ${during}: ${reason}`,
    type: FailureType.DatabaseUnavailable,
    // The workflow decides when to try again (workflows/failure-handling.ts), not the source's backoff.
    nonRetryable: true,
  });
}

/** Runs an activity body, turning a lost database connection into DatabaseUnavailable. */
export async function guardDatabase<T>(during: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asDatabaseFailure(err, during);
  }
}
