// The four verticals of the seed and their task queues. The master scheduler runs on `scheduler`;
// each vertical's ingestions run on a queue of its own, so one slow or throttled vertical never
// starves another and each can be scaled separately. Workflow-safe (no imports).

export const VERTICALS = ['agriculture', 'realestate', 'employment', 'business'] as const;
export type Vertical = (typeof VERTICALS)[number];

export const SCHEDULER_QUEUE = 'scheduler';
export const TASK_QUEUES = [SCHEDULER_QUEUE, ...VERTICALS] as const;
export type TaskQueue = (typeof TASK_QUEUES)[number];

export function taskQueueFor(vertical: Vertical): TaskQueue {
  return vertical;
}
