// Inputs and small summaries that travel between the ingestion workflow and its activities.
// Everything here is small by design: data itself stays in PostgreSQL.

export type Trigger = 'schedule' | 'manual' | 'event';
export type FinalStatus = 'success' | 'no_change' | 'failed' | 'skipped';

/** A dataset version by id, or by source name and version label (default "current"). */
export interface VersionRef {
  datasetVersionId?: number;
  source?: string;
  version?: string;
}

export interface IngestionPlan {
  logId: string;
  datasetVersionId: number;
  source: string;
  version: string;
  vertical: string;
  frequency: string;
  /** Automatic checks allowed: source active, check enabled, breaker closed. */
  checkable: boolean;
  /** Why it is not checkable, for the log and the skipped result. */
  blockedReason: string | null;
  lastProbeToken: string | null;
  lastChecksum: string | null;
  currentRevision: number;
}

export interface ProbeSummary {
  token: string | null;
  note: string | null;
}

/** What one streamed pass (fetch → transform → checksum → stage) found. */
export interface StageSummary {
  /** Raw records the source delivered. */
  records: number;
  bytes: number;
  /** Canonical rows the records became (staged, unless unchanged). */
  rows: number;
  rejected: number;
  /** Content checksum of the snapshot: the same rows give the same checksum, in any order. */
  checksum: string;
  /**
   * The run's staging table (activities/store/staging.ts); null when the checksum equals the current
   * revision's, so nothing was staged.
   */
  stagingTable: string | null;
}

export interface LoadSummary {
  changed: boolean;
  revision: number | null;
  recordsAdded: number;
  recordsUpdated: number;
  recordsUnchanged: number;
  recordsRemoved: number;
  /** Current rows absent from a snapshot with rejects, kept at their last good value. */
  recordsKept: number;
  /** What an operator accepted that a snapshot guard would have refused (recorded in the log row). */
  acceptedOverride: string | null;
}

export interface FinishInput {
  logId: string;
  datasetVersionId: number;
  status: FinalStatus;
  probeToken?: string | null;
  checksum?: string | null;
  revision?: number | null;
  bytesFetched?: number;
  recordsAdded?: number;
  recordsUpdated?: number;
  recordsUnchanged?: number;
  recordsRemoved?: number;
  recordsRejected?: number;
  recordsKept?: number;
  acceptedOverride?: string | null;
  errorClass?: string;
  errorMessage?: string;
  note?: string;
  /**
   * The run was the master's half-open probe of an open breaker (probe only): success closes the breaker
   * and makes the version due at once, failure keeps it open and restarts its cool-down.
   */
  halfOpenProbe?: boolean;
}

export interface FinishSummary {
  consecutiveFailures: number;
  breakerOpen: boolean;
  nextCheckAt: string | null;
  /** While the breaker is open: when the master runs its next half-open probe. */
  nextProbeAt?: string | null;
}
