// Freshness is separate from failure: a version is overdue when no check has succeeded within its
// expected cadence (plus a grace period for the six-hourly master), whether or not anything failed.
import { expectedCadenceMs, type Frequency } from './frequency';

/** Slack beyond the cadence before a version counts as overdue: one master interval plus retries. */
export const FRESHNESS_GRACE_MS = 12 * 3600 * 1000;

export type Freshness = 'fresh' | 'overdue' | 'never_checked' | 'on_event' | 'inactive';

export interface FreshnessInput {
  frequency: Frequency;
  active: boolean;
  checkEnabled: boolean;
  lastSuccessAt: Date | null;
  createdAt: Date;
}

export function freshnessOf(v: FreshnessInput, now: Date): { state: Freshness; dueBy: Date | null } {
  if (!v.active || !v.checkEnabled) return { state: 'inactive', dueBy: null };
  const cadence = expectedCadenceMs(v.frequency);
  if (cadence === null) return { state: 'on_event', dueBy: null };
  const since = v.lastSuccessAt ?? v.createdAt;
  const dueBy = new Date(since.getTime() + cadence + FRESHNESS_GRACE_MS);
  if (now > dueBy) return { state: 'overdue', dueBy };
  return { state: v.lastSuccessAt ? 'fresh' : 'never_checked', dueBy };
}
