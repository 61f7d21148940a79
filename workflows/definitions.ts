// Messages operators can send from the Web UI or `temporal workflow query|signal`. Workflow-safe.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** `fetch` is the one streamed pass: download, parse, validate, transform, checksum and stage. */
export type IngestionStage = 'starting' | 'probe' | 'fetch' | 'load' | 'finishing' | 'done';

export interface IngestionProgress {
  source: string | null;
  version: string | null;
  stage: IngestionStage;
  outcome: string | null;
  recordsFetched: number | null;
  rowsTransformed: number | null;
  revision: number | null;
}

export interface MasterProgress {
  asOf: string;
  checked: number;
  scheduled: number;
  skipped: number;
  errors: number;
  inFlight: number;
  completed: number;
  pagesRead: number;
}

/** `temporal workflow query --type progress --workflow-id <id>` */
export const ingestionProgressQuery = defineQuery<IngestionProgress>('progress');
export const masterProgressQuery = defineQuery<MasterProgress>('progress');

/** A dataset version as operators name it: source name, and version label (default "current"). */
export interface VersionName {
  source: string;
  version?: string;
}

export interface OperatorAction {
  at: string;
  /** breakerClosed: a half-open probe closed the breaker (reported by the probe's ingestion workflow). */
  action: 'resetBreaker' | 'checkNow' | 'breakerClosed';
  source: string;
  version: string;
  result: string;
}

export interface OperatorStatus {
  startedAt: string;
  actionsHandled: number;
  recent: OperatorAction[];
}

/** `temporal workflow update execute --workflow-id tedi-operator --name resetBreaker --input '{"source":"…"}'` */
export const resetBreakerUpdate = defineUpdate<OperatorAction, [VersionName]>('resetBreaker');
/** Starts an ingestion now and returns its workflow id (in `result`). */
export const checkNowUpdate = defineUpdate<OperatorAction, [VersionName & { force?: boolean }]>('checkNow');
/** Fire-and-forget form of checkNow, for the Web UI's signal button. */
export const requestCheckSignal = defineSignal<[VersionName & { force?: boolean }]>('requestCheck');
export const operatorStatusQuery = defineQuery<OperatorStatus>('status');

/** `temporal workflow update execute --workflow-id tedi-operator --name resetAllBreakers`: closes every open breaker. */
export const resetAllBreakersUpdate = defineUpdate<OperatorAction[], []>('resetAllBreakers');

/** A half-open probe closed a breaker: the console records it beside the resets (sent by ingestDatasetVersion). */
export interface BreakerClosedNotice {
  source: string;
  version: string;
  /** The ingestion workflow that ran the probe. */
  workflowId: string;
  result: string;
}
export const breakerClosedSignal = defineSignal<[BreakerClosedNotice]>('breakerClosed');
