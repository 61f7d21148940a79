// data_source_configs decides how a source's credential is sent: prepareSource (in an activity context) reads
// the row from a real PostgreSQL, and the HttpClient it builds sends exactly that, to a loopback server that
// records every header and URL; UN Comtrade and FAOSTAT run on what the configuration sends, not on keys of
// their own. A configuration that cannot work fails in prepareSource, before any request, as a non-retryable
// ConfigurationError naming the source, the column and the fix, never the secret; nor does a secret reach a
// log line. Assertions never print a secret.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApplicationFailure, type LogLevel, type LogMetadata } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../activities/deps';
import { type PreparedSource, prepareSource } from '../../activities/ingestion/source-context';
import { type Database, openDatabase } from '../../lib/db';
import { FailureType } from '../../lib/failures';
import { encryptSecret } from '../../lib/secrets';
import { BENIN_CHAPTERS, ComtradeFixture } from '../fixtures/comtrade';
import { CATALOGUE_PATH, createFaostatFixture, FAOSTAT_ACCOUNT, type FaostatFixture } from '../fixtures/faostat';
import { type FixtureServer, jsonResponse, type RecordedRequest, startFixtureServer } from '../fixtures/fixture-server';
import { collect } from '../helpers/assertions';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

const SECRET_KEY = 'b'.repeat(64);
const KEY = 'c0ffee00deadbeef1234567890abcdef';
const PASSWORD = 'pw: s3cret/+=Pa55';

let database: TestDatabase;
let db: Database;
let deps: ActivityDeps;
let server: FixtureServer;
let comtrade: ComtradeFixture;
let faostat: FaostatFixture;
/** Log lines of every activity run here (message and metadata). */
const logs: string[] = [];

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url, { max: 2 });
  deps = { db, secretKey: SECRET_KEY };
  server = await startFixtureServer((req) => {
    const [, mount = '', ...rest] = req.path.split('/');
    const inner = { ...req, path: `/${rest.join('/')}` };
    if (mount === 'comtrade') return comtrade.handler(inner);
    if (mount === 'faostat') return faostat.handler(inner);
    return jsonResponse({ ok: true });
  });
});
after(async () => {
  await server?.close();
  await db?.close();
  await database?.stop();
});
beforeEach(() => {
  server.requests.length = 0;
  comtrade = new ComtradeFixture(['2022', '2023'], BENIN_CHAPTERS, { apiKey: KEY });
  faostat = createFaostatFixture();
  faostat.publicUrl = `${server.url}/faostat`;
});

interface ConfigRow {
  authType?: 'none' | 'api_key' | 'bearer' | 'basic';
  key?: string | null;
  apiKeyParam?: string | null;
  apiKeyIn?: 'header' | 'query';
  bearerLoginUrl?: string | null;
  username?: string | null;
}

let sequence = 0;

/** A source row with its config, dataset and version, as the catalog makes them; returns the version id. */
async function source(
  connector: string,
  params: object,
  config: ConfigRow,
  mount = 'echo',
): Promise<{ name: string; versionId: number }> {
  const name = `${connector.replace(/[^a-z]/g, '_')}_${++sequence}`;
  const s = await db.prisma.dataSource.create({
    data: {
      name,
      title: name,
      url: 'https://example.org/',
      organization: 'test',
      vertical: 'business',
      connector,
      updateFrequency: 'annual',
      params,
    },
  });
  await db.prisma.dataSourceConfig.create({
    data: {
      dataSourceId: s.id,
      baseUrl: `${server.url}/${mount}`,
      authType: config.authType ?? 'none',
      apiKeyEncrypted: config.key ? encryptSecret(config.key, SECRET_KEY) : null,
      apiKeyParam: config.apiKeyParam ?? null,
      apiKeyIn: config.apiKeyIn ?? 'header',
      bearerLoginUrl: config.bearerLoginUrl ?? null,
      username: config.username ?? null,
      rateLimitPerSecond: 1000,
      timeoutMs: 5000,
      maxRetries: 0,
    },
  });
  const dataset = await db.prisma.dataset.create({
    data: { slug: name, title: name, vertical: 'business', dataSourceId: s.id },
  });
  const version = await db.prisma.datasetVersion.create({
    data: { datasetId: dataset.id, dataSourceId: s.id, version: 'current' },
  });
  return { name, versionId: version.id };
}

const logger = {
  log: (level: LogLevel, message: string, meta?: LogMetadata) =>
    void logs.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`),
  trace: (m: string, meta?: LogMetadata) => logger.log('TRACE', m, meta),
  debug: (m: string, meta?: LogMetadata) => logger.log('DEBUG', m, meta),
  info: (m: string, meta?: LogMetadata) => logger.log('INFO', m, meta),
  warn: (m: string, meta?: LogMetadata) => logger.log('WARN', m, meta),
  error: (m: string, meta?: LogMetadata) => logger.log('ERROR', m, meta),
};

/** One activity attempt: prepareSource, then `work` with what it built, in one activity context. */
function attempt<T>(
  versionId: number,
  work: (p: PreparedSource) => Promise<T> = async () => undefined as T,
): Promise<T> {
  return new MockActivityEnvironment({}, { logger }).run(async () => work(await prepareSource(deps, versionId)));
}

/** The whole request as text: method, URL, body and every header. */
const everything = (r: RecordedRequest) =>
  [r.method, r.url, r.body, ...Object.entries(r.headers).map(([k, v]) => `${k}: ${String(v)}`)].join('\n');

/** Every spelling a secret could take: raw, URL- and form-encoded, base64. */
const spellings = (secret: string) => [
  secret,
  encodeURIComponent(secret),
  new URLSearchParams({ s: secret }).toString().slice(2),
  Buffer.from(secret).toString('base64'),
];
const absent = (text: string, secret: string) => spellings(secret).every((form) => !text.includes(form));

/** The headers a request carries besides the client's own. */
const STANDARD_HEADERS = [
  'accept',
  'accept-encoding',
  'accept-language',
  'connection',
  'host',
  'sec-fetch-mode',
  'user-agent',
];
const extraHeaders = (r: RecordedRequest) =>
  Object.keys(r.headers)
    .filter((h) => !STANDARD_HEADERS.includes(h))
    .sort();

describe('each auth type, read from PostgreSQL, sends exactly the configured credential in the configured place', () => {
  const CASES: Array<{ name: string; config: ConfigRow; headers: string[]; check(r: RecordedRequest): void }> = [
    {
      name: 'none (a stored key is not sent)',
      config: { authType: 'none', key: KEY },
      headers: [],
      check: (r) => assert.ok(absent(everything(r), KEY)),
    },
    {
      name: 'api_key in a header',
      config: { authType: 'api_key', key: KEY, apiKeyParam: 'X-Api-Key' },
      headers: ['x-api-key'],
      check: (r) => {
        assert.equal(r.headers['x-api-key'], KEY);
        assert.ok(absent(everything({ ...r, headers: { ...r.headers, 'x-api-key': '' } }), KEY));
      },
    },
    {
      name: 'api_key in the query',
      config: { authType: 'api_key', key: KEY, apiKeyParam: 'api_key', apiKeyIn: 'query' },
      headers: [],
      check: (r) => {
        assert.deepEqual(
          [...r.query],
          [
            ['q', '1'],
            ['api_key', KEY],
          ],
        );
        assert.ok(absent(everything({ ...r, url: r.url.replace(`&api_key=${KEY}`, '') }), KEY));
      },
    },
    {
      name: 'bearer (the stored key is the token)',
      config: { authType: 'bearer', key: KEY },
      headers: ['authorization'],
      check: (r) => {
        assert.equal(r.headers.authorization, `Bearer ${KEY}`);
        assert.ok(absent(everything({ ...r, headers: { ...r.headers, authorization: '' } }), KEY));
      },
    },
    {
      name: 'basic',
      config: { authType: 'basic', key: PASSWORD, username: 'analyst' },
      headers: ['authorization'],
      check: (r) => {
        assert.equal(r.headers.authorization, `Basic ${Buffer.from(`analyst:${PASSWORD}`).toString('base64')}`);
        assert.ok(absent(everything({ ...r, headers: { ...r.headers, authorization: '' } }), PASSWORD));
      },
    },
  ];
  for (const c of CASES) {
    test(c.name, async () => {
      const { versionId } = await source('sdmx', { agency: 'X', dataflow: 'Y' }, c.config);
      await attempt(versionId, (p) => p.ctx.http.getJson(`${p.ctx.baseUrl}/anything?q=1`));
      assert.equal(server.requests.length, 1);
      const [r] = server.requests;
      assert.deepEqual(extraHeaders(r!), c.headers);
      c.check(r!);
    });
  }
});

describe('UN Comtrade and FAOSTAT run on the configured auth', () => {
  test('Comtrade: api_key in header Ocp-Apim-Subscription-Key reaches the keyed API, the key in no URL', async () => {
    const { versionId } = await source(
      'un_comtrade',
      { periods: ['2022', '2023'] },
      { authType: 'api_key', key: KEY, apiKeyParam: 'Ocp-Apim-Subscription-Key' },
      'comtrade',
    );
    const records = await attempt(versionId, async (p) => {
      await p.connector.probe(p.ctx);
      return collect(p.connector.fetch(p.ctx));
    });
    assert.equal(records.length, 4);
    assert.deepEqual(
      server.requests.map((r) => r.path),
      ['/comtrade/data/v1/getDa/C/A/HS', '/comtrade/data/v1/get/C/A/HS', '/comtrade/data/v1/get/C/A/HS'],
    );
    for (const r of server.requests) {
      assert.equal(r.headers['ocp-apim-subscription-key'], KEY);
      assert.deepEqual(extraHeaders(r), ['ocp-apim-subscription-key']);
      assert.ok(absent(r.url, KEY));
    }
  });

  test('Comtrade: api_key with no key stored is its keyless preview (credentialOptional), not an error', async () => {
    const { versionId } = await source(
      'un_comtrade',
      { periods: ['2022'] },
      { authType: 'api_key', apiKeyParam: 'Ocp-Apim-Subscription-Key' },
      'comtrade',
    );
    await attempt(versionId, async (p) => {
      assert.equal(p.ctx.http.authenticated, false);
      await p.connector.probe(p.ctx);
    });
    assert.deepEqual(
      server.requests.map((r) => r.path),
      ['/comtrade/public/v1/getDa/C/A/HS'],
    );
    assert.deepEqual(extraHeaders(server.requests[0]!), []);
  });

  test('FAOSTAT api route: one login per attempt (probe, then fetch in another attempt), the token masked', async () => {
    const { versionId } = await source(
      'faostat',
      { route: 'api' },
      {
        authType: 'bearer',
        bearerLoginUrl: 'auth/login',
        username: FAOSTAT_ACCOUNT.username,
        key: FAOSTAT_ACCOUNT.password,
      },
      'faostat',
    );
    logs.length = 0;
    const tokens: string[] = [];
    await attempt(versionId, async (p) => {
      await p.connector.probe(p.ctx);
      // A second request in the same attempt logs in no more.
      await p.connector.probe(p.ctx);
      const token = /^Bearer (.+)$/.exec(String(server.requests.at(-1)?.headers.authorization))?.[1];
      assert.ok(token);
      tokens.push(token);
      assert.ok(!p.ctx.http.redact(`echo ${token}`).includes(token), 'the token is masked in log lines');
      // A failure that quotes the token and the password leaves without them.
      const masked = p.ctx.http.redactError(
        ApplicationFailure.nonRetryable(
          `gateway said ${token} / ${FAOSTAT_ACCOUNT.password}`,
          FailureType.SourceRejected,
        ),
      );
      assert.ok(absent(masked.message, token) && absent(masked.message, FAOSTAT_ACCOUNT.password));
    });
    const records = await attempt(versionId, async (p) => collect(p.connector.fetch(p.ctx)));
    assert.equal(records.length, 12);
    const paths = server.requests.map((r) => r.path);
    assert.deepEqual(paths, [
      '/faostat/auth/login',
      '/faostat/en/domains',
      '/faostat/en/domains',
      '/faostat/auth/login',
      '/faostat/en/data/QCL',
    ]);
    const [login] = server.requests;
    assert.deepEqual(Object.fromEntries(new URLSearchParams(login?.body)), {
      username: FAOSTAT_ACCOUNT.username,
      password: FAOSTAT_ACCOUNT.password,
    });
    assert.deepEqual(extraHeaders(login!), ['content-length', 'content-type'], 'the login carries only the account');
    for (const r of server.requests.filter((r) => !r.path.endsWith('/auth/login'))) {
      assert.deepEqual(extraHeaders(r), ['authorization']);
      assert.ok(absent(everything(r), FAOSTAT_ACCOUNT.password));
    }
    assert.ok(
      logs.some((l) =>
        l.includes(`requests send bearer token from a login at ${server.url}/faostat/auth/login as analyst@`),
      ),
      'the activity log says how the source authenticates',
    );
    for (const secret of [...tokens, FAOSTAT_ACCOUNT.password])
      assert.ok(absent(logs.join('\n'), secret), 'a secret in a log line');
  });

  test('FAOSTAT bulk route: runs with bearer configured and no account; with an account, sends it nowhere', async () => {
    const bearer = { authType: 'bearer', bearerLoginUrl: 'auth/login' } as const;
    for (const config of [bearer, { ...bearer, username: FAOSTAT_ACCOUNT.username, key: FAOSTAT_ACCOUNT.password }]) {
      server.requests.length = 0;
      const { versionId } = await source(
        'faostat',
        { route: 'bulk', bulkCatalogUrl: CATALOGUE_PATH.slice(1) },
        config,
        'faostat',
      );
      await attempt(versionId, async (p) => p.connector.probe(p.ctx));
      // The catalogue sits under the base URL here (a mirror): the bulk route still never logs in.
      assert.deepEqual(
        server.requests.map((r) => r.path),
        [`/faostat${CATALOGUE_PATH}`],
      );
      assert.deepEqual(extraHeaders(server.requests[0]!), []);
    }
  });
});

describe('a configuration that cannot work fails before any request, naming the column and the fix', () => {
  const CASES: Array<{ name: string; connector?: string; params?: object; config: ConfigRow; message: RegExp[] }> = [
    {
      name: 'api_key without api_key_param',
      config: { authType: 'api_key', key: KEY },
      message: [/auth_type is api_key but data_source_configs\.api_key_param is empty/, /Ocp-Apim-Subscription-Key/],
    },
    {
      name: 'api_key with a header name that is not one',
      config: { authType: 'api_key', key: KEY, apiKeyParam: 'Api Key' },
      message: [/data_source_configs\.api_key_param "Api Key" is not a valid header name/],
    },
    {
      name: 'api_key without a stored key (a connector with no keyless mode)',
      config: { authType: 'api_key', apiKeyParam: 'X-Api-Key' },
      message: [
        /no key is stored \(data_source_configs\.api_key_encrypted is empty\)/,
        /`npm run tedi -- set-key SOURCE`/,
      ],
    },
    {
      name: 'bearer without a stored token',
      config: { authType: 'bearer' },
      message: [
        /auth_type is bearer but no token is stored \(data_source_configs\.api_key_encrypted/,
        /set-key SOURCE/,
      ],
    },
    {
      name: 'basic without a user name',
      config: { authType: 'basic', key: PASSWORD },
      message: [/auth_type is basic but data_source_configs\.username is empty/, /set-key SOURCE --username/],
    },
    {
      name: 'basic without a password',
      config: { authType: 'basic', username: 'analyst' },
      message: [
        /no password is stored \(data_source_configs\.api_key_encrypted is empty\)/,
        /set-key SOURCE --username/,
      ],
    },
    {
      name: 'a bearer login without a user name',
      config: { authType: 'bearer', bearerLoginUrl: 'auth/login', key: PASSWORD },
      message: [/auth_type is bearer with a login but data_source_configs\.username is empty/],
    },
    {
      name: 'a bearer login URL that is not one',
      config: { authType: 'bearer', bearerLoginUrl: 'ftp://example.org/login', key: PASSWORD, username: 'a' },
      message: [/data_source_configs\.bearer_login_url "ftp:\/\/example\.org\/login" is neither an http\(s\) URL/],
    },
    {
      name: "FAOSTAT's api route with bearer configured and no account",
      connector: 'faostat',
      params: { route: 'api' },
      config: { authType: 'bearer', bearerLoginUrl: 'auth/login' },
      message: [/auth_type is bearer but no password is stored/, /set-key SOURCE --username <account name>/],
    },
  ];
  for (const c of CASES) {
    test(c.name, async () => {
      const { name, versionId } = await source(
        c.connector ?? 'sdmx',
        c.params ?? { agency: 'X', dataflow: 'Y' },
        c.config,
      );
      logs.length = 0;
      await assert.rejects(attempt(versionId), (err) => {
        assert.ok(err instanceof ApplicationFailure, 'not an ApplicationFailure');
        assert.equal(err.type, FailureType.ConfigurationError);
        assert.equal(err.nonRetryable, true);
        assert.ok(err.message.startsWith(`Source "${name}": `), 'the source is not named first');
        for (const pattern of c.message) assert.match(err.message, new RegExp(pattern.source.replace('SOURCE', name)));
        for (const secret of [KEY, PASSWORD])
          assert.ok(absent(`${err.message}\n${err.stack}`, secret), 'a secret in the error');
        return true;
      });
      assert.equal(server.requests.length, 0, 'no request was made');
      for (const secret of [KEY, PASSWORD]) assert.ok(absent(logs.join('\n'), secret), 'a secret in a log line');
    });
  }
});
