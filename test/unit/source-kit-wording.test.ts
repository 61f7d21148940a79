// Optional wording rules of the source kit's params, record-label and CSV-header helpers, each tested once
// here: a code list that may be empty (FAOSTAT's [] = every area), a unit in a bounded number's messages
// (MODIS kilometres), labels whose parts are named or joined otherwise (FAOSTAT "area 53 …", Overpass
// "way/42"), and how a header check lists the missing columns (FAOSTAT, SDMX-CSV).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { requireColumns } from '../../sources/kit/csv';
import { boundedInt, codeList, codeListOr } from '../../sources/kit/params';
import { recordLabel } from '../../sources/kit/records';
import { assertFailure } from '../helpers/assertions';

const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.success ? 'valid' : (result.error?.issues.map((i) => i.message).join(' | ') ?? '');

describe('codeList emptyMeans', () => {
  const rule = { of: 'area codes', example: '53', pattern: /^\d+$/, hint: 'an area code is digits' };

  test('[] is allowed and means what the rule says; the other checks stay', () => {
    const areas = codeListOr('areas', { ...rule, emptyMeans: 'every area' }, ['53']);
    assert.deepEqual(areas.parse([]), []);
    assert.deepEqual(areas.parse(undefined), ['53']);
    assert.match(
      messages(areas.safeParse('53')),
      /^areas is required: give a list of area codes, e.g. \["53"\]; \[\] means every area$/,
    );
    assert.match(messages(areas.safeParse(['53', '53'])), /areas lists a code twice/);
    assert.match(messages(areas.safeParse(['x'])), /^areas: an area code is digits$/);
  });

  test('without it a list holds one entry at least', () => {
    assert.match(messages(codeList('areas', rule).safeParse([])), /^areas is empty: list at least one/);
  });
});

describe('boundedInt unit', () => {
  test('the unit follows every number of the messages; without one they read as before', () => {
    const km = boundedInt('kmLeftRight', 0, 100, 1, { unit: 'km' });
    assert.equal(km.parse(undefined), 1);
    assert.equal(messages(km.safeParse(101)), 'kmLeftRight must be at most 100 km (default 1 km)');
    assert.equal(messages(km.safeParse(-1)), 'kmLeftRight must be at least 0 km (default 1 km)');
    assert.equal(messages(km.safeParse(1.5)), 'kmLeftRight must be a whole number, e.g. 1 km');
    assert.equal(messages(boundedInt('months', 1, 120, 12).safeParse(0)), 'months must be at least 1 (default 12)');
  });
});

describe('recordLabel names and join', () => {
  test('named paths write "name value" for the parts that are there', () => {
    const paths = { area: 'Area Code', item: 'Item Code', year: 'Year' };
    assert.equal(recordLabel({ 'Area Code': '53', 'Item Code': 56, Year: '' }, paths), 'area 53 item 56');
    assert.equal(recordLabel({ other: 1 }, paths), '{"other":1}', 'nothing named there: the record itself');
  });

  test('join puts its text between the parts', () => {
    assert.equal(recordLabel({ type: 'way', id: -1 }, ['type', 'id'], { join: '/' }), 'way/-1');
    assert.equal(recordLabel({ type: 'way', id: 42 }, ['type', 'id']), 'way 42');
  });
});

describe('requireColumns list', () => {
  test('the missing columns listed as the source words them, or "column(s) …" by default', async () => {
    const header = ['Area Code', 'Area', 'Year'];
    const quoted = requireColumns(['Area Code', 'Item Code', 'Unit'], 'bulk.csv', {
      list: (missing) => missing.map((c) => `"${c}"`).join(', '),
    });
    await assertFailure(
      () => quoted(header),
      FailureType.InvalidPayload,
      (f) =>
        assert.equal(f.message, 'bulk.csv: the CSV header lacks "Item Code", "Unit" (header: Area Code,Area,Year)'),
    );
    await assertFailure(
      () => requireColumns(['Unit'], 'b.csv')(header),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /^b\.csv: the CSV header lacks column Unit \(header:/),
    );
    assert.deepEqual(quoted(['Area Code', 'Item Code', 'Unit']), ['Area Code', 'Item Code', 'Unit']);
  });
});
