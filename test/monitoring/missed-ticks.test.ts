// The pure half of missed-tick detection: which expected ticks have no run, and over which span.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../lib/config';
import { findMissedTicks, tickWindow } from '../../operations/monitoring/missed-ticks';

const at = (iso: string) => new Date(iso);
const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const SIX_HOURLY = ['2026-03-01T00:00:00Z', '2026-03-01T06:00:00Z', '2026-03-01T12:00:00Z', '2026-03-01T18:00:00Z'].map(
  at,
);

describe('findMissedTicks', () => {
  test('every tick ran: nothing missed', () => {
    assert.deepEqual(findMissedTicks(SIX_HOURLY, SIX_HOURLY, 60_000), []);
  });

  test('a tick with no run is missed; runs need not be sorted', () => {
    const actual = [SIX_HOURLY[3]!, SIX_HOURLY[0]!, SIX_HOURLY[1]!];
    assert.deepEqual(iso(findMissedTicks(SIX_HOURLY, actual, 60_000)), ['2026-03-01T12:00:00.000Z']);
  });

  test('a run within the tolerance counts (jitter); one further away does not', () => {
    const actual = [at('2026-03-01T00:00:40Z'), at('2026-03-01T05:58:00Z')];
    assert.deepEqual(iso(findMissedTicks(SIX_HOURLY.slice(0, 2), actual, 60_000)), ['2026-03-01T06:00:00.000Z']);
  });

  test('continue-as-new runs sharing one scheduled time, and manual triggers, do not hide a missed tick', () => {
    const actual = [SIX_HOURLY[0]!, SIX_HOURLY[0]!, at('2026-03-01T09:13:00Z')];
    assert.deepEqual(iso(findMissedTicks(SIX_HOURLY.slice(0, 3), actual, 60_000)), [
      '2026-03-01T06:00:00.000Z',
      '2026-03-01T12:00:00.000Z',
    ]);
  });

  test('with ticks a minute apart, a run vouches only for the tick nearest to it', () => {
    const everyMinute = ['2026-03-01T00:00:00Z', '2026-03-01T00:01:00Z', '2026-03-01T00:02:00Z'].map(at);
    assert.deepEqual(iso(findMissedTicks(everyMinute, [at('2026-03-01T00:01:05Z')], 60_000)), [
      '2026-03-01T00:00:00.000Z',
      '2026-03-01T00:02:00.000Z',
    ]);
  });

  test('no runs at all: every tick is missed, in time order', () => {
    assert.deepEqual(iso(findMissedTicks([...SIX_HOURLY].reverse(), [], 60_000)), iso(SIX_HOURLY));
  });
});

describe('tickWindow', () => {
  const base = {
    now: at('2026-03-03T00:00:00Z'),
    windowMs: 48 * 3600_000,
    graceMs: 5 * 60_000,
    createdAt: at('2026-01-01T00:00:00Z'),
    paused: false,
    lastRunAt: null,
  };

  test('the recent window, ending the grace period ago', () => {
    assert.deepEqual(tickWindow(base), { from: at('2026-03-01T00:00:00Z'), to: at('2026-03-02T23:55:00Z') });
  });

  test('never before the schedule existed', () => {
    const w = tickWindow({ ...base, createdAt: at('2026-03-02T12:00:00Z') });
    assert.equal(w?.from.toISOString(), '2026-03-02T12:00:00.000Z');
  });

  test('a schedule created within the grace period has nothing to judge yet', () => {
    assert.equal(tickWindow({ ...base, createdAt: at('2026-03-02T23:58:00Z') }), null);
  });

  test('while paused, ticks after the last run are not expected', () => {
    const w = tickWindow({ ...base, paused: true, lastRunAt: at('2026-03-02T06:00:00Z') });
    assert.equal(w?.to.toISOString(), '2026-03-02T06:00:00.000Z');
    assert.equal(tickWindow({ ...base, paused: true, createdAt: at('2026-03-02T00:00:00Z') }), null);
  });
});

describe('TEDI_METRICS_BIND', () => {
  test('unset means no endpoint; an IP and port are accepted', () => {
    assert.equal(loadConfig({}).TEDI_METRICS_BIND, undefined);
    assert.equal(loadConfig({ TEDI_METRICS_BIND: '127.0.0.1:9464' }).TEDI_METRICS_BIND, '127.0.0.1:9464');
    assert.equal(loadConfig({ TEDI_METRICS_BIND: '[::1]:9464' }).TEDI_METRICS_BIND, '[::1]:9464');
  });

  test('a host name or a bad port is refused with the fix', () => {
    assert.throws(
      () => loadConfig({ TEDI_METRICS_BIND: 'localhost:9464' }),
      /TEDI_METRICS_BIND="localhost:9464": must be ip:port/,
    );
    assert.throws(() => loadConfig({ TEDI_METRICS_BIND: '0.0.0.0:70000' }), /port must be between 1 and 65535/);
  });
});
