// The monitoring job of the process that runs the scheduler queue: at start and every minute it reads the
// catalog's health and the master schedule's ticks, sets the gauges (tedi_open_breakers,
// tedi_overdue_versions, tedi_no_change_ratio, tedi_missed_master_ticks) on the runtime's metric meter,
// and logs one warning per missed tick. Gauges describe the whole catalog, so one process sets them;
// counters and histograms come from the activities, wherever they run.
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import type { Database } from '../../lib/db';
import { publishHealth, publishMissedTicks } from '../../lib/monitoring/metrics';
import { MASTER_SCHEDULE_ID } from '../../workflows/ids';
import { type HealthSnapshot, readHealth } from './health';
import { checkMissedTicks, type TickCheckOptions, type TickReport } from './missed-ticks';

export const MONITOR_INTERVAL_MS = 60_000;

export interface MonitorOptions {
  db: Database;
  client: Client;
  intervalMs?: number;
  ticks?: Omit<TickCheckOptions, 'now'>;
}

export interface MonitorSnapshot {
  health: HealthSnapshot | null;
  ticks: TickReport | null;
}

export interface Monitor {
  /** One pass now, after any pass under way (the timer keeps running); never throws: failures are logged. */
  refresh(): Promise<MonitorSnapshot>;
  stop(): Promise<void>;
}

export function startMonitor(opts: MonitorOptions): Monitor {
  // Warn once per missed tick, not once a minute for the 48 hours it stays in the window.
  const reported = new Set<number>();
  let warnedNoSchedule = false;
  let inFlight: Promise<MonitorSnapshot> | null = null;

  const pass = async (): Promise<MonitorSnapshot> => {
    // Looked up on every pass: the runtime is replaced if it was shut down while idle.
    const { metricMeter, logger } = Runtime.instance();
    const now = new Date();
    const snapshot: MonitorSnapshot = { health: null, ticks: null };
    try {
      snapshot.health = await readHealth(opts.db, now);
      publishHealth(metricMeter, snapshot.health);
    } catch (err) {
      logger.warn('monitoring: reading catalog health failed', { error: String(err) });
    }
    try {
      snapshot.ticks = await checkMissedTicks(opts.client, { ...opts.ticks, now });
      if (!snapshot.ticks && !warnedNoSchedule) {
        warnedNoSchedule = true;
        logger.warn('monitoring: the master schedule does not exist yet; run `npm run schedules`', {
          scheduleId: opts.ticks?.scheduleId ?? MASTER_SCHEDULE_ID,
        });
      }
      const missed = snapshot.ticks?.missed ?? [];
      publishMissedTicks(metricMeter, missed.length);
      for (const tick of missed) {
        if (reported.has(tick.getTime())) continue;
        reported.add(tick.getTime());
        logger.warn('missed schedule tick: no run was started for it', {
          scheduleId: snapshot.ticks?.scheduleId,
          scheduledAt: tick.toISOString(),
          paused: snapshot.ticks?.paused,
        });
      }
      const from = snapshot.ticks?.window?.from.getTime();
      if (from !== undefined) for (const t of reported) if (t < from) reported.delete(t);
    } catch (err) {
      logger.warn('monitoring: checking schedule ticks failed', { error: String(err) });
    }
    return snapshot;
  };

  // Passes never overlap. A refresh asked for by hand waits for the pass under way and runs a fresh one,
  // so it sees what happened before the call.
  const refresh = async (): Promise<MonitorSnapshot> => {
    await inFlight;
    inFlight ??= pass().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  void refresh();
  const timer = setInterval(() => {
    if (!inFlight) void refresh();
  }, opts.intervalMs ?? MONITOR_INTERVAL_MS);
  // Never what keeps the process alive: the workers are.
  timer.unref();

  return {
    refresh,
    async stop() {
      clearInterval(timer);
      // Let a pass under way finish before the caller closes the database under it.
      await inFlight;
    },
  };
}
