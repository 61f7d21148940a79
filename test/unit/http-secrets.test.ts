// The HTTP client masks every credential a request carried (header, query parameter, form field, URL
// password, or one it was given) in every error it builds: against a real loopback server that echoes
// the credential back raw, URL-encoded, form-encoded, base64, base64url and cut short, several times.
// Assertions never print the error text, so a failure cannot put the (test) secret into the output.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import { freePort } from '../../lib/infra/postgres';
import { HttpClient } from '../../sources/kit/http/http-client';
import { type FixtureRequest, type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';

// Space, +, /, =, & make every encoding differ from the raw form.
const KEY = 'Zq9+/x=y&z s3cr3t-0123456789abcdef';
const PASSWORD = 'p@ss word/+=9876543210';

function forms(secret: string): Record<string, string> {
  const b64 = Buffer.from(secret).toString('base64');
  return {
    raw: secret,
    encodeURIComponent: encodeURIComponent(secret),
    'form-encoded': new URLSearchParams({ k: secret }).toString().slice(2),
    base64: b64,
    base64url: Buffer.from(secret).toString('base64url'),
    'first 8 characters': secret.slice(0, 8),
    'first 12 characters': secret.slice(0, 12),
  };
}

/** The credential the request carried, whichever way it was sent. */
function credentialOf(req: FixtureRequest): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') return auth.replace(/^Bearer /, '');
  const header = req.headers['ocp-apim-subscription-key'] ?? req.headers.password;
  if (typeof header === 'string') return header;
  return req.query.get('subscription-key') ?? new URLSearchParams(req.body).get('password') ?? '';
}

/** A body quoting the credential in every form, each twice, and inside a base64 blob at an odd offset. */
function echoBody(secret: string): string {
  const parts = Object.entries(forms(secret)).map(([name, form]) => `${name}: ${form} (again: ${form})`);
  parts.push(`blob: ${Buffer.from(`x=${secret};`).toString('base64')}`);
  return parts.join(' | ');
}

let server: FixtureServer;
before(async () => {
  server = await startFixtureServer((req) => {
    const secret = credentialOf(req);
    const status = Number(req.path.slice(1)) || 200;
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (status === 429) headers['retry-after'] = '0';
    // 200 answers a body that is not JSON, for getJson's InvalidPayload.
    return { status, headers, body: `denied: ${echoBody(secret)}` };
  });
});
after(() => server?.close());

const client = (secrets?: string[]) =>
  new HttpClient({ sourceName: 'echo', rateLimitPerSecond: 1000, timeoutMs: 5000, secrets });

/** Every text an error carries into Temporal: message, stack, details and the whole cause chain. */
function texts(err: unknown): string {
  const out: string[] = [];
  for (let e = err as (Error & { details?: unknown }) | undefined, i = 0; e && i < 10; e = e.cause as Error, i++) {
    out.push(String(e.message), String(e.stack), JSON.stringify(e.details ?? null));
  }
  return out.join('\n');
}

function assertMasked(err: unknown, secret: string, what: string): void {
  const all = texts(err);
  for (const [name, form] of Object.entries(forms(secret))) {
    assert.ok(!all.includes(form), `${what}: the ${name} form of the credential reaches the error`);
  }
  assert.ok(all.includes('***'), `${what}: nothing was masked (did the server echo anything?)`);
}

const ROUTES: Array<{ name: string; send(c: HttpClient, path: string): Promise<unknown>; secret: string }> = [
  {
    name: 'a key header',
    secret: KEY,
    send: (c, path) => c.request(`${server.url}${path}`, { headers: { 'Ocp-Apim-Subscription-Key': KEY } }),
  },
  {
    name: 'a bearer token',
    secret: KEY,
    send: (c, path) => c.getJson(`${server.url}${path}`, { headers: { authorization: `Bearer ${KEY}` } }),
  },
  {
    name: 'a query parameter',
    secret: KEY,
    send: (c, path) => c.getJson(`${server.url}${path}?${new URLSearchParams({ 'subscription-key': KEY })}`),
  },
  {
    name: 'a form field',
    secret: PASSWORD,
    send: (c, path) =>
      c.request(`${server.url}${path}`, {
        method: 'POST',
        body: new URLSearchParams({ username: 'someone', password: PASSWORD }),
      }),
  },
  {
    name: 'a password header',
    secret: PASSWORD,
    send: (c, path) => c.getJson(`${server.url}${path}`, { method: 'POST', headers: { Password: PASSWORD } }),
  },
];

for (const route of ROUTES) {
  test(`${route.name}: echoed in every encoding, it reaches no error; types and retry behaviour are kept`, async () => {
    const cases = [
      { path: '/401', type: FailureType.SourceRejected, nonRetryable: true },
      { path: '/500', type: FailureType.SourceUnavailable, nonRetryable: false },
      { path: '/429', type: FailureType.RateLimited, nonRetryable: false },
    ];
    for (const c of cases) {
      await assert.rejects(route.send(client(), c.path), (err) => {
        assert.ok(err instanceof ApplicationFailure, `${c.path}: not an ApplicationFailure`);
        assert.equal(err.type, c.type);
        assert.equal(err.nonRetryable, c.nonRetryable);
        assert.ok(err.message.includes(`HTTP ${c.path.slice(1)}`), `${c.path}: the status is not named`);
        assertMasked(err, route.secret, `${route.name} ${c.path}`);
        return true;
      });
    }
  });
}

test('a body that is not JSON is an InvalidPayload whose quoted start is masked', async () => {
  const c = client();
  await assert.rejects(c.getJson(`${server.url}/200`, { headers: { authorization: `Bearer ${KEY}` } }), (err) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, FailureType.InvalidPayload);
    assert.ok(err.message.includes('did not return JSON'), 'not the JSON failure');
    assertMasked(err, KEY, 'not JSON');
    return true;
  });
});

test('a credential the client was only given (never sent) is masked too, and so is text a connector builds', async () => {
  const c = client([PASSWORD]);
  // The server echoes what the request carried: here the password travels in an unrecognised header.
  await assert.rejects(c.request(`${server.url}/401`, { headers: { 'x-thing': 'y', password: PASSWORD } }), (err) => {
    assertMasked(err, PASSWORD, 'given secret');
    return true;
  });
  const connectorText = c.redact(`envelope error: ${echoBody(PASSWORD)}`);
  for (const [name, form] of Object.entries(forms(PASSWORD))) {
    assert.ok(!connectorText.includes(form), `redact(): the ${name} form is left`);
  }
  const built = c.redactError(ApplicationFailure.nonRetryable(`refused ${PASSWORD}`, FailureType.SourceRejected));
  assert.equal(built.type, FailureType.SourceRejected);
  assert.ok(!built.message.includes(PASSWORD) && !String(built.stack).includes(PASSWORD), 'redactError() left it');
});

test('a refused connection to a URL with a key and a password leaves both out of the error and its causes', async () => {
  const port = await freePort();
  const url = `http://someone:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/x?api_key=${encodeURIComponent(KEY)}`;
  await assert.rejects(client().request(url), (err) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, FailureType.SourceUnavailable);
    assert.ok(err.cause, 'the network cause is kept');
    for (const [what, secret] of [
      ['key', KEY],
      ['password', PASSWORD],
    ] as const) {
      for (const [name, form] of Object.entries(forms(secret))) {
        assert.ok(!texts(err).includes(form), `the ${name} form of the ${what} reaches the error`);
      }
    }
    return true;
  });
});
