// The cluster mode's processes: one worker process per task queue, two for agriculture (the vertical with
// the largest loads: FAOSTAT's bulk files), so a queue served by several processes is what runs and what
// the fault tests kill. The compose deployment has the same services (one per queue, `--scale` for more);
// the compose test checks their queues against this list.
import { TASK_QUEUES, type TaskQueue } from '../../lib/verticals';

export interface WorkerProcessSpec {
  /** The process's name in logs and messages: `worker-agriculture-2`. */
  name: string;
  queues: readonly TaskQueue[];
}

/** How many processes serve each queue. */
export const PROCESSES_PER_QUEUE: Readonly<Record<TaskQueue, number>> = {
  scheduler: 1,
  agriculture: 2,
  realestate: 1,
  employment: 1,
  business: 1,
};

export function clusterWorkers(
  perQueue: Readonly<Record<TaskQueue, number>> = PROCESSES_PER_QUEUE,
): WorkerProcessSpec[] {
  return TASK_QUEUES.flatMap((queue) =>
    Array.from({ length: perQueue[queue] }, (_, i) => ({
      name: perQueue[queue] > 1 ? `worker-${queue}-${i + 1}` : `worker-${queue}`,
      queues: [queue],
    })),
  );
}
