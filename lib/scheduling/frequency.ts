// Scheduling rules as pure functions: the seed's calculate_next_check() and mark_checked(), with the
// circuit breaker folded in. No I/O and no clock of their own (the caller passes `now`), so workflows,
// activities and tests all get the same answers. Which versions are due (the seed's should_check()) has
// one implementation, the SQL of findDueVersions (activities/scheduling/due-versions.ts), pinned on
// PostgreSQL in test/workflows/policies.test.ts.

export const FREQUENCIES = ['weekly', 'monthly', 'quarterly', 'semi_annual', 'annual', 'on_event'] as const;
export type Frequency = (typeof FREQUENCIES)[number];

/** Consecutive failed ingestions that open the circuit breaker (the seed's threshold). */
export const BREAKER_THRESHOLD = 5;

const MONTHS: Record<Exclude<Frequency, 'weekly' | 'on_event'>, number> = {
  monthly: 1,
  quarterly: 3,
  semi_annual: 6,
  annual: 12,
};

/** Adds calendar months, clamping to the end of shorter months (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(from: Date, months: number): Date {
  const d = new Date(from.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const lastDay = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, lastDay));
  return d;
}

/** When the next automatic check is due after a check at `from`; null for on-event sources (never automatic). */
export function calculateNextCheck(frequency: Frequency, from: Date): Date | null {
  switch (frequency) {
    case 'on_event':
      return null;
    case 'weekly':
      return new Date(from.getTime() + 7 * 24 * 3600 * 1000);
    default:
      return addMonths(from, MONTHS[frequency]);
  }
}

/** The expected gap between two checks, used for freshness (a version is overdue past it). */
export function expectedCadenceMs(frequency: Frequency): number | null {
  const from = new Date(Date.UTC(2001, 0, 1));
  const next = calculateNextCheck(frequency, from);
  return next ? next.getTime() - from.getTime() : null;
}

export interface ScheduleState {
  checkEnabled: boolean;
  nextCheckAt: Date | null;
  lastCheckedAt: Date | null;
  consecutiveFailures: number;
  breakerOpenedAt: Date | null;
  /** When the last half-open probe of the open breaker failed (the cool-down restarts from it). */
  breakerProbedAt?: Date | null;
}

export type CheckOutcome = 'success' | 'no_change' | 'failed';

/**
 * The schedule state after a check finished at `now`.
 * - success / no_change: failures reset, next check one cadence later.
 * - failed: one more consecutive failure; the version stays due so the next master run retries it,
 *   and at BREAKER_THRESHOLD the breaker opens and automatic checks stop until someone resets it.
 */
export function markChecked(
  state: ScheduleState,
  frequency: Frequency,
  outcome: CheckOutcome,
  now: Date,
  /** When the next check follows a success; by default one cadence later (lib/scheduling/probe-interval.ts). */
  nextAfterSuccess: (now: Date) => Date | null = (at) => calculateNextCheck(frequency, at),
): ScheduleState {
  if (outcome === 'failed') {
    const consecutiveFailures = state.consecutiveFailures + 1;
    const opens = consecutiveFailures >= BREAKER_THRESHOLD && state.breakerOpenedAt === null;
    return {
      ...state,
      lastCheckedAt: now,
      consecutiveFailures,
      breakerOpenedAt: opens ? now : state.breakerOpenedAt,
    };
  }
  return {
    ...state,
    lastCheckedAt: now,
    nextCheckAt: nextAfterSuccess(now),
    consecutiveFailures: 0,
    breakerOpenedAt: null,
    breakerProbedAt: null,
  };
}

/**
 * The schedule state after a half-open probe (the probe-only check the master runs once an open
 * breaker's cool-down is over) finished at `now`. It answered: the breaker closes and the version is due
 * at once, so the next master tick ingests it. It failed: one more failure, the breaker stays open since
 * when it opened, and the cool-down restarts from now.
 */
export function markProbed(state: ScheduleState, outcome: 'success' | 'failed', now: Date): ScheduleState {
  if (outcome === 'failed') {
    return { ...state, lastCheckedAt: now, consecutiveFailures: state.consecutiveFailures + 1, breakerProbedAt: now };
  }
  return { ...resetBreaker(state, now), lastCheckedAt: now };
}

/** Closes the breaker: the next master run checks the version again. */
export function resetBreaker(state: ScheduleState, now: Date): ScheduleState {
  return { ...state, consecutiveFailures: 0, breakerOpenedAt: null, breakerProbedAt: null, nextCheckAt: now };
}

/** What a reset did, in the words the operator console and the CLI use. */
export function resetResult(state: { wasOpen: boolean; consecutiveFailures: number }): string {
  return state.wasOpen
    ? `breaker closed (was open after ${state.consecutiveFailures} failures); due now`
    : 'breaker was closed; failure count cleared; due now';
}
