// The kit's streamed JSON reader (sources/kit/json-stream.ts), tested once here: the specs (Overpass,
// FAOSTAT api, UN Comtrade, SDMX-JSON) only declare which paths they read.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { arrayRecords, type JsonPath, walkJson } from '../../sources/kit/json-stream';
import { assertFailure, collect } from '../helpers/assertions';

/** The bytes of `text` in chunks of `size` bytes (1: every multi-byte character split). */
async function* chunks(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** Drains a generator, returning its items and its return value. */
async function drain<T, R>(it: AsyncGenerator<T, R>): Promise<{ items: T[]; end: R }> {
  const items: T[] = [];
  let next = await it.next();
  while (!next.done) {
    items.push(next.value);
    next = await it.next();
  }
  return { items, end: next.value };
}

const BODY = JSON.stringify({
  version: 0.6,
  osm3s: { timestamp_osm_base: '2024-05-30T12:00:00Z' },
  skipped: { deep: [[{ elements: [1] }]] },
  elements: [{ id: 1, name: 'Cotonou – Ganhi 🏙', v: 1.5 }, 7, [1, { x: null }]],
  remark: 'runtime error',
});

describe('arrayRecords', () => {
  test('items one by one, kept members around them, whatever the chunking (split UTF-8 included)', async () => {
    for (const size of [1, 2, 3, 7, 64, BODY.length]) {
      const members: Record<string, unknown> = {};
      const { items, end } = await drain(
        arrayRecords(chunks(BODY, size), {
          at: ['elements'],
          where: 't',
          numbers: 'number',
          keep: (key) => key === 'osm3s' || key === 'remark',
          members,
        }),
      );
      assert.deepEqual(items, [{ id: 1, name: 'Cotonou – Ganhi 🏙', v: 1.5 }, 7, [1, { x: null }]], `size ${size}`);
      assert.deepEqual(members, { osm3s: { timestamp_osm_base: '2024-05-30T12:00:00Z' }, remark: 'runtime error' });
      assert.deepEqual(end, { array: 'array', records: 3 });
    }
  });

  test('numbers keep their text by default; keep() sees each member kind', async () => {
    const seen: string[] = [];
    const members: Record<string, unknown> = {};
    const { items } = await drain(
      arrayRecords(chunks('{"count":2,"meta":{"a":1},"data":[{"v":1.50},1e21],"error":""}', 5), {
        at: ['data'],
        where: 't',
        keep: (key, kind) => {
          seen.push(`${key}:${kind}`);
          return kind === 'scalar';
        },
        members,
      }),
    );
    assert.deepEqual(items, [{ v: '1.50' }, '1e21']);
    assert.deepEqual(members, { count: '2', error: '' });
    assert.deepEqual(seen, ['count:scalar', 'meta:object', 'error:scalar']);
  });

  test('a member deeper in the body; null or no array is said by the return value, or refused when required', async () => {
    const deep = await drain(arrayRecords(chunks('{"a":{"x":1,"b":[1,2]},"c":3}', 4), { at: ['a', 'b'], where: 't' }));
    assert.deepEqual(deep, { items: ['1', '2'], end: { array: 'array', records: 2 } });
    assert.deepEqual((await drain(arrayRecords(chunks('{"data":null}', 3), { at: ['data'], where: 't' }))).end, {
      array: 'null',
      records: 0,
    });
    assert.deepEqual((await drain(arrayRecords(chunks('{"other":[1]}', 3), { at: ['data'], where: 't' }))).end, {
      array: 'missing',
      records: 0,
    });
    for (const body of ['{"other":[1]}', '{"data":null}']) {
      await assertFailure(
        collect(arrayRecords(chunks(body, 3), { at: ['data'], where: 'tile 1/1', required: true })),
        FailureType.InvalidPayload,
        (f) => assert.match(f.message, /^tile 1\/1: the body has no "data" array \(after 0 items of "data"\)$/),
      );
    }
  });

  test('broken bodies are InvalidPayloads naming the body, the fault and how far it got', async () => {
    const cases: [string, RegExp][] = [
      ['', /^b: the body is empty/],
      [BODY.slice(0, BODY.indexOf('[1,{')), /^b: not valid JSON: the body ends before .*\(truncated\) \(after 2 items/],
      [`${BODY}{}`, /^b: not valid JSON: /],
      ['<html>down</html>', /^b: not valid JSON: /],
      ['[1,2]', /^b: the body is not a JSON object: it is a JSON array, expected the \{elements\} object/],
      ['"x"', /the body is not a JSON object: it is a bare JSON value/],
      ['{"elements":{}}', /elements is an object, expected an array/],
      ['{"elements":"none"}', /elements is "none", expected an array/],
    ];
    for (const [body, message] of cases) {
      await assertFailure(
        collect(arrayRecords(chunks(body, 16), { at: ['elements'], where: 'b', expected: 'the {elements} object' })),
        FailureType.InvalidPayload,
        (f) => {
          assert.equal(f.nonRetryable, true);
          assert.match(f.message, message);
        },
      );
    }
  });

  test('bytes that are not UTF-8 fail at their offset; a failing byte source passes through untouched', async () => {
    const bad = Buffer.concat([Buffer.from('{"a":"C'), Buffer.from([0xf4]), Buffer.from('te","data":[]}')]);
    await assertFailure(
      collect(
        arrayRecords(
          (async function* () {
            yield bad;
          })(),
          { at: ['data'], where: 'b' },
        ),
      ),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /^b: not valid UTF-8 at byte 7 .*a JSON body must be UTF-8/),
    );
    const dropped = new Error('socket hang up');
    async function* cut() {
      yield Buffer.from('{"data":[1,');
      throw dropped;
    }
    await assert.rejects(collect(arrayRecords(cut(), { at: ['data'], where: 'b' })), (err) => err === dropped);
  });

  test('an item is handed out before the rest of the body has arrived', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield Buffer.from('{"data":[{"id":1},');
      await released;
      yield Buffer.from('{"id":2}]}');
    }
    const ids: unknown[] = [];
    for await (const item of arrayRecords(slow(), { at: ['data'], where: 'b', numbers: 'number' })) {
      ids.push((item as { id: number }).id);
      release();
    }
    assert.deepEqual(ids, [1, 2]);
  });
});

describe('walkJson', () => {
  test('enter, assemble and skip by path; close per entered container; emits in body order', async () => {
    const body = '{"data":{"sets":[{"series":{"0:1":{"obs":{"2020":[1.50],"2021":[2]}}},"skip":[1,2,3]}]},"x":1}';
    const decided: string[] = [];
    const records = await collect(
      walkJson<string>(
        chunks(body, 3),
        {
          decide(path: JsonPath, kind) {
            decided.push(`${path.join('/')}:${kind}`);
            const p = path.join('/');
            if (/^data(\/sets(\/0(\/series(\/[^/]+(\/obs)?)?)?)?)?$/.test(p)) return 'enter';
            return /\/obs\/\d+$/.test(p) ? 'assemble' : 'skip';
          },
          value(path, value, emit) {
            emit(`${path.at(-3)} ${path.at(-1)} ${JSON.stringify(value)}`);
          },
          close(path, emit) {
            if (path.length === 5) emit(`end of ${path[4]}`);
          },
        },
        { where: 'w' },
      ),
    );
    assert.deepEqual(records, ['0:1 2020 ["1.50"]', '0:1 2021 ["2"]', 'end of 0:1']);
    assert.ok(decided.includes('data/sets/0/skip:array') && decided.includes('x:scalar'), decided.join(' '));
    assert.ok(!decided.some((d) => d.startsWith('data/sets/0/skip/')), 'nothing inside a skipped value is asked about');
  });
});
