// One ingestion of one dataset version: probe → fetch → transform → load → mark checked.
// Reads like the business process; every I/O step is an activity with its own retry policy, and the
// audit log row is opened first and always closed, whatever happens in between.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type {
  FinalStatus,
  FinishInput,
  FinishSummary,
  IngestionPlan,
  Trigger,
  VersionRef,
} from '../activities/ingestion/types';
import { FailureType, failureFacts } from '../lib/failures';
import {
  ErrorClassKey,
  OutcomeKey,
  runningIngestionAttributes,
  startedIngestionAttributes,
} from '../lib/search-attributes';
import type { EventInput } from '../sources/kit/types';
import {
  bookkeeping,
  loadOptions,
  localBookkeeping,
  probeOptions,
  type RetryOverride,
  sourceRetry,
  streamingOptions,
} from './activity-options';
import {
  type BreakerClosedNotice,
  breakerClosedSignal,
  type IngestionProgress,
  ingestionProgressQuery,
} from './definitions';
import { failureTypeOf, MAX_STAGING_PASSES, retryWhileDatabaseDown } from './failure-handling';
import { failureMemo } from './failure-memo';
import { OPERATOR_WORKFLOW_ID } from './ids';

/** Which version to ingest: `datasetVersionId`, or `source` (+ `version`, default "current") as operators type it. */
export interface IngestInput extends VersionRef {
  trigger: Trigger;
  /** Ingest even if the probe says nothing changed, the breaker is open or checks are disabled. */
  force?: boolean;
  retry?: RetryOverride;
  /** Share of rows that may fail validation before the ingestion fails (default 0.1). */
  maxRejectRatio?: number;
  /** On-event and file sources: the file path or URL to ingest (its checksum is the probe). */
  event?: EventInput;
  /**
   * Accept, for this run only, a snapshot the guards would refuse as empty or shrunken (more than the
   * source's max_removed_ratio of current rows removed). The acceptance is recorded in the log row.
   */
  acceptRemovals?: boolean;
  /**
   * Set by the master once an open breaker's cool-down is over: one probe-only check (the probe activity,
   * one attempt; no fetch, no load). It answers: the breaker closes and the version is due at the next
   * master run. It fails: the breaker stays open and its cool-down restarts.
   */
  halfOpenProbe?: boolean;
}

export interface IngestResult {
  status: FinalStatus;
  hasChanges: boolean;
  revision: number | null;
  recordsAdded: number;
  recordsUpdated: number;
  recordsRemoved: number;
  /** Records looked at and found unchanged (the seed's `records_skipped`). */
  recordsSkipped: number;
  recordsRejected: number;
  checksum: string | null;
  reason?: string;
}

const remoteBook = proxyActivities<Activities>(bookkeeping);
const localBook = proxyLocalActivities<Activities>(localBookkeeping);

export async function ingestDatasetVersion(input: IngestInput): Promise<IngestResult> {
  const { probeSource } = proxyActivities<Activities>(probeOptions(input.retry));
  const { stageSnapshot } = proxyActivities<Activities>(streamingOptions(input.retry));
  const { loadRevision } = proxyActivities<Activities>(loadOptions(input.retry));

  const progress: IngestionProgress = {
    source: null,
    version: null,
    stage: 'starting',
    outcome: 'running',
    recordsFetched: null,
    rowsTransformed: null,
    revision: null,
  };
  setHandler(ingestionProgressQuery, () => progress);

  // Opening and closing the log row run as local activities; runs that began before that replay as they ran.
  const book = patched('ingestion-local-bookkeeping') ? localBook : remoteBook;
  // Runs that began before failures were reported (trigger and error class searchable, the failure's root
  // cause, attempts and schedule in the memo) replay without those commands.
  const reportsFailures = patched('ingestion-failure-report');
  const plan = await book.beginIngestion({
    datasetVersionId: input.datasetVersionId,
    source: input.source,
    version: input.version,
    trigger: input.trigger ?? 'manual',
  });
  progress.source = plan.source;
  progress.version = plan.version;
  // Set here as well as by the master, so a run started by hand (`temporal workflow start`) is searchable too.
  upsertSearchAttributes(
    reportsFailures
      ? startedIngestionAttributes(plan, input.trigger ?? 'manual')
      : [...runningIngestionAttributes(plan)],
  );

  /** What closing the log row did to the version's schedule (breaker, next check): the failure memo shows it. */
  let schedule: FinishSummary | undefined;
  const finish = async (result: IngestResult, extra: Partial<FinishInput> = {}): Promise<IngestResult> => {
    progress.stage = 'finishing';
    schedule = await book.finishIngestion({
      logId: plan.logId,
      datasetVersionId: plan.datasetVersionId,
      status: result.status,
      checksum: result.checksum,
      revision: result.revision,
      recordsAdded: result.recordsAdded,
      recordsUpdated: result.recordsUpdated,
      recordsUnchanged: result.recordsSkipped,
      recordsRemoved: result.recordsRemoved,
      recordsRejected: result.recordsRejected,
      note: result.reason,
      ...extra,
    });
    progress.stage = 'done';
    progress.outcome = result.status;
    upsertSearchAttributes([{ key: OutcomeKey, value: result.status }]);
    upsertMemo({
      checksum: result.checksum,
      revision: result.revision,
      recordsAdded: result.recordsAdded,
      recordsUpdated: result.recordsUpdated,
      recordsRemoved: result.recordsRemoved,
      recordsSkipped: result.recordsSkipped,
      recordsRejected: result.recordsRejected,
    });
    return result;
  };

  /** One streamed pass (fetch → transform → stage), then the load, which checks staging against the pass. */
  async function fetchTransformLoad(probeToken: string | null): Promise<IngestResult> {
    progress.stage = 'fetch';
    const staged = await retryWhileDatabaseDown(() =>
      stageSnapshot({
        datasetVersionId: plan.datasetVersionId,
        logId: plan.logId,
        lastChecksum: plan.lastChecksum,
        force: input.force,
        maxRejectRatio: input.maxRejectRatio,
        event: input.event,
      }),
    );
    progress.recordsFetched = staged.records;
    progress.rowsTransformed = staged.rows;
    const common = { probeToken, bytesFetched: staged.bytes };

    if (staged.stagingTable === null) {
      return finish(
        {
          ...emptyResult('no_change', plan, 'content checksum unchanged'),
          recordsSkipped: staged.rows,
          recordsRejected: staged.rejected,
        },
        common,
      );
    }
    const stagingTable = staged.stagingTable;

    progress.stage = 'load';
    const loaded = await retryWhileDatabaseDown(() =>
      loadRevision({
        datasetVersionId: plan.datasetVersionId,
        stagingTable,
        checksum: staged.checksum,
        probeToken,
        expectedRows: staged.rows,
        rejectedRows: staged.rejected,
        acceptRemovals: input.acceptRemovals,
      }),
    );
    progress.revision = loaded.revision;
    const kept = loaded.recordsKept
      ? `${loaded.recordsKept} current rows absent from a snapshot with rejected rows were kept at their last good value`
      : undefined;
    return finish(
      {
        status: loaded.changed ? 'success' : 'no_change',
        hasChanges: loaded.changed,
        // No change keeps the current revision current.
        revision: loaded.changed ? loaded.revision : plan.currentRevision,
        recordsAdded: loaded.recordsAdded,
        recordsUpdated: loaded.recordsUpdated,
        recordsRemoved: loaded.recordsRemoved,
        recordsSkipped: loaded.recordsUnchanged,
        recordsRejected: staged.rejected,
        checksum: staged.checksum,
        reason:
          [loaded.changed ? undefined : 'no row changed', kept, loaded.acceptedOverride].filter(Boolean).join('; ') ||
          undefined,
      },
      { ...common, recordsKept: loaded.recordsKept, acceptedOverride: loaded.acceptedOverride },
    );
  }

  /** The half-open probe (see IngestInput.halfOpenProbe); its close is recorded by the operator console too. */
  async function halfOpenProbe(): Promise<IngestResult> {
    const { probeSource: probeOnce } = proxyActivities<Activities>(
      probeOptions({ ...input.retry, maximumAttempts: 1 }),
    );
    progress.stage = 'probe';
    try {
      const probe = await retryWhileDatabaseDown(() => probeOnce({ datasetVersionId: plan.datasetVersionId }));
      const result = await finish(
        emptyResult('success', plan, `half-open probe answered (${probe.note ?? probe.token ?? 'no release token'})`),
        { halfOpenProbe: true },
      );
      const notice: BreakerClosedNotice = {
        source: plan.source,
        version: plan.version,
        workflowId: workflowInfo().workflowId,
        result: 'breaker closed by a half-open probe; due at the next master run',
      };
      // The console may not run (a bare worker setup): the log row has recorded the close already.
      await getExternalWorkflowHandle(OPERATOR_WORKFLOW_ID)
        .signal(breakerClosedSignal, notice)
        .catch(() => undefined);
      return result;
    } catch (err) {
      const { type, message } = describeFailure(err);
      await CancellationScope.nonCancellable(() =>
        finish(emptyResult('failed', plan, message), { errorClass: type, errorMessage: message, halfOpenProbe: true }),
      );
      if (isCancellation(err)) throw err;
      throw ApplicationFailure.nonRetryable(
        `Half-open probe of ${plan.source}/${plan.version} failed: ${message}; the breaker stays open`,
        type,
      );
    }
  }
  // Only the master's probes of open breakers take this path; older runs never had the flag.
  if (input.halfOpenProbe && patched('ingestion-half-open-probe')) return halfOpenProbe();

  // A file an operator hands in is an explicit request: it runs even where automatic checks would not.
  if (!plan.checkable && !input.force && !input.event) {
    return finish(emptyResult('skipped', plan, plan.blockedReason ?? 'not checkable'));
  }

  try {
    progress.stage = 'probe';
    const probe = await retryWhileDatabaseDown(() =>
      probeSource({ datasetVersionId: plan.datasetVersionId, event: input.event }),
    );
    if (!input.force && probe.token !== null && probe.token === plan.lastProbeToken && plan.lastChecksum !== null) {
      return finish(emptyResult('no_change', plan, `probe unchanged (${probe.note ?? probe.token})`), {
        probeToken: probe.token,
      });
    }

    for (let pass = 1; ; pass++) {
      try {
        return await fetchTransformLoad(probe.token);
      } catch (err) {
        // Staging emptied under us (a database crash between stages): the only safe move is to start over.
        if (failureTypeOf(err) !== FailureType.StagingLost || pass >= MAX_STAGING_PASSES) throw err;
      }
    }
  } catch (err) {
    const { type, message } = describeFailure(err);
    const stage = progress.stage;
    // Record the failure even when the run is being cancelled, so the log and breaker stay truthful.
    const errorMessage = `${stage}: ${message}`;
    await CancellationScope.nonCancellable(() =>
      finish(emptyResult('failed', plan, message), { errorClass: type, errorMessage }),
    );
    if (reportsFailures) {
      upsertSearchAttributes([{ key: ErrorClassKey, value: type }]);
      upsertMemo({
        ...failureMemo({
          errorClass: type,
          error: errorMessage,
          facts: failureFacts(err),
          maximumAttempts: sourceRetry(input.retry).maximumAttempts ?? 0,
          schedule,
        }),
      });
    }
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.nonRetryable(
      `Ingestion of ${plan.source}/${plan.version} failed during ${stage}: ${message}`,
      type,
    );
  }
}

function emptyResult(status: FinalStatus, plan: IngestionPlan, reason: string): IngestResult {
  return {
    status,
    hasChanges: false,
    revision: status === 'no_change' ? plan.currentRevision : null,
    recordsAdded: 0,
    recordsUpdated: 0,
    recordsRemoved: 0,
    recordsSkipped: 0,
    recordsRejected: 0,
    checksum: status === 'no_change' ? plan.lastChecksum : null,
    reason,
  };
}

/** The failure type and message an operator needs, unwrapped from Temporal's activity failure. */
function describeFailure(err: unknown): { type: string; message: string } {
  let cause: unknown = err;
  if (cause instanceof ActivityFailure && cause.cause) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    return { type: cause.type ?? 'ApplicationFailure', message: cause.message };
  }
  if (isCancellation(err)) return { type: 'Cancelled', message: 'the ingestion was cancelled' };
  const e = cause as Error;
  return { type: e?.name ?? FailureType.SourceUnavailable, message: e?.message ?? String(cause) };
}
