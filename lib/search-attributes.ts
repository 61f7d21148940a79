// Search attributes TEDI sets on every workflow, so `temporal workflow list --query` and the Web UI can
// filter ingestions by vertical, source, dataset version and outcome. Four Keyword attributes keep well
// inside SQL visibility's limit of 10 per namespace. Workflow-safe: imports only @temporalio/common.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const VerticalKey = defineSearchAttributeKey('TediVertical', SearchAttributeType.KEYWORD);
export const SourceKey = defineSearchAttributeKey('TediSource', SearchAttributeType.KEYWORD);
export const DatasetVersionKey = defineSearchAttributeKey('TediDatasetVersion', SearchAttributeType.KEYWORD);
/** running | success | no_change | failed | skipped */
export const OutcomeKey = defineSearchAttributeKey('TediOutcome', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [VerticalKey, SourceKey, DatasetVersionKey, OutcomeKey];

/** Set by the server on runs started by a schedule. */
export const ScheduledStartTimeKey = defineSearchAttributeKey(
  'TemporalScheduledStartTime',
  SearchAttributeType.DATETIME,
);

/** The attributes of an ingestion that has just started: who it belongs to, and outcome "running". */
export function runningIngestionAttributes(ref: { vertical: string; source: string; version: string }) {
  return [
    { key: VerticalKey, value: ref.vertical },
    { key: SourceKey, value: ref.source },
    { key: DatasetVersionKey, value: `${ref.source}/${ref.version}` },
    { key: OutcomeKey, value: 'running' },
  ] as const;
}
