// When a successful check is followed by the next one. The declared cadence is what a source promises;
// the interval it really shows between revisions (observed_release_interval(), a SQL function, the median
// gap once there are two) is what it does. No I/O: the caller passes the observed interval and the bounds.
import { calculateNextCheck, type Frequency } from './frequency';

/** The probe interval is this share of the observed release interval: two checks per release, so a
 *  release waits at most half an interval to be seen (a March check no longer misses July's release). */
export const OBSERVED_INTERVAL_SHARE = 0.5;
/** data_source_configs defaults (hours): the learned probe interval never goes below or above these. */
export const DEFAULT_PROBE_INTERVAL_MIN_HOURS = 24;
export const DEFAULT_PROBE_INTERVAL_MAX_HOURS = 720;

export interface ProbeTiming {
  /** The connector's probe is cheap: probed at every master tick, whatever the cadence. */
  probeEveryTick: boolean;
  /** The median gap between the version's revisions; null until there are two gaps. */
  observedIntervalMs: number | null;
  minHours: number;
  maxHours: number;
}

const HOUR = 3600 * 1000;

/** The probe interval learned from the observed release interval, within [minHours, maxHours]. */
export function learnedProbeIntervalMs(observedIntervalMs: number, minHours: number, maxHours: number): number {
  return Math.min(Math.max(observedIntervalMs * OBSERVED_INTERVAL_SHARE, minHours * HOUR), maxHours * HOUR);
}

/**
 * The next automatic check after a successful one at `now`: null for on-event sources; `now` (the next
 * master tick) for a cheap probe; the learned interval once the source has shown one; else the cadence.
 */
export function nextCheckAfterSuccess(frequency: Frequency, now: Date, timing: ProbeTiming): Date | null {
  if (frequency === 'on_event') return null;
  if (timing.probeEveryTick) return now;
  if (timing.observedIntervalMs !== null) {
    return new Date(
      now.getTime() + learnedProbeIntervalMs(timing.observedIntervalMs, timing.minHours, timing.maxHours),
    );
  }
  return calculateNextCheck(frequency, now);
}
