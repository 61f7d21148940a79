// The operator console: one long-running workflow (id `tedi-operator`) that takes the actions the seed's
// operators did by hand, as Temporal messages any operator can send from the Web UI or the CLI:
//   update resetBreaker {source, version?}  – close a circuit breaker; the version is due again at once
//   update checkNow     {source, version?, force?} – start an ingestion now; returns its workflow id
//   signal requestCheck {source, version?, force?} – the same, fire-and-forget
//   update resetAllBreakers                  – close every open breaker (`tedi reset --all`), one action each
//   signal breakerClosed                     – a half-open probe closed a breaker (sent by its ingestion)
//   query  status                            – what it handled recently
// Every action is recorded in this workflow's history: the audit trail of operator interventions.

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { resetResult } from '../lib/scheduling/frequency';
import { ingestionSummary, runningIngestionAttributes, startedIngestionAttributes } from '../lib/search-attributes';
import { taskQueueFor, type Vertical } from '../lib/verticals';
import { bookkeeping } from './activity-options';
import {
  breakerClosedSignal,
  checkNowUpdate,
  type OperatorAction,
  type OperatorStatus,
  operatorStatusQuery,
  requestCheckSignal,
  resetAllBreakersUpdate,
  resetBreakerUpdate,
  type VersionName,
} from './definitions';
import { manualIngestionId, OPERATOR_WORKFLOW_ID } from './ids';
import { ingestDatasetVersion } from './ingest-dataset-version';

export { OPERATOR_WORKFLOW_ID };

const RECENT = 20;
/** Hand over to a fresh run well before history grows large. */
const ACTIONS_PER_RUN = 500;

const { resolveVersion, resetBreakerFor, resetAllOpenBreakers } = proxyActivities<Activities>(bookkeeping);

/** An operator should read "No dataset version …", not "Activity task failed": surface the cause. */
function plainFailure(err: unknown): ApplicationFailure {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (cause instanceof ApplicationFailure) return ApplicationFailure.nonRetryable(cause.message, cause.type);
  return ApplicationFailure.nonRetryable(
    cause instanceof Error ? cause.message : String(cause),
    'OperatorActionFailed',
  );
}

async function explained<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw plainFailure(err);
  }
}

function validate(input: VersionName | undefined): void {
  if (!input || typeof input.source !== 'string' || input.source.length === 0) {
    throw ApplicationFailure.nonRetryable(
      'input needs "source", e.g. {"source":"world_bank_agriculture"}',
      'InvalidInput',
    );
  }
}

export async function operatorConsole(carried?: OperatorStatus): Promise<void> {
  const status: OperatorStatus = carried ?? { startedAt: new Date().toISOString(), actionsHandled: 0, recent: [] };
  let handledThisRun = 0;
  const record = (action: OperatorAction): OperatorAction => {
    status.recent = [action, ...status.recent].slice(0, RECENT);
    status.actionsHandled++;
    handledThisRun++;
    return action;
  };

  const checkNow = async (input: VersionName & { force?: boolean }): Promise<OperatorAction> => {
    const v = await explained(() => resolveVersion(input));
    const workflowId = manualIngestionId(v.source, v.version, new Date().toISOString());
    // Checks started before the trigger attribute and the summary existed replay as they were started.
    const described = patched('operator-child-trigger-summary');
    try {
      await startChild(ingestDatasetVersion, {
        workflowId,
        taskQueue: taskQueueFor(v.vertical as Vertical),
        args: [{ datasetVersionId: v.datasetVersionId, trigger: 'manual', force: input.force }],
        // The ingestion outlives this console's continue-as-new.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: described ? startedIngestionAttributes(v, 'manual') : [...runningIngestionAttributes(v)],
        ...(described ? { staticSummary: ingestionSummary(v, 'manual') } : {}),
      });
    } catch (err) {
      // Two requests in the same second name the same run: the second one joins the first.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return record({
      at: new Date().toISOString(),
      action: 'checkNow',
      source: v.source,
      version: v.version,
      result: workflowId,
    });
  };

  setHandler(operatorStatusQuery, () => status);
  setHandler(
    resetBreakerUpdate,
    async (input) => {
      const state = await explained(() => resetBreakerFor(input));
      const result = resetResult(state);
      return record({
        at: new Date().toISOString(),
        action: 'resetBreaker',
        source: state.source,
        version: state.version,
        result,
      });
    },
    { validator: validate },
  );
  setHandler(checkNowUpdate, checkNow, { validator: validate });
  // New handlers only: histories recorded before them never received these messages, so replay is unchanged.
  setHandler(resetAllBreakersUpdate, async () => {
    const closed = await explained(() => resetAllOpenBreakers());
    return closed.map((state) =>
      record({
        at: new Date().toISOString(),
        action: 'resetBreaker',
        source: state.source,
        version: state.version,
        result: `${resetResult(state)} (reset --all)`,
      }),
    );
  });
  setHandler(breakerClosedSignal, (notice) => {
    record({
      at: new Date().toISOString(),
      action: 'breakerClosed',
      source: String(notice?.source),
      version: String(notice?.version),
      result: `${notice?.result} (${notice?.workflowId})`,
    });
  });
  setHandler(requestCheckSignal, async (input) => {
    // A signal has no caller to answer: a bad request is recorded, never allowed to fail the console.
    try {
      validate(input);
      await checkNow(input);
    } catch (err) {
      const message = plainFailure(err).message;
      record({
        at: new Date().toISOString(),
        action: 'checkNow',
        source: String(input?.source),
        version: String(input?.version ?? 'current'),
        result: `rejected: ${message}`,
      });
    }
  });

  await condition(() => handledThisRun >= ACTIONS_PER_RUN || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof operatorConsole>(status);
}
