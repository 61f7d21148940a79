// Optional rules of the source kit's params, record and series-key helpers, each tested once here: codes
// upper-cased before their pattern (Comtrade "ag2"), a record rule's own wording of issues (a tabular row's
// `column "x"`), tagged key parts for optional trailing dimensions (Comtrade's breakdown); and two small
// shared helpers: textField (a code written as a string or a number) and describeLocation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { describeLocation } from '../../sources/kit/open-location';
import { codeList } from '../../sources/kit/params';
import { textField, validRecord } from '../../sources/kit/records';
import { seriesIdentity } from '../../sources/kit/series-key';
import { RowRejected } from '../../sources/kit/types';

describe('codeList upperCase', () => {
  test('codes are upper-cased before the pattern checks them, and compared upper-cased', () => {
    const codes = codeList('cmdCodes', {
      of: 'commodity codes',
      example: 'TOTAL',
      pattern: /^(?:TOTAL|AG[1-6])$/,
      hint: 'TOTAL or AG1 to AG6',
      upperCase: true,
    });
    assert.deepEqual(codes.parse([' ag2 ', 'total']), ['AG2', 'TOTAL']);
    const twice = codes.safeParse(['AG2', 'ag2']);
    assert.match(twice.error?.issues[0]?.message ?? '', /cmdCodes lists a code twice: remove the duplicate/);
    assert.match(codes.safeParse(['ag9']).error?.issues[0]?.message ?? '', /^cmdCodes: TOTAL or AG1 to AG6$/);
    const asIs = codeList('codes', { of: 'codes', example: 'AB', pattern: /^[A-Z]{2}$/, hint: 'two capitals' });
    assert.equal(asIs.safeParse(['ab']).success, false, 'without upperCase, case is the pattern’s business');
  });
});

describe('validRecord describe', () => {
  const schema = z.object({ area_m2: z.number({ error: 'expected a number' }), year: z.number() });
  const reject = (describe?: (error: z.ZodError) => string) => {
    try {
      validRecord(schema, { area_m2: 'abc', year: 2020 }, () => 'row 7', describe);
    } catch (err) {
      assert.ok(err instanceof RowRejected);
      return err.message;
    }
    return assert.fail('expected a RowRejected');
  };

  test('issues are worded "path: issue" by default, or by the rule given', () => {
    assert.equal(reject(), 'row 7: area_m2: expected a number');
    const columns = (error: z.ZodError) =>
      error.issues.map((i) => `column "${String(i.path[0])}": ${i.message}`).join('; ');
    assert.equal(reject(columns), 'row 7: column "area_m2": expected a number');
  });
});

describe('seriesIdentity tagged', () => {
  test('a tagged dimension is written name:value in the key; the named dimensions stay plain values', () => {
    const base = [
      ['reporter', '204'],
      ['flow', 'X'],
    ] as const;
    assert.deepEqual(seriesIdentity(base, ['comtrade'], { tagged: ['mot'] }), {
      seriesKey: 'comtrade|204|X',
      dimensions: { reporter: '204', flow: 'X' },
    });
    assert.deepEqual(seriesIdentity([...base, ['mot', '2100']], ['comtrade'], { tagged: ['mot'] }), {
      seriesKey: 'comtrade|204|X|mot:2100',
      dimensions: { reporter: '204', flow: 'X', mot: '2100' },
    });
  });

  test('a "|" in a tagged value is still a rejected row', () => {
    assert.throws(
      () => seriesIdentity([['mot', '2|1']], [], { tagged: ['mot'] }),
      (err) => err instanceof RowRejected && /dimension mot is "2\|1"/.test(err.message),
    );
  });
});

describe('textField and describeLocation', () => {
  test('a code written as a number or a string is the same text; anything else is not a code', () => {
    assert.equal(textField.parse(204), '204');
    assert.equal(textField.parse('204'), '204');
    assert.equal(textField.parse(202307), '202307');
    assert.equal(textField.safeParse(null).success, false);
    assert.equal(textField.safeParse({ code: 204 }).success, false);
  });

  test('a location is shown as its file name, or its URL without credentials', () => {
    assert.equal(describeLocation('/var/imports/2024/indstat.csv'), 'indstat.csv');
    const shown = describeLocation('https://user:pa55word@example.org/x.csv?token=abc123456&y=1');
    assert.ok(!shown.includes('pa55word') && !shown.includes('abc123456'), shown);
    assert.match(shown, /^https:\/\/.*example\.org\/x\.csv\?/);
  });
});
