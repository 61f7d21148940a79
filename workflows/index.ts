// Every workflow type the workers register. Each file reads as one business process.

export { alertMonitor } from './alerts/alert-monitor';
export { deliverAlert } from './alerts/deliver-alert';
export { deliverWebhook } from './feed/deliver-webhook';
export { feedDispatcher } from './feed/feed-dispatcher';
export { ingestDatasetVersion } from './ingest-dataset-version';
export { cleanupLogs, reliabilityScores } from './maintenance';
export { masterScheduler } from './master-scheduler';
export { operatorConsole } from './operator-console';
