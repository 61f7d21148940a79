// The master scheduler (the seed's check_and_schedule): started by the `tedi-master` schedule every six
// hours, it pages through the dataset versions due at the schedule's nominal time and starts one
// ingestion per due version on its vertical's task queue, keeping a bounded number in flight.

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  type ChildWorkflowHandle,
  condition,
  continueAsNew,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DueVersion } from '../activities/scheduling/due-versions';
import {
  ingestionSummary,
  OutcomeKey,
  runningIngestionAttributes,
  ScheduledStartTimeKey,
  startedIngestionAttributes,
} from '../lib/search-attributes';
import { taskQueueFor, type Vertical } from '../lib/verticals';
import { bookkeeping } from './activity-options';
import { type MasterProgress, masterProgressQuery } from './definitions';
import { scheduledIngestionId } from './ids';
import { type IngestInput, type IngestResult, ingestDatasetVersion } from './ingest-dataset-version';

export interface MasterInput {
  /** Nominal time of this run (ISO). Defaults to the schedule's TemporalScheduledStartTime, else the start time. */
  asOf?: string;
  /** Children in flight at once (default 20). */
  maxInFlight?: number;
  pageSize?: number;
  /** Continue-as-new once history passes this many events (default 10,000; the hard limit is 51,200). */
  continueAsNewAfterEvents?: number;
  /** Passed to every child (operators use it to fail fast while fixing a source). */
  childRetry?: IngestInput['retry'];
  /** Carried across continue-as-new. */
  cursor?: { afterId: number; totals: MasterResult; pagesRead: number };
}

/** The seed's result shape, plus what happened to the children this run started. */
export interface MasterResult {
  checked: number;
  scheduled: number;
  skipped: number;
  errors: number;
  changed: number;
  unchanged: number;
}

const { findDueVersions, logBreakerSkip } = proxyActivities<Activities>(bookkeeping);

/**
 * Events a child in flight may still add to this run's history: its start (when not yet recorded), its
 * close, and a share of the workflow tasks they cause.
 */
const HANDOVER_EVENTS_PER_CHILD = 5;
/** One more page read (an activity and its workflow task) and the continue-as-new itself. */
const HANDOVER_SLACK = 16;

export async function masterScheduler(input: MasterInput = {}): Promise<MasterResult> {
  const info = workflowInfo();
  const asOf =
    input.asOf ?? info.typedSearchAttributes.get(ScheduledStartTimeKey)?.toISOString() ?? info.startTime.toISOString();
  const maxInFlight = input.maxInFlight ?? 20;
  const pageSize = input.pageSize ?? 100;
  const canAfter = input.continueAsNewAfterEvents ?? 10_000;
  // Masters that started before parallel child starts shipped replay the one-at-a-time path.
  const parallelStarts = patched('master-parallel-child-starts');
  // Masters that started before the half-open breaker skip every open breaker silently.
  const halfOpen = patched('master-half-open-breaker');

  const totals: MasterResult = input.cursor?.totals ?? {
    checked: 0,
    scheduled: 0,
    skipped: 0,
    errors: 0,
    changed: 0,
    unchanged: 0,
  };
  let afterId = input.cursor?.afterId ?? 0;
  let pagesRead = input.cursor?.pagesRead ?? 0;
  let inFlight = 0;
  let completed = 0;

  setHandler(masterProgressQuery, (): MasterProgress => ({ asOf, ...totals, inFlight, completed, pagesRead }));

  /** A start refused for another reason than a duplicate id; it fails this run, as it always did. */
  let startFailure: unknown;
  const rethrowStartFailure = () => {
    if (startFailure !== undefined) throw startFailure;
  };

  /** Starts the child; `undefined` when this tick already started it (counted as skipped). */
  const start = async (due: DueVersion): Promise<ChildWorkflowHandle<typeof ingestDatasetVersion> | undefined> => {
    // Children started before the trigger attribute and the summary existed replay as they were started.
    const described = patched('master-child-trigger-summary');
    try {
      const handle = await startChild(ingestDatasetVersion, {
        workflowId: scheduledIngestionId(due.source, due.version, asOf),
        taskQueue: taskQueueFor(due.vertical as Vertical),
        args: [
          {
            datasetVersionId: due.datasetVersionId,
            trigger: 'schedule',
            retry: input.childRetry,
            // An open breaker whose cool-down is over gets one probe-only check (see startIngestion).
            ...(halfOpen && due.probeDue ? { halfOpenProbe: true } : {}),
          },
        ],
        // The same schedule tick never ingests the same version twice, even if this master is retried.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        // A master that ends early (terminated, timed out) must not take running ingestions with it.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: described
          ? startedIngestionAttributes(due, 'schedule')
          : [...runningIngestionAttributes(due)],
        ...(described ? { staticSummary: ingestionSummary(due, 'schedule') } : {}),
      });
      totals.scheduled++;
      return handle;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        totals.skipped++;
        return undefined;
      }
      throw err;
    }
  };

  const follow = async (handle: ChildWorkflowHandle<typeof ingestDatasetVersion>): Promise<void> => {
    try {
      const r: IngestResult = await handle.result();
      if (r.hasChanges) totals.changed++;
      else totals.unchanged++;
    } catch {
      totals.errors++;
    }
    completed++;
  };

  const startIngestion = async (due: DueVersion): Promise<void> => {
    totals.checked++;
    if (due.breakerOpen && !(halfOpen && due.probeDue)) {
      totals.skipped++;
      // Every skip leaves a log row saying why and when the breaker is probed next.
      if (halfOpen && due.breakerOpenedAt) {
        await logBreakerSkip({
          datasetVersionId: due.datasetVersionId,
          workflowId: scheduledIngestionId(due.source, due.version, asOf),
          breakerOpenedAt: due.breakerOpenedAt,
          nextProbeAt: due.nextProbeAt,
        });
      }
      return;
    }
    await condition(() => inFlight < maxInFlight || startFailure !== undefined);
    rethrowStartFailure();
    if (!parallelStarts) {
      // Runs recorded before parallel starts: one start at a time, each awaited before the next.
      const handle = await start(due);
      if (!handle) return;
      inFlight++;
      void follow(handle).finally(() => inFlight--);
      return;
    }
    // The slot is taken at once and the start is not awaited, so every free slot is filled in the same
    // workflow task: one round trip to the server per batch of starts instead of one per child.
    inFlight++;
    void start(due)
      .then((handle) => (handle ? follow(handle) : undefined))
      .catch((err: unknown) => {
        startFailure ??= err;
      })
      .finally(() => inFlight--);
  };

  // Checked before every child, not once a page: a page of children adds several events each, and
  // draining the children in flight adds up to four each (their close and a workflow task), so both are
  // reserved and a run's history stays under `canAfter` (and under Temporal's 10,240-event warning).
  // Every run handles at least one version, so even a tiny threshold makes progress.
  let handledThisRun = 0;
  const mustHandOver = () => {
    const now = workflowInfo();
    return (
      handledThisRun > 0 &&
      (now.continueAsNewSuggested ||
        now.historyLength + HANDOVER_EVENTS_PER_CHILD * inFlight + HANDOVER_SLACK > canAfter)
    );
  };

  for (;;) {
    const page = await findDueVersions({ asOf, afterId, limit: pageSize });
    pagesRead++;
    for (const due of page.versions) {
      if (mustHandOver()) {
        // Children do not follow a continue-as-new, so wait for this run's children before handing over;
        // the next run reads on from the last version this one handled.
        await condition(() => inFlight === 0);
        rethrowStartFailure();
        await continueAsNew<typeof masterScheduler>({ ...input, asOf, cursor: { afterId, totals, pagesRead } });
      }
      await startIngestion(due);
      afterId = due.datasetVersionId;
      handledThisRun++;
    }
    if (page.nextAfterId === null) break;
    afterId = page.nextAfterId;
  }
  await condition(() => inFlight === 0);
  rethrowStartFailure();
  // Searchable like the ingestions: `TediOutcome = 'failed'` finds the ticks where some ingestion failed.
  upsertSearchAttributes([{ key: OutcomeKey, value: totals.errors > 0 ? 'failed' : 'success' }]);
  upsertMemo({ ...totals });
  return totals;
}
