// The three schedules TEDI runs on, created or updated idempotently. An update keeps what an operator
// set by hand (pause, note), so re-running `npm start` never unpauses a schedule someone paused.
import { type Client, ScheduleAlreadyRunning, type ScheduleOptions, ScheduleOverlapPolicy } from '@temporalio/client';
import { SCHEDULER_QUEUE } from '../../lib/verticals';
import { CLEANUP_SCHEDULE_ID, MASTER_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID } from '../../workflows/ids';

export interface ScheduleSettings {
  /** Master interval, e.g. "6h". */
  masterInterval: string;
  logRetentionDays: number;
  maxChildrenInFlight: number;
  /** A newly created master schedule runs at once (default), not one interval later. */
  firstRunAtCreation?: boolean;
}

/**
 * What each schedule does, as its note (shown by `temporal schedule describe` and in the Web UI's schedule
 * page) and as the static summary of the runs it starts.
 */
export function scheduleNotes(s: ScheduleSettings): Record<string, string> {
  return {
    [MASTER_SCHEDULE_ID]:
      `TEDI master tick every ${s.masterInterval}: finds the dataset versions due for a check and starts one ` +
      `ingestion each (at most ${s.maxChildrenInFlight} at once); an open breaker is skipped (logged) until its cool-down ` +
      'is over, then probed once (half-open).',
    [CLEANUP_SCHEDULE_ID]: `TEDI daily cleanup: deletes ingestion logs older than ${s.logRetentionDays} days.`,
    [RELIABILITY_SCHEDULE_ID]: "TEDI daily reliability scores: recomputes each source's score from its ingestion logs.",
  };
}

/** Runs a schedule starts, named in the Web UI's run list. */
const RUN_SUMMARIES: Record<string, string> = {
  [MASTER_SCHEDULE_ID]: 'Master tick: start the due ingestions',
  [CLEANUP_SCHEDULE_ID]: 'Delete old ingestion logs',
  [RELIABILITY_SCHEDULE_ID]: 'Recompute reliability scores',
};

export function desiredSchedules(s: ScheduleSettings): ScheduleOptions[] {
  const notes = scheduleNotes(s);
  return baseSchedules(s).map((desired) => ({
    ...desired,
    action: { ...desired.action, staticSummary: RUN_SUMMARIES[desired.scheduleId] },
    state: { ...desired.state, note: notes[desired.scheduleId] },
  }));
}

function baseSchedules(s: ScheduleSettings): ScheduleOptions[] {
  return [
    {
      scheduleId: MASTER_SCHEDULE_ID,
      spec: { intervals: [{ every: s.masterInterval }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'masterScheduler',
        workflowId: 'tedi-master',
        taskQueue: SCHEDULER_QUEUE,
        args: [{ maxInFlight: s.maxChildrenInFlight }],
        workflowExecutionTimeout: '1 day',
      },
      // SKIP: never two masters at once. The catch-up window is explicit (the SDK's describe() falls
      // back to 60 s otherwise): a server down for under an hour still runs the tick it missed.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      // The first tick runs when the schedule is created, not up to one interval later (interval
      // schedules align to the epoch): a new deployment checks its sources at once. Only on create;
      // an update never triggers a run.
      state: { triggerImmediately: s.firstRunAtCreation !== false },
    },
    {
      scheduleId: CLEANUP_SCHEDULE_ID,
      spec: { calendars: [{ hour: 3, minute: 15, comment: 'daily at 03:15 UTC' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'cleanupLogs',
        workflowId: 'tedi-cleanup-logs',
        taskQueue: SCHEDULER_QUEUE,
        args: [{ retentionDays: s.logRetentionDays }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '6 hours' },
    },
    {
      scheduleId: RELIABILITY_SCHEDULE_ID,
      spec: { calendars: [{ hour: 3, minute: 45, comment: 'daily at 03:45 UTC' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'reliabilityScores',
        workflowId: 'tedi-reliability-scores',
        taskQueue: SCHEDULER_QUEUE,
        args: [],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '6 hours' },
    },
  ];
}

export type EnsureOutcome = 'created' | 'updated';

/** Creates the schedule, or updates spec, action and policies of an existing one, keeping its state. */
export async function ensureSchedule(client: Client, desired: ScheduleOptions): Promise<EnsureOutcome> {
  try {
    await client.schedule.create(desired);
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(desired.scheduleId).update((prev) => ({
      ...prev,
      spec: desired.spec,
      action: desired.action,
      policies: { ...prev.policies, ...desired.policies },
      // A paused schedule keeps the operator's note (it says why it was paused); otherwise the note says what
      // the schedule does, as configured now.
      state: prev.state.paused ? prev.state : { ...prev.state, note: desired.state?.note ?? prev.state.note },
    }));
    return 'updated';
  }
}

export async function ensureSchedules(client: Client, s: ScheduleSettings): Promise<Record<string, EnsureOutcome>> {
  const outcomes: Record<string, EnsureOutcome> = {};
  for (const desired of desiredSchedules(s)) outcomes[desired.scheduleId] = await ensureSchedule(client, desired);
  return outcomes;
}

const minute = (d: Date) => d.toISOString().replace(/:\d{2}\.\d{3}Z$/, 'Z');

/** One line per schedule for the start-up output: its last run, if any, and its next `count` runs. */
export async function nextRunsSummary(client: Client, count = 3): Promise<string[]> {
  const lines: string[] = [];
  for (const id of [MASTER_SCHEDULE_ID, CLEANUP_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID]) {
    const { info, state } = await client.schedule.getHandle(id).describe();
    const last = info.recentActions.at(-1)?.takenAt;
    const next = info.nextActionTimes.slice(0, count).map(minute).join(', ');
    lines.push(
      `${id}: ${state.paused ? 'paused; ' : ''}${last ? `last run ${minute(last)}; ` : ''}next runs ${next || 'none'}`,
    );
  }
  return lines;
}
