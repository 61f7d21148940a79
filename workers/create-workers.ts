// One worker per task queue: `scheduler` runs the master and maintenance workflows, and each vertical's
// queue runs that vertical's ingestions. Every worker registers every workflow and activity (one bundle,
// built once), so any queue can be scaled by starting more processes with TEDI_WORKER_QUEUES.
import {
  bundleWorkflowCode,
  type NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { type ActivityDeps, createActivities } from '../activities';
import { sweepOrphanSpoolDirs } from '../activities/connectors/shared/spool';
import { TASK_QUEUES, type TaskQueue } from '../lib/verticals';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflow code once per process; every worker shares it. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietBundlerLogger });
  return bundle;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

export interface WorkerSetOptions {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  queues?: readonly TaskQueue[];
}

export async function createWorkers(opts: WorkerSetOptions): Promise<Worker[]> {
  // Downloads a killed worker left behind (SIGKILL runs no cleanup) go before new ones start.
  for (const dir of sweepOrphanSpoolDirs()) console.warn(`[tedi] removed the orphaned spool folder ${dir}`);
  const activities = createActivities(opts.deps);
  const workflows = await workflowBundle();
  return Promise.all(
    (opts.queues ?? TASK_QUEUES).map((taskQueue) =>
      Worker.create({
        connection: opts.connection,
        namespace: opts.namespace,
        taskQueue,
        workflowBundle: workflows,
        activities,
        // Ingestions stream large bodies; a handful at once per process keeps memory predictable.
        maxConcurrentActivityTaskExecutions: taskQueue === 'scheduler' ? 20 : 4,
      }),
    ),
  );
}

/** Runs workers until `stop` resolves (or a worker fails), then shuts all of them down. */
export async function runWorkers(workers: Worker[], stop: Promise<unknown>): Promise<void> {
  void stop.then(() => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  });
  await Promise.all(workers.map((w) => w.run()));
}
