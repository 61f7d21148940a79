// Freshness is separate from failure: a version is overdue when no check has succeeded within its
// expected cadence (plus a grace period for the six-hourly master), whether or not anything failed.
// Right on day one: a version never loaded is overdue a grace after its first due tick, not a cadence
// after its creation (a never-loaded annual source is not "fresh" for a year). A source probed at every
// tick (a cheap probe) is also overdue when no new release came within its cadence + grace.
// tedi_read.sources computes the same in SQL (prisma/migrations/*_breaker_timing); read-contract.test.ts
// compares the two.
import { expectedCadenceMs, type Frequency } from './frequency';

/** Slack beyond the cadence (or the first due tick) before a version counts as overdue: one master interval plus retries. */
export const FRESHNESS_GRACE_MS = 12 * 3600 * 1000;

export type Freshness = 'fresh' | 'overdue' | 'never_checked' | 'on_event' | 'inactive';

export interface FreshnessInput {
  frequency: Frequency;
  active: boolean;
  checkEnabled: boolean;
  lastSuccessAt: Date | null;
  createdAt: Date;
  lastCheckedAt: Date | null;
  nextCheckAt: Date | null;
  /** The source's probe runs at every master tick (data_sources.probe_every_tick). */
  probeEveryTick: boolean;
  /** When the current revision was made: the last release seen. Null before the first. */
  lastRevisionAt: Date | null;
}

/**
 * The first master tick a version is due at: its creation (next_check_at starts NULL, due at once), or
 * the first next_check_at when that was set later and nothing has run yet.
 */
export function firstDueAt(v: Pick<FreshnessInput, 'createdAt' | 'lastCheckedAt' | 'nextCheckAt'>): Date {
  return v.lastCheckedAt === null && v.nextCheckAt !== null && v.nextCheckAt > v.createdAt
    ? v.nextCheckAt
    : v.createdAt;
}

export function freshnessOf(v: FreshnessInput, now: Date): { state: Freshness; dueBy: Date | null } {
  if (!v.active || !v.checkEnabled) return { state: 'inactive', dueBy: null };
  const cadence = expectedCadenceMs(v.frequency);
  if (cadence === null) return { state: 'on_event', dueBy: null };
  if (v.lastSuccessAt === null) {
    const dueBy = new Date(firstDueAt(v).getTime() + FRESHNESS_GRACE_MS);
    return { state: now > dueBy ? 'overdue' : 'never_checked', dueBy };
  }
  const lastRelease = v.lastRevisionAt ?? v.lastSuccessAt;
  const since = v.probeEveryTick && lastRelease < v.lastSuccessAt ? lastRelease : v.lastSuccessAt;
  const dueBy = new Date(since.getTime() + cadence + FRESHNESS_GRACE_MS);
  return { state: now > dueBy ? 'overdue' : 'fresh', dueBy };
}
