// The source's credential as the HttpClient sends it (sources/kit/http/auth.ts), against real loopback
// servers that record every header, URL and body: each auth type puts exactly the configured credential in
// the configured place and nothing else anywhere; only the base URL's origin gets it (another host and a
// redirect there get none); a bearer login happens once per client (= per activity attempt); every value
// sent, the login's token included, is masked in what fails. Assertions never print a secret.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import type { SourceAuth } from '../../sources/kit/http/auth';
import { HttpClient } from '../../sources/kit/http/http-client';
import {
  type FixtureRequest,
  type FixtureServer,
  jsonResponse,
  type RecordedRequest,
  startFixtureServer,
  textResponse,
} from '../fixtures/fixture-server';

// Characters that read differently raw, URL-encoded and base64.
const KEY = 'k3y+/=&Zq9 0123456789abcdef';
const USER = 'analyst@example.org';
const PASSWORD = 'p@ss word/+=9876543210';
const TOKEN_PREFIX = 'tok-4f1c2b9e8d7a6-';

let api: FixtureServer;
let other: FixtureServer;
let logins = 0;
/** What the login answers; a test may change it. */
let loginAnswer: (req: FixtureRequest) => ReturnType<typeof jsonResponse>;

/** Every spelling a server could echo a secret in. */
const spellings = (secret: string) => [
  secret,
  encodeURIComponent(secret),
  new URLSearchParams({ s: secret }).toString().slice(2),
  Buffer.from(secret).toString('base64'),
];

/** The whole request as text: every header (name and value), the URL and the body. */
const everything = (r: RecordedRequest) =>
  [r.method, r.url, r.body, ...Object.entries(r.headers).map(([k, v]) => `${k}: ${String(v)}`)].join('\n');

function assertAbsent(text: string, secret: string, where: string): void {
  for (const form of spellings(secret)) assert.ok(!text.includes(form), `a credential reaches ${where}`);
}

/** Every text an error carries: message, stack, details and the cause chain. */
function texts(err: unknown): string {
  const out: string[] = [];
  for (let e = err as (Error & { details?: unknown }) | undefined, i = 0; e && i < 10; e = e.cause as Error, i++) {
    out.push(String(e.message), String(e.stack), JSON.stringify(e.details ?? null));
  }
  return out.join('\n');
}

before(async () => {
  other = await startFixtureServer(() => jsonResponse({ ok: true }));
  api = await startFixtureServer((req) => {
    if (req.path === '/login') {
      logins++;
      return loginAnswer(req);
    }
    if (req.path === '/same-origin-redirect')
      return { status: 302, headers: { location: '/data?after=redirect' }, body: '' };
    if (req.path === '/cross-origin-redirect') {
      return { status: 307, headers: { location: `${other.url}/elsewhere?x=1` }, body: '' };
    }
    // Echoes the request in full, as a careless gateway might: the failure must not carry it on.
    if (req.path === '/echo-401')
      return textResponse(`denied: ${everything({ ...req, url: `${req.path}?${req.query}` })}`, 401);
    return jsonResponse({ ok: true });
  });
});
after(async () => {
  await api?.close();
  await other?.close();
});
beforeEach(() => {
  api.requests.length = 0;
  other.requests.length = 0;
  logins = 0;
  loginAnswer = (req) => {
    const form = new URLSearchParams(req.body);
    if (form.get('username') !== USER || form.get('password') !== PASSWORD) {
      return jsonResponse(
        { __type: 'NotAuthorizedException', message: `Incorrect password ${form.get('password')}` },
        400,
      );
    }
    return jsonResponse({ AuthenticationResult: { AccessToken: `${TOKEN_PREFIX}${logins}`, TokenType: 'Bearer' } });
  };
});

const client = (scheme: SourceAuth) =>
  new HttpClient({
    sourceName: 'auth-test',
    rateLimitPerSecond: 1000,
    timeoutMs: 5000,
    auth: { scheme, baseUrl: api.url },
  });

const basic = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

/** Each auth type, what the server must see, and the secrets it sends. */
const CASES: Array<{
  name: string;
  scheme: SourceAuth;
  secrets: string[];
  check(r: RecordedRequest): void;
}> = [
  {
    name: 'api_key in a header',
    scheme: { type: 'api_key', location: 'header', param: 'Ocp-Apim-Subscription-Key', key: KEY },
    secrets: [KEY],
    check: (r) => {
      assert.equal(r.headers['ocp-apim-subscription-key'], KEY);
      assert.equal(r.headers.authorization, undefined);
      assertAbsent(everything({ ...r, headers: { ...r.headers, 'ocp-apim-subscription-key': '' } }), KEY, 'elsewhere');
    },
  },
  {
    name: 'api_key in the query',
    scheme: { type: 'api_key', location: 'query', param: 'api_key', key: KEY },
    secrets: [KEY],
    check: (r) => {
      assert.equal(r.query.get('api_key'), KEY);
      assert.equal(r.headers.authorization, undefined);
      const withoutParam = new URL(r.url, api.url);
      withoutParam.searchParams.delete('api_key');
      assertAbsent(everything({ ...r, url: withoutParam.toString() }), KEY, 'elsewhere');
    },
  },
  {
    name: 'bearer (the stored key is the token)',
    scheme: { type: 'bearer', token: KEY },
    secrets: [KEY],
    check: (r) => {
      assert.equal(r.headers.authorization, `Bearer ${KEY}`);
      assertAbsent(everything({ ...r, headers: { ...r.headers, authorization: '' } }), KEY, 'elsewhere');
    },
  },
  {
    name: 'basic',
    scheme: { type: 'basic', username: USER, password: PASSWORD },
    secrets: [PASSWORD, basic],
    check: (r) => {
      assert.equal(r.headers.authorization, `Basic ${basic}`);
      assertAbsent(everything({ ...r, headers: { ...r.headers, authorization: '' } }), PASSWORD, 'elsewhere');
    },
  },
];

describe('each auth type sends exactly the configured credential, in the configured place', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      await client(c.scheme).getJson(`${api.url}/data?x=1`);
      assert.equal(api.requests.length, 1);
      c.check(api.requests[0]!);
      assert.equal(api.requests[0]?.query.get('x'), '1', "the request's own query is kept");
    });
  }

  test('none: no credential at all', async () => {
    const c = client({ type: 'none' });
    assert.equal(c.authenticated, false);
    await c.getJson(`${api.url}/data?x=1`);
    const [r] = api.requests;
    assert.equal(r?.headers.authorization, undefined);
    assert.deepEqual(Object.keys(r?.headers ?? {}).sort(), [
      'accept',
      'accept-encoding',
      'accept-language',
      'connection',
      'host',
      'sec-fetch-mode',
      'user-agent',
    ]);
  });

  test('bearer from a login: the account goes only to the login, the token to the requests', async () => {
    const c = client({ type: 'bearer_login', loginUrl: `${api.url}/login`, username: USER, password: PASSWORD });
    assert.equal(c.authenticated, true);
    await c.getJson(`${api.url}/data?x=1`);
    const [login, data] = api.requests;
    assert.equal(login?.method, 'POST');
    assert.equal(login?.path, '/login');
    assert.deepEqual(Object.fromEntries(new URLSearchParams(login?.body)), { username: USER, password: PASSWORD });
    assert.equal(login?.headers.authorization, undefined, 'the login carries no other credential');
    assert.equal(data?.headers.authorization, `Bearer ${TOKEN_PREFIX}1`);
    assertAbsent(everything(data!), PASSWORD, 'the data request');
  });
});

describe('the credential goes to the base URL origin only', () => {
  for (const c of CASES) {
    test(`${c.name}: nothing to another host, or after a redirect there; again after a redirect home`, async () => {
      const http = client(c.scheme);
      await http.getJson(`${other.url}/elsewhere?x=1`);
      await http.getJson(`${api.url}/cross-origin-redirect?x=1`);
      assert.equal(other.requests.length, 2);
      for (const r of other.requests) {
        assert.equal(r.headers.authorization, undefined);
        for (const secret of c.secrets) assertAbsent(everything(r), secret, `${other.url}`);
      }
      api.requests.length = 0;
      await http.getJson(`${api.url}/same-origin-redirect?x=1`);
      const [redirect, final] = api.requests;
      assert.equal(final?.path, '/data');
      assert.equal(final?.query.get('after'), 'redirect');
      c.check(redirect!);
      c.check(final!);
    });
  }

  test('a request marked anonymous carries nothing, even to the origin', async () => {
    await client(CASES[0]!.scheme).request(`${api.url}/data`, { anonymous: true });
    assertAbsent(everything(api.requests[0]!), KEY, 'an anonymous request');
  });
});

describe('bearer login', () => {
  const scheme = (): SourceAuth => ({
    type: 'bearer_login',
    loginUrl: `${api.url}/login`,
    username: USER,
    password: PASSWORD,
  });

  test('once per client (activity attempt), however many requests, concurrent ones included; a new client logs in again', async () => {
    const first = client(scheme());
    await Promise.all([first.getJson(`${api.url}/a`), first.getJson(`${api.url}/b`), first.getJson(`${api.url}/c`)]);
    await first.getJson(`${api.url}/d`);
    assert.equal(logins, 1);
    const used = api.requests.filter((r) => r.path !== '/login').map((r) => r.headers.authorization);
    assert.deepEqual(used, new Array(4).fill(`Bearer ${TOKEN_PREFIX}1`));

    await client(scheme()).getJson(`${api.url}/e`);
    assert.equal(logins, 2);
    assert.equal(api.requests.at(-1)?.headers.authorization, `Bearer ${TOKEN_PREFIX}2`);
  });

  test('no request, no login: a client that only reaches other hosts never logs in', async () => {
    await client(scheme()).getJson(`${other.url}/elsewhere`);
    assert.equal(logins, 0);
  });

  test('the token and the account are masked in a failure that echoes them', async () => {
    const http = client(scheme());
    await assert.rejects(http.request(`${api.url}/echo-401`), (err) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureType.SourceRejected);
      const all = texts(err);
      assert.ok(all.includes('***'), 'nothing was masked (did the server echo?)');
      for (const secret of [`${TOKEN_PREFIX}1`, PASSWORD]) assertAbsent(all, secret, 'the error');
      return true;
    });
    assert.ok(!http.redact(`token ${TOKEN_PREFIX}1`).includes(TOKEN_PREFIX), 'log lines are masked too');
  });

  test('a refused account is a non-retryable SourceRejected naming the columns and set-key, never the password', async () => {
    const http = client({ ...scheme(), password: 'wrong-password-123' } as SourceAuth);
    await assert.rejects(http.getJson(`${api.url}/data`), (err) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureType.SourceRejected);
      assert.equal(err.nonRetryable, true);
      assert.match(
        err.message,
        /the login at http:\/\/127\.0\.0\.1:\d+\/login refused the account \(HTTP 400: NotAuthorizedException/,
      );
      assert.match(err.message, /data_source_configs\.username/);
      assert.match(err.message, /npm run tedi -- set-key auth-test --username/);
      assertAbsent(texts(err), 'wrong-password-123', 'the error');
      return true;
    });
    assert.equal(api.requests.filter((r) => r.path !== '/login').length, 0, 'no data request without a token');
  });

  test('an answer without a token is an InvalidPayload saying where it looked', async () => {
    loginAnswer = () => jsonResponse({ session: 'x' });
    await assert.rejects(client(scheme()).getJson(`${api.url}/data`), (err) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureType.InvalidPayload);
      assert.match(
        err.message,
        /answered without a token \(looked for AuthenticationResult\.AccessToken, access_token/,
      );
      return true;
    });
  });

  test('an OAuth-style access_token works as well', async () => {
    loginAnswer = () => jsonResponse({ access_token: `${TOKEN_PREFIX}oauth`, token_type: 'Bearer' });
    await client(scheme()).getJson(`${api.url}/data`);
    assert.equal(api.requests.at(-1)?.headers.authorization, `Bearer ${TOKEN_PREFIX}oauth`);
  });
});

describe('masking', () => {
  for (const c of CASES) {
    test(`${c.name}: a 401 that echoes the whole request leaves no trace of the credential in the error`, async () => {
      await assert.rejects(client(c.scheme).request(`${api.url}/echo-401?x=1`), (err) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, FailureType.SourceRejected);
        const all = texts(err);
        assert.ok(all.includes('***'), 'nothing was masked (did the server echo?)');
        for (const secret of c.secrets) assertAbsent(all, secret, 'the error');
        return true;
      });
    });
  }
});
