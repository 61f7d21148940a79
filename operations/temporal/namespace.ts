// Creates TEDI's namespace on a Temporal server that has none yet (the cluster mode's own server; the
// compose deployment's namespace job does the same with the temporal CLI). Idempotent.
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';

const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

/** The compose deployment's default (TEMPORAL_RETENTION=7d): closed workflows' histories are kept a week. */
export const DEFAULT_RETENTION_DAYS = 7;

/**
 * Registers `namespace` when the server lacks it, then waits until the server's services know it (a new
 * namespace reaches their caches within seconds). Returns true when it was created now.
 */
export async function ensureNamespace(
  connection: Connection,
  namespace: string,
  retentionDays = DEFAULT_RETENTION_DAYS,
): Promise<boolean> {
  const exists = await connection.workflowService.describeNamespace({ namespace }).then(
    () => true,
    (err: { code?: number }) => (err?.code === NOT_FOUND ? false : Promise.reject(err)),
  );
  if (exists) return false;
  await connection.workflowService
    .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`) })
    .catch((err: { code?: number }) => (err?.code === ALREADY_EXISTS ? undefined : Promise.reject(err)));
  await untilKnown(connection, namespace);
  return true;
}

/** A visibility query reaches the frontend's and the persistence's view of the namespace. */
async function untilKnown(connection: Connection, namespace: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`namespace ${namespace} was registered but is not usable: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
