// The kit's streamed JSON reader (sources/kit/json-stream.ts) for files of rows, tested once here: a body
// that is the array (`at: []`), the file's declared encoding, the spec's own wording for "not an array",
// failures left for the caller to name (where ""), and the JsonSyntaxError cause that tells a broken body
// from one of another shape. test/unit/source-kit-json-stream.test.ts covers the rest of the reader.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import {
  type ArrayRecordsEnd,
  type ArrayRecordsOptions,
  arrayRecords,
  JsonSyntaxError,
} from '../../sources/kit/json-stream';
import { assertFailure, collect } from '../helpers/assertions';

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** The records of `text` and what the reader returned. */
async function drain(text: string | Buffer, opts: ArrayRecordsOptions, size = 3) {
  let end: ArrayRecordsEnd | undefined;
  const items = await collect(
    (async function* () {
      end = yield* arrayRecords(chunks(Buffer.from(text), size), opts);
    })(),
  );
  return { items, end };
}

const ROWS = { at: [], where: 'rows.json' } as const;

describe('a body that is the array (at: [])', () => {
  test('its items one by one, numbers as text; an empty array is zero records', async () => {
    assert.deepEqual(await drain('[{"k":"a","v":0.10},42,[1]]', ROWS), {
      items: [{ k: 'a', v: '0.10' }, '42', ['1']],
      end: { array: 'array', records: 3 },
    });
    assert.deepEqual((await drain('[]', ROWS)).end, { array: 'array', records: 0 });
  });

  test('an object or a bare value is not the array: the default reason, or the spec’s own', async () => {
    await assertFailure(
      collect(arrayRecords(chunks(Buffer.from('{"data":[]}'), 4), ROWS)),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /^rows\.json: the body is an object, expected an array/),
    );
    const notAnArray = (found: string) => `expected an array of rows, found ${found}: set params.jsonPath`;
    const cases: [string, string][] = [
      ['{"data":[]}', 'an object'],
      ['"none"', 'a bare JSON value'],
    ];
    for (const [body, found] of cases) {
      await assertFailure(
        collect(arrayRecords(chunks(Buffer.from(body), 4), { ...ROWS, notAnArray })),
        FailureType.InvalidPayload,
        (f) =>
          assert.match(f.message, new RegExp(`^rows\\.json: expected an array of rows, found ${found}: set params`)),
      );
    }
  });

  test('a body cut off before its closing bracket is broken JSON', async () => {
    await assertFailure(
      collect(arrayRecords(chunks(Buffer.from('[{"k":"a"},{"k"'), 4), ROWS)),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /^rows\.json: not valid JSON: .*\(after 1 items of "the body"\)/),
    );
  });
});

describe('files of rows', () => {
  test('the wording for "not an array" applies at a path too', async () => {
    await assertFailure(
      collect(
        arrayRecords(chunks(Buffer.from('{"result":{"items":{"a":1}}}'), 5), {
          at: ['result', 'items'],
          where: 'x.json',
          notAnArray: (found) => `expected an array of rows at jsonPath "result.items", found ${found}`,
        }),
      ),
      FailureType.InvalidPayload,
      (f) =>
        assert.match(f.message, /^x\.json: expected an array of rows at jsonPath "result\.items", found an object/),
    );
  });

  test('a declared encoding reads a latin1 file; without it, the bytes must be UTF-8', async () => {
    const latin1 = Buffer.from('[{"commune":"Sèmè-Podji"}]', 'latin1');
    assert.deepEqual((await drain(latin1, { ...ROWS, text: { encoding: 'latin1' } })).items, [
      { commune: 'Sèmè-Podji' },
    ]);
    await assertFailure(collect(arrayRecords(chunks(latin1, 64), ROWS)), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /^rows\.json: not valid UTF-8 at byte 14 \(0xE8 0x6D\): a JSON body must be UTF-8/),
    );
  });

  test('where "" leaves failures unprefixed, for a caller that names the file itself', async () => {
    await assertFailure(
      collect(arrayRecords(chunks(Buffer.from('{}'), 4), { at: [], where: '' })),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /^the body is an object, expected an array/),
    );
  });

  test('broken bodies have a JsonSyntaxError cause; well-formed bodies of another shape do not', async () => {
    const causeOf = async (body: string) => {
      try {
        await collect(arrayRecords(chunks(Buffer.from(body), 4), { at: ['data'], where: 'b' }));
      } catch (err) {
        assert.ok(err instanceof ApplicationFailure, String(err));
        return err.cause;
      }
      return assert.fail(`expected a failure for ${body}`);
    };
    for (const broken of ['', '{"data":[1,', '<html>', '{"data":[]}x']) {
      assert.ok((await causeOf(broken)) instanceof JsonSyntaxError, JSON.stringify(broken));
    }
    for (const shaped of ['[1]', '{"data":{}}', '{"data":"x"}']) {
      assert.equal(await causeOf(shaped), undefined, shaped);
    }
  });
});
