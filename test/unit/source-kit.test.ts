// The source kit's mechanisms, each tested once here (sources/kit): the specs only declare how they use them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType } from '../../lib/failures';
import { eachPartition } from '../../sources/kit/define-source';
import { type NumberedPage, pageNumbered, wholeCount } from '../../sources/kit/paging';
import { boundedInt, codeList, codeListOr, sourceParams } from '../../sources/kit/params';
import { cartesian } from '../../sources/kit/partitions';
import { joinedToken, latestStamp } from '../../sources/kit/probe';
import { compactAttributes, recordLabel, validRecord } from '../../sources/kit/records';
import { payloadOf, refuseOn } from '../../sources/kit/refusals';
import { seriesIdentity } from '../../sources/kit/series-key';
import { ResumeMismatch, type ResumePoint, RowRejected } from '../../sources/kit/types';

async function drain(pages: NumberedPage[]): Promise<{ records: unknown[]; held: number; progress: unknown[] }> {
  const records: unknown[] = [];
  const progress: unknown[] = [];
  const it = pageNumbered({
    describe: 'Test query Q',
    page: async (n) => pages[n - 1] ?? assert.fail(`page ${n} was asked for but not served`),
    onPage: (at) => progress.push(at),
  });
  let next = await it.next();
  while (!next.done) {
    records.push(next.value);
    next = await it.next();
  }
  return { records, held: next.value, progress };
}

async function partial(pages: NumberedPage[]): Promise<string> {
  try {
    await drain(pages);
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, FailureType.PartialResult);
    assert.equal(err.nonRetryable, false, 'a retry reads a consistent snapshot');
    return err.message;
  }
  return assert.fail('expected a PartialResult');
}

const page = (n: number, records: unknown[], over: Partial<NumberedPage> = {}): NumberedPage => ({
  page: n,
  pages: 3,
  total: 5,
  version: '2024-05-30',
  records,
  ...over,
});

describe('paging by page number', () => {
  test('every record of every page, in order, with progress per page', async () => {
    const { records, held, progress } = await drain([page(1, [1, 2]), page(2, [3, 4]), page(3, [5])]);
    assert.deepEqual(records, [1, 2, 3, 4, 5]);
    assert.equal(held, 5);
    assert.deepEqual(
      progress,
      [1, 2, 3].map((n) => ({ page: n, pages: 3 })),
    );
  });

  test('an empty result numbered page 0 of 0 is zero records', async () => {
    const { records } = await drain([{ page: 0, pages: 0, total: 0, version: null, records: [] }]);
    assert.deepEqual(records, []);
  });

  test('the page answered must be the page asked', async () => {
    const message = await partial([page(1, [1, 2]), page(1, [1, 2]), page(3, [5])]);
    assert.match(message, /Test query Q changed while paging \(asked for page 2, the answer is page 1\)/);
  });

  test('total and version must stay what page 1 said', async () => {
    assert.match(await partial([page(1, [1, 2]), page(2, [3, 4], { total: 6 })]), /total 5 → 6/);
    assert.match(
      await partial([page(1, [1, 2]), page(2, [3, 4], { version: '2024-07-01' })]),
      /version 2024-05-30 → 2024-07-01/,
    );
  });

  test('the records must add up to total', async () => {
    assert.match(await partial([page(1, [1, 2]), page(2, [3, 4]), page(3, [])]), /total 5, the pages held 4 records/);
  });

  test('counts may be numeric strings; anything else names the rule', () => {
    assert.equal(wholeCount.parse('50'), 50);
    assert.equal(wholeCount.parse(7), 7);
    assert.equal(wholeCount.safeParse('fifty').success, false);
    assert.equal(wholeCount.safeParse(-1).success, false);
  });
});

describe('partitions', () => {
  test('the cartesian product, first list varying slowest, in a stable order', () => {
    assert.deepEqual(cartesian({ indicator: ['A', 'B'], country: ['BJ', 'TG'] }), [
      { indicator: 'A', country: 'BJ' },
      { indicator: 'A', country: 'TG' },
      { indicator: 'B', country: 'BJ' },
      { indicator: 'B', country: 'TG' },
    ]);
    assert.deepEqual(cartesian({ indicator: ['A'], country: [] }), [], 'an empty list means no requests');
  });
});

describe('probe tokens', () => {
  test('stamps joined in key order, so reordering the lists is no change; a missing stamp is "none"', () => {
    const token = joinedToken([
      ['SL.UEM', '2024-05-30'],
      ['AG.PRD', null],
    ]);
    assert.equal(token, 'AG.PRD=none;SL.UEM=2024-05-30');
    assert.equal(
      joinedToken([
        ['AG.PRD', null],
        ['SL.UEM', '2024-05-30'],
      ]),
      token,
    );
  });

  test('the latest stamp, or null when none is known', () => {
    assert.equal(latestStamp(['2024-05-30', null, '2024-07-01', undefined]), '2024-07-01');
    assert.equal(latestStamp([null, undefined]), null);
  });
});

describe('params helpers', () => {
  const Params = sourceParams('Test', '{"codes":["AB"]}', {
    codes: codeList('codes', { of: 'codes', example: 'AB', pattern: /^[A-Z]{2}$/, hint: 'two capitals' }),
    areas: codeListOr('areas', { of: 'areas', example: 'bj', pattern: /^[a-z]{2}$/i, hint: 'ISO', upperCase: true }, [
      'BJ',
    ]),
    size: boundedInt('size', 1, 100, 10),
  });
  const issue = (input: unknown) => {
    const result = Params.safeParse(input);
    return result.success ? 'valid' : result.error.issues.map((i) => i.message).join(' | ');
  };

  test('defaults, upper-casing, and every message naming the field and the fix', () => {
    assert.deepEqual(Params.parse({ codes: ['AB'], areas: ['tg'] }), { codes: ['AB'], areas: ['TG'], size: 10 });
    assert.deepEqual(Params.parse({ codes: ['AB'] }).areas, ['BJ']);
    assert.match(issue({}), /codes is required: give a list of codes, e.g. \["AB"\]/);
    assert.match(issue({ codes: [] }), /codes is empty: list at least one/);
    assert.match(issue({ codes: ['AB', 'AB'] }), /codes lists a code twice: remove the duplicate/);
    assert.match(issue({ codes: ['ab'] }), /codes: two capitals/);
    assert.match(issue({ codes: [1] }), /codes: every entry must be a string such as "AB"/);
    assert.match(issue({ codes: ['AB'], size: 0 }), /size must be at least 1 \(default 10\)/);
    assert.match(issue({ codes: ['AB'], size: 101 }), /size must be at most 100/);
    assert.equal(issue({ codes: ['AB'], size: 100 }), 'valid', 'the bound itself is allowed');
    assert.match(
      issue({ codes: ['AB'], code: 'x' }),
      /unknown parameter code: the Test connector takes codes, areas, size/,
    );
    assert.match(issue('AB'), /params must be an object with codes, areas, size, e.g. \{"codes":\["AB"\]\}/);
  });
});

describe('records and refusals', () => {
  test('compactAttributes keeps the named, non-empty fields only', () => {
    assert.deepEqual(compactAttributes({ a: 'x', b: '', c: null, d: 0, e: undefined }), { a: 'x', d: 0 });
    assert.deepEqual(compactAttributes({ a: 'x', b: 'y' }, ['b']), { b: 'y' });
    assert.equal(compactAttributes({ a: '', b: null }), null);
  });

  test('recordLabel reads dotted paths, and falls back to the record itself', () => {
    assert.equal(
      recordLabel({ indicator: { id: 'X' }, date: '2020', n: 3 }, ['indicator.id', 'date', 'n']),
      'X 2020 3',
    );
    assert.equal(recordLabel({ other: true }, ['indicator.id']), '{"other":true}');
  });

  test('validRecord: a record off its schema is a RowRejected naming the record and the field', () => {
    const schema = z.object({ value: z.number() });
    assert.deepEqual(
      validRecord(schema, { value: 1 }, () => 'row 1'),
      { value: 1 },
    );
    assert.throws(
      () => validRecord(schema, { value: 'x' }, () => 'row 2'),
      (err) => err instanceof RowRejected && /^row 2: value: /.test(err.message),
    );
  });

  test('an error envelope is a non-retryable SourceRejected; a body off the format an InvalidPayload with its path', () => {
    const Envelope = z.object({ error: z.string() });
    assert.throws(
      () => refuseOn(Envelope, { error: 'bad code' }, (e) => `refused: ${e.error}`),
      (err) => err instanceof ApplicationFailure && err.type === FailureType.SourceRejected && err.nonRetryable,
    );
    refuseOn(Envelope, { data: [] }, () => 'never');
    assert.throws(
      () => payloadOf(z.object({ data: z.array(z.number()) }), { data: ['x'] }, 'Test body'),
      (err) =>
        err instanceof ApplicationFailure &&
        err.type === FailureType.InvalidPayload &&
        /^Test body: data\[0\]: /.test(err.message),
    );
  });
});

describe('resume points', () => {
  test('pageNumbered checkpoints after each page and, resumed, reads only the pages after the point', async () => {
    const pages = [page(1, [1, 2]), page(2, [3, 4]), page(3, [5])];
    const asked: number[] = [];
    const points: unknown[] = [];
    const read = (resume?: Parameters<typeof pageNumbered>[0]['resume']) =>
      pageNumbered({
        describe: 'Test query Q',
        page: async (n) => {
          asked.push(n);
          return pages[n - 1]!;
        },
        resume,
        checkpoint: async (at) => {
          points.push(at);
        },
      });
    const all: unknown[] = [];
    for await (const r of read()) all.push(r);
    assert.deepEqual(all, [1, 2, 3, 4, 5]);
    const baseline = { pages: 3, total: 5, version: '2024-05-30' };
    assert.deepEqual(points, [
      { pages: 1, held: 2, first: baseline },
      { pages: 2, held: 4, first: baseline },
      { pages: 3, held: 5, first: baseline },
    ]);
    asked.length = 0;
    const rest: unknown[] = [];
    for await (const r of read({ pages: 2, held: 4, first: baseline })) rest.push(r);
    assert.deepEqual(rest, [5]);
    assert.deepEqual(asked, [3], 'pages 1 and 2 are not read again');
    // A dataset that moved since the first attempt fails the check against what page 1 said then.
    await assert.rejects(async () => {
      for await (const _ of read({ pages: 2, held: 4, first: { ...baseline, total: 6 } })) void _;
    }, /changed while paging/);
  });

  test('eachPartition skips the partitions read, hands the next one its paging point, checkpoints each', async () => {
    const fetch = eachPartition(
      (p: { parts: string[] }) => p.parts,
      async function* (ctx, part: string) {
        yield `${part}:${ctx.resume?.paging?.pages ?? 0}`;
        await ctx.checkpoint?.({
          partitions: 0,
          paging: { pages: 1, held: 1, first: { pages: 2, total: 2, version: null } },
        });
      },
    );
    const run = async (parts: string[], resume?: ResumePoint) => {
      const points: ResumePoint[] = [];
      const got: unknown[] = [];
      const ctx = { params: { parts }, resume, checkpoint: async (at: ResumePoint) => void points.push(at) };
      for await (const r of fetch(ctx as unknown as Parameters<typeof fetch>[0])) got.push(r);
      return { got, points };
    };
    const first = await run(['a', 'b', 'c']);
    assert.deepEqual(
      first.points.map((p) => p.partitions),
      [0, 1, 1, 2, 2, 3],
      'a page point of a (0), a done (1), b (1), b done (2), c (2), c done (3)',
    );
    const key = first.points[0]?.partitionsKey;
    assert.match(String(key), /^[0-9a-f]{16}$/);
    const paging = { pages: 4, held: 8, first: { pages: 9, total: 18, version: null } };
    const resumed = await run(['a', 'b', 'c'], { partitions: 1, partitionsKey: key, paging });
    assert.deepEqual(resumed.got, ['b:4', 'c:0'], 'a is skipped; b resumes at its page 4; c starts afresh');
    // Another partition list (an edited param, periods that moved on) cannot continue a count of the old one.
    await assert.rejects(run(['a', 'c'], { partitions: 1, partitionsKey: key }), ResumeMismatch);
    await assert.rejects(run(['a', 'b', 'c'], { partitions: 1 }), ResumeMismatch, 'a point without a key');
  });
});

describe('series identity', () => {
  test('prefix then the dimension values in declared order, joined by "|"; named dimensions kept', () => {
    assert.deepEqual(seriesIdentity({ indicator: 'SL.UEM', country: 'BEN' }), {
      seriesKey: 'SL.UEM|BEN',
      dimensions: { indicator: 'SL.UEM', country: 'BEN' },
    });
    assert.equal(
      seriesIdentity(
        [
          ['area', '53'],
          ['item', '56'],
        ],
        ['QCL'],
      ).seriesKey,
      'QCL|53|56',
    );
    assert.equal(seriesIdentity([], ['osm']).seriesKey, 'osm');
    assert.equal(seriesIdentity({ a: '' }).seriesKey, '', 'an empty value is a value');
    assert.equal(seriesIdentity({ a: 'x', mot: '2100' }, ['p'], { tagged: ['mot'] }).seriesKey, 'p|x|mot:2100');
  });

  test('a value holding "|" is a rejected row: two series would share one key', () => {
    assert.throws(
      () => seriesIdentity({ commune: 'A|B' }),
      (err) => err instanceof RowRejected && /commune/.test(err.message),
    );
  });
});
