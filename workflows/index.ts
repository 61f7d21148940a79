// Every workflow type the workers register. Each file reads as one business process.
export { ingestDatasetVersion } from './ingest-dataset-version';
export { cleanupLogs, reliabilityScores } from './maintenance';
export { masterScheduler } from './master-scheduler';
export { operatorConsole } from './operator-console';
