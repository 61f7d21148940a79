// All activities, bound to the worker's database and secret key. Workflows import only the type.
import { alertActivities } from './alerts';
import type { ActivityDeps } from './deps';
import { feedActivities } from './feed';
import { auditLogActivities } from './ingestion/audit-log';
import { pipelineActivities } from './ingestion/pipeline';
import { maintenanceActivities } from './maintenance/maintenance';
import { schedulingActivities } from './scheduling/due-versions';
import { operatorActivities } from './scheduling/operator';

export function createActivities(deps: ActivityDeps) {
  return {
    ...schedulingActivities(deps),
    ...operatorActivities(deps),
    ...auditLogActivities(deps),
    ...pipelineActivities(deps),
    ...maintenanceActivities(deps),
    ...feedActivities(deps),
    ...alertActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
