// The one masking rule (lib/redact.ts): every occurrence, every encoded form, truncated echoes, errors
// with their cause chains, and URLs. Assertions never print the text under test, so a failure cannot put
// the (test) secret into the test output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import {
  MASK,
  MIN_PREFIX,
  redactError,
  redactSecrets,
  redactUrl,
  redactUrlsInText,
  SecretMasker,
} from '../../lib/redact';
import { redactUrl as httpRedactUrl } from '../../sources/kit/http/http-client';

// Characters that every encoding spells differently: space, +, /, &, =, a non-ASCII letter.
const SECRET = 'Zq9+/x y&=é-4f6b1c2d3e0a9b8c';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

const ENCODED: Record<string, string> = {
  raw: SECRET,
  encodeURIComponent: encodeURIComponent(SECRET),
  encodeURI: encodeURI(SECRET),
  'form encoding (+ for space)': new URLSearchParams({ k: SECRET }).toString().slice(2),
  'lower-case percent escapes': encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  'JSON-escaped': JSON.stringify(SECRET).slice(1, -1),
  base64: b64(SECRET),
  'base64 without padding': b64(SECRET).replace(/=+$/, ''),
  base64url: b64url(SECRET),
};

/** Passes when no spelling of the secret (nor its first MIN_PREFIX characters) is left in `text`. */
function assertClean(text: string, what: string): void {
  for (const [name, form] of Object.entries({ ...ENCODED, 'first 8 characters': SECRET.slice(0, MIN_PREFIX) })) {
    assert.ok(!text.includes(form), `${what}: the ${name} form is still there`);
  }
}

for (const [name, form] of Object.entries(ENCODED)) {
  test(`masks the ${name} form, every occurrence, and keeps the text around it`, () => {
    const text = `first ${form} then "${form}" and again ${form}.`;
    const masked = redactSecrets(text, [SECRET]);
    assertClean(masked, name);
    assert.ok(masked === `first ${MASK} then "${MASK}" and again ${MASK}.`, `${name}: the surrounding text changed`);
  });
}

test('masks the secret inside a longer base64 text, at each of the three byte alignments', () => {
  for (const pad of ['', 'x', 'xy', 'body: ']) {
    for (const encode of [b64, b64url]) {
      const masked = redactSecrets(`echo ${encode(`${pad}${SECRET} trailing`)}`, [SECRET]);
      assert.ok(masked.includes(MASK), `alignment ${pad.length}: nothing masked`);
      // The raw secret cannot be recovered from what is left: decoding the remainder shows no 8-char run.
      const rest = masked.slice('echo '.length).split(MASK).join('');
      assert.ok(!Buffer.from(rest, 'base64').toString('latin1').includes(SECRET.slice(0, MIN_PREFIX)));
      assert.ok(rest.length <= 24, `alignment ${pad.length}: too much of the encoding is left`);
    }
  }
});

test(`masks a truncated echo of ${MIN_PREFIX} or more characters, not of fewer`, () => {
  const key = 'c0ffee00deadbeef1234567890abcdef';
  for (const n of [MIN_PREFIX, 12, 20, key.length - 1]) {
    const masked = redactSecrets(`invalid key ${key.slice(0, n)}... (truncated)`, [key]);
    assert.ok(masked === `invalid key ${MASK}... (truncated)`, `a ${n}-character prefix is not masked`);
  }
  // base64 of a cut-short key: masked up to the last few characters that depend on the cut.
  const cut = redactSecrets(`token ${b64(key.slice(0, 16))}`, [key]);
  assert.ok(cut.startsWith(`token ${MASK}`) && cut.length <= `token ${MASK}`.length + 4, 'cut base64 not masked');
  // A gateway that upper-cases a hex key is still caught (ASCII case is ignored).
  assert.ok(redactSecrets(`key ${key.toUpperCase()}`, [key]) === `key ${MASK}`, 'an upper-cased key is not masked');
  // Shorter than MIN_PREFIX is ordinary text (a secret's first letters are not a secret).
  const short = redactSecrets(`hex ${key.slice(0, MIN_PREFIX - 1)}`, [key]);
  assert.ok(short === `hex ${key.slice(0, MIN_PREFIX - 1)}`, `a ${MIN_PREFIX - 1}-character prefix was masked`);
});

test('masks every secret of a request, overlapping echoes included, and nothing when there is none', () => {
  const a = 'first-secret-aaaaaaaa';
  const b = 'second-secret-bbbbbbbb';
  const masked = redactSecrets(`${a} ${b} ${a}${b} ${encodeURIComponent(b)}`, [a, b, undefined, '']);
  assert.ok(!masked.includes('secret'), 'a secret is left');
  assert.ok(masked.split(MASK).length - 1 >= 4, 'not every occurrence is masked');
  assert.equal(redactSecrets('plain text', []), 'plain text');
  assert.equal(redactSecrets('plain text', [undefined, null, '']), 'plain text');
  assert.ok(new SecretMasker([undefined]).empty);
});

test('an error keeps its class, type and retry behaviour; message, stack, properties and cause chain are masked', () => {
  const root = Object.assign(new Error(`socket to ${b64(SECRET)} reset`), { code: 'ECONNRESET', detail: SECRET });
  const middle = new TypeError(`fetch failed for key=${encodeURIComponent(SECRET)}`, { cause: root });
  const failure = ApplicationFailure.create({
    message: `source answered HTTP 401: invalid key ${SECRET}`,
    type: 'SourceRejected',
    nonRetryable: true,
    nextRetryDelay: 1234,
    details: [`echo ${SECRET}`, 42],
    cause: middle,
  });
  const aggregate = new AggregateError([failure], `several: ${SECRET.slice(0, 10)}`);

  const out = redactError(aggregate, [SECRET]);
  assert.equal(out, aggregate, 'masked in place');
  assert.ok(out instanceof AggregateError);
  assertClean(out.message, 'aggregate message');
  assertClean(String(out.stack), 'aggregate stack');
  const f = out.errors[0] as ApplicationFailure;
  assert.ok(f instanceof ApplicationFailure);
  assert.equal(f.type, 'SourceRejected');
  assert.equal(f.nonRetryable, true);
  assert.equal(f.nextRetryDelay, 1234);
  assert.match(f.message, /HTTP 401: invalid key \*\*\*$/);
  assertClean(f.message, 'failure message');
  assertClean(String(f.stack), 'failure stack');
  assertClean(String(f.details?.[0]), 'failure details');
  assert.equal(f.details?.[1], 42);
  const c1 = f.cause as Error;
  assert.ok(c1 instanceof TypeError);
  assertClean(c1.message, 'cause message');
  assertClean(String(c1.stack), 'cause stack');
  const c2 = c1.cause as Error & { code: string; detail: string };
  assertClean(c2.message, 'root cause message');
  assertClean(String(c2.stack), 'root cause stack');
  assertClean(c2.detail, 'root cause property');
  assert.equal(c2.code, 'ECONNRESET');
});

test('an error that names no secret is returned untouched, and a cyclic cause chain terminates', () => {
  const plain = new Error('nothing to hide');
  const stack = plain.stack;
  assert.equal(redactError(plain, [SECRET]).message, 'nothing to hide');
  assert.equal(plain.stack, stack);
  const a = new Error(`a ${SECRET}`);
  const b = new Error(`b ${SECRET}`, { cause: a });
  (a as Error & { cause?: unknown }).cause = b;
  redactError(b, [SECRET]);
  assertClean(a.message + b.message, 'cyclic chain');
  assert.equal(redactError(`text ${SECRET}`, [SECRET]), `text ${MASK}`);
});

test('redactUrl masks a password and credential parameters, keeps everything else', () => {
  assert.equal(httpRedactUrl, redactUrl, 'the HTTP client uses the same implementation');
  const url = `https://user:${encodeURIComponent('p@ss')}@api.example.org/v1/data?subscription-key=abc&api_key=x&token=t&format=json&Password=p`;
  const out = new URL(redactUrl(url));
  assert.equal(out.username, 'user');
  assert.equal(out.password, encodeURIComponent(MASK));
  assert.equal(out.searchParams.get('subscription-key'), MASK);
  assert.equal(out.searchParams.get('api_key'), MASK);
  assert.equal(out.searchParams.get('token'), MASK);
  assert.equal(out.searchParams.get('Password'), MASK);
  assert.equal(out.searchParams.get('format'), 'json');
  assert.equal(out.pathname, '/v1/data');
  assert.equal(redactUrl('not a url'), '<unparseable url>');
  assert.equal(redactUrl('https://api.example.org/x?page=2'), 'https://api.example.org/x?page=2');
});

test('redactUrlsInText masks URL passwords in free text, parseable or not', () => {
  const masked = redactUrlsInText(
    'DATABASE_URL=postgres://tedi:s3cr/et@pw@db.internal:5432/tedi and mysql://u:hunter22@h then https://h/x?token=abc&page=2',
  );
  assert.ok(
    !masked.includes('s3cr') && !masked.includes('et@pw') && !masked.includes('hunter22'),
    'a password is left',
  );
  assert.ok(!masked.includes('abc'), 'a token is left');
  assert.match(masked, /postgres:\/\/tedi:\*\*\*@db\.internal:5432\/tedi/);
  assert.match(masked, /mysql:\/\/u:\*\*\*@h/);
  assert.match(masked, /\?token=\*\*\*&page=2/);
  assert.equal(redactUrlsInText('postgres://db.internal:5432/tedi'), 'postgres://db.internal:5432/tedi');
});
