// Search attributes TEDI sets on every workflow, so `temporal workflow list --query` and the Web UI can
// filter ingestions by vertical, source, dataset version, outcome, error class and trigger. Six Keyword
// attributes keep inside SQL visibility's limit of 10 per namespace. Workflow-safe: imports only
// @temporalio/common.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const VerticalKey = defineSearchAttributeKey('TediVertical', SearchAttributeType.KEYWORD);
export const SourceKey = defineSearchAttributeKey('TediSource', SearchAttributeType.KEYWORD);
export const DatasetVersionKey = defineSearchAttributeKey('TediDatasetVersion', SearchAttributeType.KEYWORD);
/** running | success | no_change | failed | skipped */
export const OutcomeKey = defineSearchAttributeKey('TediOutcome', SearchAttributeType.KEYWORD);

/** A failed run's failure type (SourceUnavailable, InvalidPayload…): `TediErrorClass = 'SourceUnavailable'`. */
export const ErrorClassKey = defineSearchAttributeKey('TediErrorClass', SearchAttributeType.KEYWORD);
/** Who started the run: schedule | manual | event (activities/ingestion/types.ts Trigger). */
export const TriggerKey = defineSearchAttributeKey('TediTrigger', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [VerticalKey, SourceKey, DatasetVersionKey, OutcomeKey, ErrorClassKey, TriggerKey];

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

/** The same, with who started it: what new starts set (runs started before TediTrigger existed lack it). */
export function startedIngestionAttributes(
  ref: { vertical: string; source: string; version: string },
  trigger: string,
) {
  return [...runningIngestionAttributes(ref), { key: TriggerKey, value: trigger }];
}

/** The static summary of an ingestion run, shown in the Web UI's run list: which source and why. */
export function ingestionSummary(ref: { source: string; version: string }, trigger: string): string {
  return `Ingest ${ref.source}/${ref.version} (${trigger})`;
}
