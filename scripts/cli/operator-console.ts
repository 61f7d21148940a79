// The CLI's side of the tedi-operator workflow: operator actions sent as Temporal updates, so each one is
// recorded in the console's history and `status` query, as if it were made from the Web UI.
import {
  type Client,
  isGrpcDeadlineError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ensureOperatorConsole } from '../../operations/temporal/operator-console';
import {
  type OperatorAction,
  resetAllBreakersUpdate,
  resetBreakerUpdate,
  type VersionName,
} from '../../workflows/definitions';
import { OPERATOR_WORKFLOW_ID } from '../../workflows/ids';
import { OperationFailed, rootMessage } from './errors';

/** The console answers in milliseconds when a worker polls the scheduler queue; silence means none does. */
const UPDATE_TIMEOUT_MS = 30_000;

export async function resetThroughConsole(client: Client, target: VersionName): Promise<OperatorAction> {
  return throughConsole(client, (handle) => handle.executeUpdate(resetBreakerUpdate, { args: [target] }));
}

/** `tedi reset --all`: every open breaker closed by the console, one recorded action each. */
export async function resetAllThroughConsole(client: Client): Promise<OperatorAction[]> {
  return throughConsole(client, (handle) => handle.executeUpdate(resetAllBreakersUpdate, { args: [] }));
}

async function throughConsole<T>(
  client: Client,
  send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
): Promise<T> {
  // Idempotent: starts the console if this deployment has not yet.
  await ensureOperatorConsole(client);
  const handle = client.workflow.getHandle(OPERATOR_WORKFLOW_ID);
  try {
    return await client.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () => send(handle));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new OperationFailed(`reset failed: ${rootMessage(err)}`);
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(err)) {
      throw new OperationFailed(
        `the operator console (${OPERATOR_WORKFLOW_ID}) did not answer within ${UPDATE_TIMEOUT_MS / 1000} s: ` +
          'are the TEDI workers running (`npm start` or `npm run worker`, scheduler queue)?',
      );
    }
    throw err;
  }
}
