// API keys at rest (lib/secrets.ts) and at the connector boundary (sources/kit/secrets.ts):
// a key stored under another TEDI_SECRET_KEY is a ConfigurationError naming the source and the fix, and
// every failure a connector lets out is masked whoever built it. Assertions never print the texts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType, NON_RETRYABLE_FAILURES } from '../../lib/failures';
import { decryptStoredKey, encryptSecret, resolveSecretKey } from '../../lib/secrets';
import { HttpClient } from '../../sources/kit/http/http-client';
import { maskingConnector } from '../../sources/kit/secrets';
import { type Connector, RowRejected, type SourceContext } from '../../sources/kit/types';

const STORED_UNDER = 'ab'.repeat(32);
const CURRENT = 'cd'.repeat(32);
const API_KEY = 'c0ffee00deadbeef1234567890abcdef';

test('a stored key decrypts under the key it was stored with', () => {
  assert.ok(decryptStoredKey(encryptSecret(API_KEY, STORED_UNDER), STORED_UNDER, 'un_comtrade') === API_KEY);
});

test('a key stored under another TEDI_SECRET_KEY is a non-retryable ConfigurationError naming source and fix', () => {
  const sealed = encryptSecret(API_KEY, STORED_UNDER);
  for (const key of [CURRENT, 'ab'.repeat(16)]) {
    assert.throws(
      () => decryptStoredKey(sealed, key, 'un_comtrade'),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, FailureType.ConfigurationError);
        assert.equal(err.nonRetryable, true);
        assert.ok(NON_RETRYABLE_FAILURES.includes(FailureType.ConfigurationError));
        assert.ok(err.message.includes('"un_comtrade"'), 'the source is not named');
        assert.ok(err.message.includes('TEDI_SECRET_KEY does not match the key it was stored with'), 'no reason');
        assert.ok(err.message.includes('npm run tedi -- set-key un_comtrade'), 'no fix');
        for (const [what, secret] of Object.entries({ API_KEY, key, STORED_UNDER, sealed })) {
          assert.ok(!err.message.includes(secret.slice(0, 8)), `the message shows ${what}`);
        }
        return true;
      },
    );
  }
  assert.throws(
    () => decryptStoredKey('plain-text-key', CURRENT, 'unido'),
    (err: unknown) =>
      err instanceof ApplicationFailure &&
      err.type === FailureType.ConfigurationError &&
      err.message.includes('set-key unido') &&
      !err.message.includes('plain-text-key'),
  );
});

test('a corrupt local secret.key stops with its path and shape, never its content', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-secret-'));
  try {
    const content = 'not-a-key-but-a-secret-anyway';
    fs.writeFileSync(path.join(dir, 'secret.key'), `${content}\n`);
    assert.throws(
      () => resolveSecretKey(undefined, dir),
      (err: Error) =>
        err.message.includes(path.join(dir, 'secret.key')) &&
        err.message.includes(`${content.length} characters`) &&
        !err.message.includes(content.slice(0, 8)),
    );
    fs.writeFileSync(path.join(dir, 'secret.key'), `${CURRENT}\n`);
    assert.ok(resolveSecretKey(undefined, dir) === CURRENT);
    assert.ok(resolveSecretKey(STORED_UNDER, dir) === STORED_UNDER, 'TEDI_SECRET_KEY wins over the file');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every failure of a connector leaves masked, whoever built it; class, type and other fields are kept', async () => {
  const http = new HttpClient({ sourceName: 's', rateLimitPerSecond: 1000, timeoutMs: 1000, secrets: [API_KEY] });
  const echo = `plain ${API_KEY}, url ${encodeURIComponent(API_KEY)}, b64 ${Buffer.from(API_KEY).toString('base64')}, cut ${API_KEY.slice(0, 10)}`;
  const inner: Connector<{ n: number }, unknown> & { snapshot: string } = {
    name: 'leaky',
    paramsSchema: z.object({ n: z.number() }),
    snapshot: 'kept',
    async probe() {
      throw ApplicationFailure.nonRetryable(`probe refused: ${echo}`, FailureType.SourceRejected);
    },
    async *fetch() {
      yield { ok: 1 };
      throw new Error(`page 2: ${echo}`, { cause: new Error(`socket: ${echo}`) });
    },
    transform(raw) {
      if ((raw as { bad?: boolean }).bad) throw new RowRejected(`row echoes ${echo}`);
      return [];
    },
  };
  const masked = maskingConnector(inner, http);
  assert.equal(masked.name, 'leaky');
  assert.equal(masked.paramsSchema, inner.paramsSchema);
  assert.equal((masked as typeof inner).snapshot, 'kept');

  const clean = (text: string, what: string) => {
    assert.ok(text.includes('***'), `${what}: nothing masked`);
    for (const form of [API_KEY, encodeURIComponent(API_KEY), Buffer.from(API_KEY).toString('base64')]) {
      assert.ok(!text.includes(form.slice(0, 8)), `${what}: a form of the key is left`);
    }
  };
  const ctx = {} as SourceContext<{ n: number }>;
  await assert.rejects(masked.probe(ctx), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure && err.type === FailureType.SourceRejected && err.nonRetryable);
    clean(`${err.message}\n${err.stack}`, 'probe');
    return true;
  });
  const seen: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const r of masked.fetch(ctx)) seen.push(r);
    })(),
    (err: Error) => {
      clean(`${err.message}\n${err.stack}\n${(err.cause as Error).message}\n${(err.cause as Error).stack}`, 'fetch');
      return true;
    },
  );
  assert.deepEqual(seen, [{ ok: 1 }], 'records before the failure still stream through');
  assert.deepEqual(masked.transform({}, { n: 1 }), []);
  assert.throws(
    () => masked.transform({ bad: true }, { n: 1 }),
    (err: unknown) => {
      assert.ok(err instanceof RowRejected, 'a rejected row stays a RowRejected');
      clean(err.message, 'transform');
      return true;
    },
  );
});
