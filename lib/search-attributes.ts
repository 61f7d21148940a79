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
