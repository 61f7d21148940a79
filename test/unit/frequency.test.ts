import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BREAKER_THRESHOLD,
  calculateNextCheck,
  expectedCadenceMs,
  markChecked,
  resetBreaker,
  type ScheduleState,
} from '../../lib/scheduling/frequency';
import { freshnessOf } from '../../lib/scheduling/freshness';

const at = (iso: string) => new Date(iso);
const fresh: ScheduleState = {
  checkEnabled: true,
  nextCheckAt: null,
  lastCheckedAt: null,
  consecutiveFailures: 0,
  breakerOpenedAt: null,
};

describe('calculateNextCheck', () => {
  test('adds the cadence of each frequency', () => {
    const from = at('2026-01-15T06:00:00Z');
    assert.equal(calculateNextCheck('weekly', from)?.toISOString(), '2026-01-22T06:00:00.000Z');
    assert.equal(calculateNextCheck('monthly', from)?.toISOString(), '2026-02-15T06:00:00.000Z');
    assert.equal(calculateNextCheck('quarterly', from)?.toISOString(), '2026-04-15T06:00:00.000Z');
    assert.equal(calculateNextCheck('semi_annual', from)?.toISOString(), '2026-07-15T06:00:00.000Z');
    assert.equal(calculateNextCheck('annual', from)?.toISOString(), '2027-01-15T06:00:00.000Z');
  });

  test('on-event sources are never scheduled', () => {
    assert.equal(calculateNextCheck('on_event', at('2026-01-15T00:00:00Z')), null);
    assert.equal(expectedCadenceMs('on_event'), null);
  });

  test('clamps to the end of shorter months and handles leap years', () => {
    assert.equal(calculateNextCheck('monthly', at('2026-01-31T00:00:00Z'))?.toISOString(), '2026-02-28T00:00:00.000Z');
    assert.equal(calculateNextCheck('monthly', at('2028-01-31T00:00:00Z'))?.toISOString(), '2028-02-29T00:00:00.000Z');
    assert.equal(
      calculateNextCheck('quarterly', at('2026-11-30T00:00:00Z'))?.toISOString(),
      '2027-02-28T00:00:00.000Z',
    );
    assert.equal(calculateNextCheck('annual', at('2028-02-29T00:00:00Z'))?.toISOString(), '2029-02-28T00:00:00.000Z');
  });
});

// Whether a version is due is decided by SQL alone (findDueVersions): see test/workflows/policies.test.ts.

describe('markChecked', () => {
  const now = at('2026-03-01T12:00:00Z');
  test('success and no_change schedule one cadence later and reset failures', () => {
    for (const outcome of ['success', 'no_change'] as const) {
      const next = markChecked({ ...fresh, consecutiveFailures: 3 }, 'quarterly', outcome, now);
      assert.equal(next.lastCheckedAt, now);
      assert.equal(next.nextCheckAt?.toISOString(), '2026-06-01T12:00:00.000Z');
      assert.equal(next.consecutiveFailures, 0);
      assert.equal(next.breakerOpenedAt, null);
    }
  });

  test('a failure keeps the version due and counts; the fifth opens the breaker', () => {
    let state: ScheduleState = { ...fresh, nextCheckAt: at('2026-02-01T00:00:00Z') };
    for (let i = 1; i < BREAKER_THRESHOLD; i++) {
      state = markChecked(state, 'annual', 'failed', now);
      assert.equal(state.consecutiveFailures, i);
      assert.equal(state.breakerOpenedAt, null);
      assert.equal(state.nextCheckAt?.toISOString(), '2026-02-01T00:00:00.000Z', 'still due');
    }
    state = markChecked(state, 'annual', 'failed', now);
    assert.equal(state.consecutiveFailures, BREAKER_THRESHOLD);
    assert.equal(state.breakerOpenedAt, now);
    const later = markChecked(state, 'annual', 'failed', at('2026-03-02T00:00:00Z'));
    assert.equal(later.breakerOpenedAt, now, 'the breaker keeps the time it first opened');
  });

  test('reset closes the breaker and makes the version due at once', () => {
    const open = { ...fresh, consecutiveFailures: 5, breakerOpenedAt: now };
    const reset = resetBreaker(open, at('2026-03-05T00:00:00Z'));
    assert.equal(reset.consecutiveFailures, 0);
    assert.equal(reset.breakerOpenedAt, null);
    assert.equal(reset.nextCheckAt?.toISOString(), '2026-03-05T00:00:00.000Z', 'due at once');
  });
});

describe('freshnessOf', () => {
  const base = {
    frequency: 'monthly' as const,
    active: true,
    checkEnabled: true,
    createdAt: at('2026-01-01T00:00:00Z'),
    lastCheckedAt: null,
    nextCheckAt: null,
    probeEveryTick: false,
    lastRevisionAt: null,
  };
  test('fresh within cadence + grace, overdue after, whether or not anything failed', () => {
    const lastSuccessAt = at('2026-03-01T00:00:00Z');
    assert.equal(freshnessOf({ ...base, lastSuccessAt }, at('2026-04-01T11:00:00Z')).state, 'fresh');
    const late = freshnessOf({ ...base, lastSuccessAt }, at('2026-04-01T13:00:00Z'));
    assert.equal(late.state, 'overdue');
    assert.equal(late.dueBy?.toISOString(), '2026-04-01T12:00:00.000Z');
  });
  test('a version never loaded is overdue a grace after its creation (its first due tick), not a cadence after', () => {
    assert.equal(freshnessOf({ ...base, lastSuccessAt: null }, at('2026-01-01T11:00:00Z')).state, 'never_checked');
    assert.equal(freshnessOf({ ...base, lastSuccessAt: null }, at('2026-01-10T00:00:00Z')).state, 'overdue');
  });
  test('on-event and inactive versions are never overdue', () => {
    const now = at('2030-01-01T00:00:00Z');
    assert.equal(freshnessOf({ ...base, frequency: 'on_event', lastSuccessAt: null }, now).state, 'on_event');
    assert.equal(freshnessOf({ ...base, active: false, lastSuccessAt: null }, now).state, 'inactive');
  });
});
