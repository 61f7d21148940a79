// Readable, deterministic workflow ids. An ingestion's id names the source, the version and the
// schedule time it belongs to, so the same tick can never start the same ingestion twice, and an
// operator can tell from the id alone what a run is. Workflow-safe.

/** 2026-11-28T12:00:00.000Z -> 20261128T120000Z */
export function compactTimestamp(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

export function scheduledIngestionId(source: string, version: string, asOfIso: string): string {
  return `ingest-${source}-${version}-${compactTimestamp(asOfIso)}`;
}

export function manualIngestionId(source: string, version: string, requestedAtIso: string): string {
  return `ingest-${source}-${version}-manual-${compactTimestamp(requestedAtIso)}`;
}

export const MASTER_SCHEDULE_ID = 'tedi-master';
export const CLEANUP_SCHEDULE_ID = 'tedi-cleanup-logs';
export const RELIABILITY_SCHEDULE_ID = 'tedi-reliability-scores';

/** The operator console (workflows/operator-console.ts): here so ingestions can report to it without a cycle. */
export const OPERATOR_WORKFLOW_ID = 'tedi-operator';

export const FEED_DISPATCHER_ID = 'tedi-feed-dispatcher';

/**
 * One webhook delivery: who receives which revision; the delivery id keeps it unique, and a redelivery
 * (`tedi redeliver`) is a run of its own.
 */
export function webhookDeliveryId(d: {
  subscription: string;
  source: string;
  revision: number;
  deliveryId: string;
  redeliveries?: number;
}): string {
  const again = d.redeliveries ? `-redelivery${d.redeliveries}` : '';
  return `webhook-${d.subscription}-${d.source}-r${d.revision}-d${d.deliveryId}${again}`;
}

export const ALERT_MONITOR_ID = 'tedi-alerts';

/** One alert notification: which incident transition goes to which channel. */
export function alertNotificationId(n: {
  channel: string;
  kind: string;
  source: string;
  transition: string;
  notificationId: string;
}): string {
  return `alert-${n.channel}-${n.kind}-${n.source}-${n.transition}-n${n.notificationId}`;
}
