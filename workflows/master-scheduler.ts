// The master scheduler (the seed's check_and_schedule): started by the `tedi-master` schedule every six
// hours, it pages through the dataset versions due at the schedule's nominal time and starts one
// ingestion per due version on its vertical's task queue, keeping a bounded number in flight.

import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  type ChildWorkflowHandle,
  condition,
  continueAsNew,
  ParentClosePolicy,
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
import { OutcomeKey, runningIngestionAttributes, ScheduledStartTimeKey } from '../lib/search-attributes';
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

const { findDueVersions } = proxyActivities<Activities>(bookkeeping);

export async function masterScheduler(input: MasterInput = {}): Promise<MasterResult> {
  const info = workflowInfo();
  const asOf =
    input.asOf ?? info.typedSearchAttributes.get(ScheduledStartTimeKey)?.toISOString() ?? info.startTime.toISOString();
  const maxInFlight = input.maxInFlight ?? 20;
  const pageSize = input.pageSize ?? 100;
  const canAfter = input.continueAsNewAfterEvents ?? 10_000;

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

  const track = (handle: ChildWorkflowHandle<typeof ingestDatasetVersion>) => {
    inFlight++;
    handle
      .result()
      .then((r: IngestResult) => {
        if (r.hasChanges) totals.changed++;
        else totals.unchanged++;
      })
      .catch(() => {
        totals.errors++;
      })
      .finally(() => {
        inFlight--;
        completed++;
      });
  };

  const startIngestion = async (due: DueVersion): Promise<void> => {
    totals.checked++;
    if (due.breakerOpen) {
      totals.skipped++;
      return;
    }
    await condition(() => inFlight < maxInFlight);
    try {
      const handle = await startChild(ingestDatasetVersion, {
        workflowId: scheduledIngestionId(due.source, due.version, asOf),
        taskQueue: taskQueueFor(due.vertical as Vertical),
        args: [{ datasetVersionId: due.datasetVersionId, trigger: 'schedule', retry: input.childRetry }],
        // The same schedule tick never ingests the same version twice, even if this master is retried.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        // A master that ends early (terminated, timed out) must not take running ingestions with it.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [...runningIngestionAttributes(due)],
      });
      totals.scheduled++;
      track(handle);
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        totals.skipped++;
        return;
      }
      throw err;
    }
  };

  for (;;) {
    const page = await findDueVersions({ asOf, afterId, limit: pageSize });
    pagesRead++;
    for (const due of page.versions) await startIngestion(due);
    if (page.nextAfterId === null) break;
    afterId = page.nextAfterId;
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > canAfter) {
      // Children do not follow a continue-as-new, so wait for this run's children before handing over.
      await condition(() => inFlight === 0);
      await continueAsNew<typeof masterScheduler>({ ...input, asOf, cursor: { afterId, totals, pagesRead } });
    }
  }
  await condition(() => inFlight === 0);
  // Searchable like the ingestions: `TediOutcome = 'failed'` finds the ticks where some ingestion failed.
  upsertSearchAttributes([{ key: OutcomeKey, value: totals.errors > 0 ? 'failed' : 'success' }]);
  upsertMemo({ ...totals });
  return totals;
}
