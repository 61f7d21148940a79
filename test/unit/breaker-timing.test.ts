// The pure rules of issue #11's timing, pinned on both sides of every boundary: the half-open probe's
// effect on the schedule state, the probe interval learned from the observed release interval (its share and
// both configured bounds), and freshness on day one (a never-loaded version is overdue a grace after its
// first due tick; a source probed at every tick is overdue when no new release came within its cadence).
// The SQL rules (the cool-down, the due rule with cheap probes, the observed interval) are pinned on
// PostgreSQL in test/workflows/half-open-breaker.test.ts and test/unit/read-contract.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expectedCadenceMs, markChecked, markProbed, type ScheduleState } from '../../lib/scheduling/frequency';
import { FRESHNESS_GRACE_MS, type FreshnessInput, freshnessOf } from '../../lib/scheduling/freshness';
import {
  DEFAULT_PROBE_INTERVAL_MAX_HOURS,
  DEFAULT_PROBE_INTERVAL_MIN_HOURS,
  learnedProbeIntervalMs,
  nextCheckAfterSuccess,
  OBSERVED_INTERVAL_SHARE,
} from '../../lib/scheduling/probe-interval';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const at = (iso: string) => new Date(iso);
const plus = (d: Date, ms: number) => new Date(d.getTime() + ms);

describe('half-open probe: what it does to the schedule state', () => {
  const opened = at('2026-06-01T00:00:00Z');
  const open: ScheduleState = {
    checkEnabled: true,
    nextCheckAt: at('2026-05-30T00:00:00Z'),
    lastCheckedAt: opened,
    consecutiveFailures: 5,
    breakerOpenedAt: opened,
    breakerProbedAt: null,
  };
  const now = at('2026-06-01T06:00:00Z');

  test('success closes the breaker, clears the count and the probe time, and makes the version due at once', () => {
    assert.deepEqual(markProbed(open, 'success', now), {
      ...open,
      consecutiveFailures: 0,
      breakerOpenedAt: null,
      breakerProbedAt: null,
      nextCheckAt: now,
      lastCheckedAt: now,
    });
  });

  test('failure keeps it open since it first opened, counts, and restarts the cool-down from now', () => {
    const failed = markProbed(open, 'failed', now);
    assert.equal(failed.breakerOpenedAt, opened, 'breaker_opened_at keeps its meaning: when it opened');
    assert.equal(failed.breakerProbedAt, now);
    assert.equal(failed.consecutiveFailures, 6);
    assert.equal(failed.nextCheckAt, open.nextCheckAt, 'still due: the master decides by the cool-down');
  });

  test('an ordinary success after a failed probe clears the probe time too', () => {
    const probed = markProbed(open, 'failed', now);
    assert.equal(markChecked(probed, 'annual', 'success', now).breakerProbedAt, null);
  });
});

describe('probe interval learned from the observed release interval', () => {
  const now = at('2026-03-01T00:00:00Z');
  const timing = (observedIntervalMs: number | null, extra: Partial<{ minHours: number; maxHours: number }> = {}) => ({
    probeEveryTick: false,
    observedIntervalMs,
    minHours: DEFAULT_PROBE_INTERVAL_MIN_HOURS,
    maxHours: DEFAULT_PROBE_INTERVAL_MAX_HOURS,
    ...extra,
  });

  test('the documented defaults: half the observed interval, within 24 h and 720 h (30 days)', () => {
    assert.equal(OBSERVED_INTERVAL_SHARE, 0.5);
    assert.equal(DEFAULT_PROBE_INTERVAL_MIN_HOURS, 24);
    assert.equal(DEFAULT_PROBE_INTERVAL_MAX_HOURS, 720);
  });

  test('inside the bounds: half the observed interval (20 days observed: checked every 10 days)', () => {
    assert.equal(nextCheckAfterSuccess('annual', now, timing(20 * DAY))?.getTime(), now.getTime() + 10 * DAY);
  });

  test('the lower bound: 48 h observed gives exactly 24 h; 47 h observed is held at 24 h, 50 h gives 25 h', () => {
    assert.equal(learnedProbeIntervalMs(48 * HOUR, 24, 720), 24 * HOUR);
    assert.equal(learnedProbeIntervalMs(47 * HOUR, 24, 720), 24 * HOUR);
    assert.equal(learnedProbeIntervalMs(50 * HOUR, 24, 720), 25 * HOUR);
  });

  test('the upper bound: 1440 h observed gives exactly 720 h; 1442 h is held at 720 h, 1438 h gives 719 h', () => {
    assert.equal(learnedProbeIntervalMs(1440 * HOUR, 24, 720), 720 * HOUR);
    assert.equal(learnedProbeIntervalMs(1442 * HOUR, 24, 720), 720 * HOUR);
    assert.equal(learnedProbeIntervalMs(1438 * HOUR, 24, 720), 719 * HOUR);
  });

  test('the bounds are the source configuration: WDI (two releases a year) on an annual cadence', () => {
    const wdi = 150 * DAY; // February → July
    assert.equal(nextCheckAfterSuccess('annual', now, timing(wdi))?.getTime(), now.getTime() + 720 * HOUR);
    assert.equal(
      nextCheckAfterSuccess('annual', now, timing(wdi, { maxHours: 2000 }))?.getTime(),
      now.getTime() + 75 * DAY,
    );
    assert.equal(
      nextCheckAfterSuccess('weekly', now, timing(HOUR, { minHours: 6 }))?.getTime(),
      now.getTime() + 6 * HOUR,
    );
  });

  test('no observed interval yet: the declared cadence; a cheap probe: the next master tick; on-event: never', () => {
    assert.equal(nextCheckAfterSuccess('annual', now, timing(null))?.toISOString(), '2027-03-01T00:00:00.000Z');
    assert.equal(nextCheckAfterSuccess('annual', now, { ...timing(20 * DAY), probeEveryTick: true }), now);
    assert.equal(nextCheckAfterSuccess('on_event', now, timing(20 * DAY)), null);
  });
});

describe('freshness on day one', () => {
  const created = at('2026-01-01T00:00:00Z');
  const base: FreshnessInput = {
    frequency: 'annual',
    active: true,
    checkEnabled: true,
    createdAt: created,
    lastSuccessAt: null,
    lastCheckedAt: null,
    nextCheckAt: null,
    probeEveryTick: false,
    lastRevisionAt: null,
  };

  test('the grace is 12 h', () => {
    assert.equal(FRESHNESS_GRACE_MS, 12 * HOUR);
  });

  test('never loaded, due from creation: never_checked up to creation + 12 h, overdue 1 ms later', () => {
    const edge = plus(created, 12 * HOUR);
    assert.deepEqual(freshnessOf(base, edge), { state: 'never_checked', dueBy: edge });
    assert.equal(freshnessOf(base, plus(edge, 1)).state, 'overdue');
  });

  test('failing since creation changes nothing: still overdue a grace after the first due tick', () => {
    const failing = { ...base, lastCheckedAt: plus(created, 6 * HOUR) };
    assert.equal(freshnessOf(failing, plus(created, 12 * HOUR + 1)).state, 'overdue');
  });

  test('a first check set later than creation is the first due tick', () => {
    const firstTick = at('2026-02-01T00:00:00Z');
    const later = { ...base, nextCheckAt: firstTick };
    assert.equal(freshnessOf(later, plus(firstTick, 12 * HOUR)).state, 'never_checked');
    assert.equal(freshnessOf(later, plus(firstTick, 12 * HOUR + 1)).state, 'overdue');
  });

  test('loaded: cadence + grace after the last success, on both sides', () => {
    const success = at('2026-01-02T00:00:00Z');
    const loaded = { ...base, lastSuccessAt: success, lastCheckedAt: success, lastRevisionAt: success };
    const edge = plus(success, (expectedCadenceMs('annual') ?? 0) + 12 * HOUR);
    assert.equal(freshnessOf(loaded, edge).state, 'fresh');
    assert.equal(freshnessOf(loaded, plus(edge, 1)).state, 'overdue');
  });

  test('probed at every tick: a successful check is not enough, a new release must come within cadence + grace', () => {
    const release = at('2026-01-02T00:00:00Z');
    const checkedToday = at('2027-01-02T11:00:00Z');
    const cheap = {
      ...base,
      frequency: 'annual' as const,
      probeEveryTick: true,
      lastRevisionAt: release,
      lastSuccessAt: checkedToday,
      lastCheckedAt: checkedToday,
    };
    const edge = plus(release, (expectedCadenceMs('annual') ?? 0) + 12 * HOUR);
    assert.deepEqual(freshnessOf(cheap, edge), { state: 'fresh', dueBy: edge });
    assert.equal(freshnessOf(cheap, plus(edge, 1)).state, 'overdue');
    // The same version with a probe that is not cheap counts from its last successful check.
    assert.equal(freshnessOf({ ...cheap, probeEveryTick: false }, plus(edge, 1)).state, 'fresh');
  });
});
