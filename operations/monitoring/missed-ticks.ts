// Missed schedule ticks: a schedule that silently does not fire is worse than a run that fails, because
// nothing fails. Expected ticks come from the server, which evaluates the schedule's real spec
// (ListScheduleMatchingTimes, the call behind `temporal schedule list-matching-times`); actual runs are the
// workflows the schedule started, found by the TemporalScheduledById / TemporalScheduledStartTime search
// attributes the server sets on them. A tick with no run near its time was missed: the server was down
// past the catch-up window, the previous run was still going (overlap SKIP), or the schedule was paused.
// The server evaluates today's spec over the whole window: after the interval changes, ticks the new
// spec would have fired before the change count as missed until they leave the window.
import { type Client, ScheduleNotFoundError } from '@temporalio/client';
import { msNumberToTs, tsToDate } from '@temporalio/common/lib/time';
import { ScheduledStartTimeKey } from '../../lib/search-attributes';
import { MASTER_SCHEDULE_ID } from '../../workflows/ids';

export const MISSED_TICK_WINDOW_MS = 48 * 3600 * 1000;
/** A tick this recent may still be starting (or not yet visible in visibility): not judged yet. */
export const MISSED_TICK_GRACE_MS = 5 * 60 * 1000;
/** How far a run's scheduled time may sit from the tick, on top of the spec's jitter. */
export const MISSED_TICK_TOLERANCE_MS = 60 * 1000;

/**
 * The expected ticks with no actual run within `toleranceMs` of them, in time order. The tolerance is
 * capped at half the gap between neighbouring ticks, so one run never vouches for two ticks.
 * Pure: `expected` are the times the spec fires, `actual` the scheduled start times of the runs.
 */
export function findMissedTicks(expected: readonly Date[], actual: readonly Date[], toleranceMs: number): Date[] {
  const ticks = expected.map((d) => d.getTime()).sort((a, b) => a - b);
  const ran = actual.map((d) => d.getTime()).sort((a, b) => a - b);
  let tolerance = toleranceMs;
  for (let i = 1; i < ticks.length; i++) {
    const gap = ticks[i]! - ticks[i - 1]!;
    if (gap > 0) tolerance = Math.min(tolerance, gap / 2);
  }
  const hasRunNear = (t: number) => {
    // Binary search for the first run at or after t - tolerance.
    let lo = 0;
    let hi = ran.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ran[mid]! < t - tolerance) lo = mid + 1;
      else hi = mid;
    }
    return lo < ran.length && ran[lo]! <= t + tolerance;
  };
  return ticks.filter((t) => !hasRunNear(t)).map((t) => new Date(t));
}

export interface TickWindowInput {
  now: Date;
  windowMs: number;
  graceMs: number;
  createdAt: Date;
  paused: boolean;
  /** Scheduled time of the latest run, if any. */
  lastRunAt: Date | null;
}

/**
 * The span over which ticks are judged: the recent window, never before the schedule existed, and
 * ending `graceMs` ago. While the schedule is paused, ticks after its last run are not expected (the
 * server does not say when it was paused). Pure. Returns null when the span is empty.
 */
export function tickWindow(w: TickWindowInput): { from: Date; to: Date } | null {
  const from = Math.max(w.now.getTime() - w.windowMs, w.createdAt.getTime());
  let to = w.now.getTime() - w.graceMs;
  if (w.paused) to = Math.min(to, (w.lastRunAt ?? w.createdAt).getTime());
  return to > from ? { from: new Date(from), to: new Date(to) } : null;
}

export interface TickReport {
  scheduleId: string;
  paused: boolean;
  /** The span judged; null when it is empty (schedule just created, or paused before its first run). */
  window: { from: Date; to: Date } | null;
  expected: Date[];
  /** Scheduled start times of the runs the schedule started in the window. */
  actual: Date[];
  missed: Date[];
}

export interface TickCheckOptions {
  scheduleId?: string;
  now?: Date;
  windowMs?: number;
  graceMs?: number;
  toleranceMs?: number;
}

/** Compares the ticks a schedule should have fired with the runs it started. Null when the schedule does not exist. */
export async function checkMissedTicks(client: Client, opts: TickCheckOptions = {}): Promise<TickReport | null> {
  const scheduleId = opts.scheduleId ?? MASTER_SCHEDULE_ID;
  const now = opts.now ?? new Date();
  const windowMs = opts.windowMs ?? MISSED_TICK_WINDOW_MS;
  const described = await client.schedule
    .getHandle(scheduleId)
    .describe()
    .catch((err) => {
      if (err instanceof ScheduleNotFoundError) return null;
      throw err;
    });
  if (!described) return null;
  const toleranceMs = (opts.toleranceMs ?? MISSED_TICK_TOLERANCE_MS) + (described.spec.jitter ?? 0);
  const earliest = new Date(Math.max(now.getTime() - windowMs, described.info.createdAt.getTime()));
  const actual = await scheduledRunTimes(client, scheduleId, new Date(earliest.getTime() - toleranceMs));
  const lastRun = actual.reduce<Date | null>((latest, d) => (latest && latest >= d ? latest : d), null);
  const window = tickWindow({
    now,
    windowMs,
    graceMs: opts.graceMs ?? MISSED_TICK_GRACE_MS,
    createdAt: described.info.createdAt,
    paused: described.state.paused,
    lastRunAt: lastRun,
  });
  const expected = window ? await matchingTimes(client, scheduleId, window.from, window.to) : [];
  return {
    scheduleId,
    paused: described.state.paused,
    window,
    expected,
    actual,
    missed: findMissedTicks(expected, actual, toleranceMs),
  };
}

/** The times the schedule's spec fires in [from, to], as the server computes them (paged: it caps each answer). */
async function matchingTimes(client: Client, scheduleId: string, from: Date, to: Date): Promise<Date[]> {
  const times: Date[] = [];
  let start = from.getTime();
  while (start <= to.getTime()) {
    const res = await client.workflowService.listScheduleMatchingTimes({
      namespace: client.options.namespace,
      scheduleId,
      startTime: msNumberToTs(start),
      endTime: msNumberToTs(to.getTime()),
    });
    const page = (res.startTime ?? []).map((ts) => tsToDate(ts)).filter((d) => d.getTime() >= start);
    if (page.length === 0) break;
    times.push(...page);
    start = page[page.length - 1]!.getTime() + 1;
  }
  return times;
}

/** Scheduled start times of the runs the schedule started at or after `since` (continue-as-new runs share one). */
async function scheduledRunTimes(client: Client, scheduleId: string, since: Date): Promise<Date[]> {
  const query = `TemporalScheduledById = '${scheduleId}' AND TemporalScheduledStartTime >= '${since.toISOString()}'`;
  const seen = new Map<number, Date>();
  for await (const run of client.workflow.list({ query })) {
    const at = run.typedSearchAttributes.get(ScheduledStartTimeKey);
    if (at) seen.set(at.getTime(), at);
  }
  return [...seen.values()];
}
