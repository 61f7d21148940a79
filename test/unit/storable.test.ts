// The storable bounds the README states (series key 2048, period 64, unit 256, value 1000 characters),
// on both sides, and the content checksum's promise: the same rows in any order, the same checksum.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ContentChecksum } from '../../activities/ingestion/content-checksum';
import { rowHash } from '../../activities/ingestion/row-hash';
import {
  assertStorable,
  MAX_PERIOD_CHARS,
  MAX_SERIES_KEY_CHARS,
  MAX_UNIT_CHARS,
  MAX_VALUE_CHARS,
  unstorableReason,
} from '../../activities/ingestion/storable';
import { type ObservationRow, RowRejected } from '../../sources/kit/types';

const row = (over: Partial<ObservationRow> = {}): ObservationRow => ({
  seriesKey: 'A|BEN',
  period: '2024',
  value: '1.5',
  unit: 't',
  attributes: null,
  ...over,
});
const rejects = (r: ObservationRow, pattern: RegExp) =>
  assert.throws(
    () => assertStorable(r),
    (err: unknown) => err instanceof RowRejected && pattern.test(err.message),
  );

test('the documented bounds', () => {
  assert.deepEqual([MAX_SERIES_KEY_CHARS, MAX_PERIOD_CHARS, MAX_UNIT_CHARS, MAX_VALUE_CHARS], [2048, 64, 256, 1000]);
});

test('each bound: at the bound is stored, one character more is a rejected row naming the field', () => {
  assertStorable(row({ seriesKey: 'k'.repeat(2048) }));
  rejects(row({ seriesKey: 'k'.repeat(2049) }), /the series key is 2049 characters long \(at most 2048\)/);
  assertStorable(row({ period: 'p'.repeat(64) }));
  rejects(row({ period: 'p'.repeat(65) }), /the period is 65 characters long \(at most 64\)/);
  assertStorable(row({ unit: 'u'.repeat(256) }));
  rejects(row({ unit: 'u'.repeat(257) }), /the unit is 257 characters long \(at most 256\)/);
  assertStorable(row({ value: '9'.repeat(1000) }));
  rejects(row({ value: '9'.repeat(1001) }), /is not a plain decimal of at most 1000 characters/);
});

test('empty keys, non-plain values, NUL bytes and non-finite numbers are rejected', () => {
  rejects(row({ seriesKey: '' }), /the series key is empty/);
  rejects(row({ period: '' }), /the period is empty/);
  rejects(row({ value: '1e5' }), /not a plain decimal/);
  rejects(row({ attributes: { label: 'a\u0000b' } }), /NUL byte/);
  assert.match(String(unstorableReason({ v: Number.POSITIVE_INFINITY })), /record\.v is not a finite number/);
  assert.match(String(unstorableReason({ 'a\u0000': 1 })), /field name with a NUL byte/);
  assert.equal(unstorableReason({ v: 1.5, s: 'ok', list: [1, 'x', null] }), null);
});

test('content checksum: any order gives the same checksum; one changed or missing row does not', () => {
  const rows = Array.from({ length: 50 }, (_, i) => row({ period: String(2000 + i), value: String(i) }));
  const of = (list: ObservationRow[]) => {
    const c = new ContentChecksum();
    for (const r of list) c.add(rowHash(r));
    return c.digest();
  };
  const base = of(rows);
  assert.equal(of([...rows].reverse()), base);
  assert.equal(of([...rows.slice(25), ...rows.slice(0, 25)]), base);
  assert.notEqual(of(rows.map((r, i) => (i === 7 ? { ...r, value: '7.5' } : r))), base);
  assert.notEqual(of(rows.slice(1)), base);
  assert.notEqual(of([...rows, rows[0]!]), base, 'a repeated row changes it too');
});
