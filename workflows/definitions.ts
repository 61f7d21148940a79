// Messages operators can send from the Web UI or `temporal workflow query|signal`. Workflow-safe.
import { defineQuery } from '@temporalio/workflow';

export type IngestionStage = 'starting' | 'probe' | 'fetch' | 'transform' | 'load' | 'finishing' | 'done';

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
