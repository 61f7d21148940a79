// The one text-encoding rule (sources/kit/encoding.ts): BOM, then strict UTF-8, then the
// declared override for files that are not UTF-8, else InvalidPayload naming the byte offset.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { csvRecords } from '../../sources/kit/csv';
import { decodeText, EncodingParam, firstInvalidUtf8, type TextEncoding } from '../../sources/kit/encoding';
import { HttpClient } from '../../sources/kit/http/http-client';
import { arrayRecords } from '../../sources/kit/json-stream';
import { type Envelope, envelopeRecords } from '../../sources/specs/comtrade';
import { startFixtureServer } from '../fixtures/fixture-server';
import { assertFailure, collect } from '../helpers/assertions';

const LABELS = ["Côte d'Ivoire", 'Curaçao', 'Türkiye', 'São Tomé and Príncipe'];

/** The bytes as chunks of `size` bytes (1 = every multi-byte sequence split across chunks). */
async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function decode(bytes: Buffer, encoding?: TextEncoding, size = 7): Promise<string> {
  let text = '';
  for await (const part of decodeText(chunks(bytes, size), { encoding, where: 'test.csv' })) text += part;
  return text;
}

const latin1 = (text: string) => Buffer.from(text, 'latin1');
const utf8 = (text: string) => Buffer.from(text, 'utf8');

describe('decodeText', () => {
  const text = `area\n${LABELS.join('\n')}\n`;

  test('BOM-less UTF-8 is UTF-8, whatever the chunking and whatever the override', async () => {
    for (const size of [1, 2, 3, 5, 64, 1 << 16]) assert.equal(await decode(utf8(text), undefined, size), text);
    assert.equal(await decode(utf8(text), 'latin1'), text, 'valid UTF-8 wins over a latin1 override');
    assert.equal(await decode(utf8(text), 'windows-1252'), text);
  });

  test('a byte-order mark decides, and is dropped', async () => {
    assert.equal(await decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(text)]), 'latin1', 1), text);
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    assert.equal(await decode(le, undefined, 3), text);
    const be = Buffer.from(le);
    be.swap16();
    assert.equal(await decode(be, undefined, 5), text);
    assert.equal(await decode(Buffer.alloc(0)), '', 'an empty file is empty text');
  });

  test('latin1 and windows-1252 files are read with the override, byte for byte', async () => {
    for (const size of [1, 4, 1 << 16]) assert.equal(await decode(latin1(text), 'latin1', size), text);
    // 0x80 is the euro sign in windows-1252 and a control character in latin1.
    const cp = Buffer.concat([utf8('price\n'), Buffer.from([0x80, 0x20, 0xe9]), utf8('\n')]);
    assert.equal(await decode(cp, 'windows-1252'), 'price\n€ é\n');
    assert.equal(await decode(cp, 'latin1'), 'price\n\u0080 é\n');
    // A first invalid byte deep in the file, after ASCII only: still read in the override.
    const late = Buffer.concat([utf8(`${'x,'.repeat(50_000)}\n`), latin1('Curaçao\n')]);
    assert.equal(await decode(late, 'latin1', 4096), `${'x,'.repeat(50_000)}\nCuraçao\n`);
  });

  test('without an override, bytes that are not UTF-8 fail as InvalidPayload naming the byte offset', async () => {
    const bytes = latin1(`area\nBenin\n${LABELS[0]}\n`);
    const offset = bytes.indexOf(0xf4);
    assert.equal(offset, 12);
    for (const size of [1, 2, 12, 13, 1 << 16]) {
      await assertFailure(decode(bytes, undefined, size), FailureType.InvalidPayload, (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(f.message, /^test\.csv: not valid UTF-8 at byte 12 \(0xF4 0x74\)\. .*"encoding": "latin1"/);
      });
    }
    // Deep in the file, past several chunks and after multi-byte UTF-8 characters.
    const deep = Buffer.concat([utf8(`${'é'.repeat(40_000)}\n`), Buffer.from([0x41, 0xff, 0x42])]);
    await assertFailure(decode(deep, undefined, 4093), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /not valid UTF-8 at byte 80002 \(0xFF 0x42\)/),
    );
    // A sequence cut by the end of the file.
    await assertFailure(
      decode(Buffer.concat([utf8('ok\n'), Buffer.from([0xc3])]), undefined, 1),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /ends inside a multi-byte sequence at byte 3/),
    );
  });

  test('a file mixing encodings fails even with an override (decoded text never changes meaning)', async () => {
    const mixed = Buffer.concat([utf8(`${LABELS[1]}\n`), latin1(`${LABELS[2]}\n`)]);
    await assertFailure(decode(mixed, 'latin1', 3), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /^test\.csv: mixes encodings: .*before byte 10, then bytes \(0xFC 0x72\)/),
    );
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), latin1('Curaçao')]);
    await assertFailure(decode(bom, 'latin1'), FailureType.InvalidPayload, (f) =>
      assert.match(
        f.message,
        /not valid UTF-8 at byte 7 \(0xE7 0x61\), although it starts with a UTF-8 byte-order mark/,
      ),
    );
  });

  test('firstInvalidUtf8: overlongs, surrogates, out-of-range and stray continuation bytes', () => {
    assert.equal(firstInvalidUtf8(utf8('Türkiye 😀')), -1);
    assert.equal(firstInvalidUtf8(Buffer.from([0x41, 0xc0, 0x80])), 1, 'overlong NUL');
    assert.equal(firstInvalidUtf8(Buffer.from([0xe0, 0x80, 0x80])), 0, 'overlong 3-byte');
    assert.equal(firstInvalidUtf8(Buffer.from([0x41, 0x42, 0xed, 0xa0, 0x80])), 2, 'surrogate');
    assert.equal(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80])), 0, 'above U+10FFFF');
    assert.equal(firstInvalidUtf8(Buffer.from([0x41, 0x80])), 1, 'stray continuation');
    assert.equal(firstInvalidUtf8(Buffer.from([0x41, 0xe2, 0x82])), -1, 'cut by the end: undecided');
  });

  test('the stream it reads is closed when the reader stops early', async () => {
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 100; i++) yield utf8('abc\n');
      } finally {
        closed = true;
      }
    }
    for await (const _ of decodeText(source())) break;
    assert.equal(closed, true);
  });
});

describe('EncodingParam', () => {
  test('aliases, case-insensitive; anything else names the choices', () => {
    assert.equal(EncodingParam.parse('UTF8'), 'utf-8');
    assert.equal(EncodingParam.parse('ISO-8859-1'), 'latin1');
    assert.equal(EncodingParam.parse('cp1252'), 'windows-1252');
    assert.match(
      String(EncodingParam.safeParse('ebcdic').error?.issues[0]?.message),
      /^encoding must be one of utf-8, latin1, windows-1252/,
    );
  });
});

describe('csvRecords (every CSV connector)', () => {
  test('non-ASCII labels round-trip from UTF-8 and latin1 files; invalid bytes never become labels', async () => {
    const rows = async (bytes: Buffer, encoding?: TextEncoding) => {
      const out: string[] = [];
      for await (const r of csvRecords(chunks(bytes, 5), { encoding, where: 'areas.csv' })) out.push(r.area ?? '');
      return out;
    };
    const csv = `code,area\n${LABELS.map((l, i) => `${i},"${l}"`).join('\n')}\n`;
    assert.deepEqual(await rows(utf8(csv)), LABELS);
    assert.deepEqual(await rows(latin1(csv), 'latin1'), LABELS);
    await assertFailure(rows(latin1(csv)), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /^areas\.csv: not valid UTF-8 at byte 14 /),
    );
  });
});

describe('JSON from APIs is strict UTF-8', () => {
  // {"area":"Côte d'Ivoire"} with the ô written as one latin1 byte (0xF4) at offset 10.
  const good = utf8(`{"area":"${LABELS[0]}","elements":[{"name":"${LABELS[3]}"}]}`);
  const bad = Buffer.concat([utf8('{"area":"C'), Buffer.from([0xf4]), utf8(`te d'Ivoire","elements":[]}`)]);

  test('HttpClient.getJson / readText (World Bank, MODIS, catalogues): InvalidPayload naming the byte', async () => {
    const server = await startFixtureServer((req) => ({
      headers: { 'content-type': 'application/json' },
      body: req.path === '/bad' ? bad : good,
    }));
    try {
      const http = new HttpClient({ sourceName: 'test', rateLimitPerSecond: 1000, timeoutMs: 5000 });
      assert.deepEqual(await http.getJson(`${server.url}/good`), {
        area: LABELS[0],
        elements: [{ name: LABELS[3] }],
      });
      await assertFailure(http.getJson(`${server.url}/bad`), FailureType.InvalidPayload, (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(
          f.message,
          /^test: http:\/\/127\.0\.0\.1:\d+\/bad sent a body that is not valid UTF-8 at byte 10$/,
        );
      });
    } finally {
      await server.close();
    }
  });

  test('streamed bodies (Comtrade, Overpass): InvalidPayload naming the byte, whatever the chunking', async () => {
    const envelope = (): Envelope => ({ fields: {}, data: 'missing' });
    for (const size of [1, 4, 1 << 16]) {
      await assertFailure(
        collect(envelopeRecords(chunks(bad, size), 'UN Comtrade preview', envelope())),
        FailureType.InvalidPayload,
        (f) =>
          assert.match(
            f.message,
            /^UN Comtrade preview: not valid UTF-8 at byte 10 \(0xF4 0x74\): a JSON body must be UTF-8/,
          ),
      );
      await assertFailure(
        collect(
          arrayRecords(chunks(bad, size), {
            at: ['elements'],
            keep: (key) => key === 'area',
            members: {},
            where: 'Overpass tile 1/1',
          }),
        ),
        FailureType.InvalidPayload,
        (f) => assert.match(f.message, /^Overpass tile 1\/1: not valid UTF-8 at byte 10 /),
      );
    }
    const members: Record<string, unknown> = {};
    const items = await collect(
      arrayRecords(chunks(good, 1), {
        at: ['elements'],
        keep: (key) => key === 'area',
        members,
        where: 'Overpass tile 1/1',
      }),
    );
    assert.deepEqual([members.area, items], [LABELS[0], [{ name: LABELS[3] }]]);
  });
});
