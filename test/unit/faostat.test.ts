// The FAOSTAT connector over real loopback HTTP against a fixture that speaks both routes: the bulk
// catalogue and zip (streamed through a temporary file) and the account-only JSON API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { NO_AUTH, type SourceAuth } from '../../sources/kit/http/auth';
import { RowRejected } from '../../sources/kit/types';
import {
  type FaostatParams,
  FaostatParamsSchema,
  faostatConnector,
  resolveSourceUrl,
  transformFaostatRecord,
} from '../../sources/specs/faostat';
import {
  buildBulkZip,
  CATALOGUE_PATH,
  createFaostatFixture,
  FAOSTAT_ACCOUNT,
  FAOSTAT_COLUMNS,
  type FaostatFixture,
  type FaostatRow,
  faostatCsv,
} from '../fixtures/faostat';
import {
  type FixtureRequest,
  type FixtureResponse,
  type FixtureServer,
  jsonResponse,
  startFixtureServer,
  textResponse,
} from '../fixtures/fixture-server';
import { zipBuffer } from '../fixtures/zip';
import { assertFailure, collect } from '../helpers/assertions';
import { type TestSourceContext, testSourceContext } from '../helpers/source-context';

const CATALOGUE = CATALOGUE_PATH.slice(1);

let server: FixtureServer;
let fx: FaostatFixture;
/** Answers instead of the fixture when it returns a response (per test; reset before each). */
let intercept: (req: FixtureRequest) => FixtureResponse | Promise<FixtureResponse> | undefined;

before(async () => {
  server = await startFixtureServer((req) => intercept(req) ?? fx.handler(req));
});
after(async () => {
  await server?.close();
});
beforeEach(() => {
  fx = createFaostatFixture();
  fx.publicUrl = server.url;
  intercept = () => undefined;
  server.faults.clear();
  server.requests.length = 0;
});

function ctx(params: Record<string, unknown> = {}, auth: SourceAuth = NO_AUTH): TestSourceContext<FaostatParams> {
  return testSourceContext(faostatConnector, {
    baseUrl: server.url,
    params: { bulkCatalogUrl: CATALOGUE, ...params },
    auth,
  });
}
/** The api route with the auth the catalog's config resolves to: bearer, from a login at auth/login. */
const apiCtx = (params: Record<string, unknown> = {}, account: Partial<typeof FAOSTAT_ACCOUNT> = {}) =>
  ctx(
    { route: 'api', ...params },
    {
      type: 'bearer_login',
      loginUrl: `${server.url}/auth/login`,
      username: account.username ?? FAOSTAT_ACCOUNT.username,
      password: account.password ?? FAOSTAT_ACCOUNT.password,
    },
  );

/** The fixture's own answer with only the first half of its body: valid framing, broken content. */
async function halfOf(req: FixtureRequest): Promise<FixtureResponse> {
  const res = await fx.handler(req);
  const body = Buffer.from(res.body);
  return { ...res, body: body.subarray(0, Math.floor(body.length / 2)) };
}

const tempDirs = () =>
  fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`tedi-spool-${process.pid}-faostat-`));
const rowsOf = (records: unknown[], params: FaostatParams) => records.flatMap((r) => transformFaostatRecord(r, params));

describe('FAOSTAT params', () => {
  test('defaults: bulk route, QCL, Benin, the real bulk catalogue', () => {
    const p = FaostatParamsSchema.parse({});
    assert.deepEqual(p, {
      route: 'bulk',
      datasetCode: 'QCL',
      areas: ['53'],
      bulkCatalogUrl: 'https://bulks-faostat.fao.org/production/datasets_E.json',
    });
  });

  test('errors name the field', () => {
    const issues = (params: unknown) =>
      FaostatParamsSchema.safeParse(params)
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
    assert.match(String(issues({ areas: ['Benin'] })), /^areas\.0: .*FAO area codes such as "53"/);
    assert.match(String(issues({ areas: ['53', '53'] })), /areas lists a code twice/);
    assert.match(String(issues({ route: 'api', areas: ["'204"] })), /^areas: the api route takes FAO area codes only/);
    assert.match(String(issues({ route: 'ftp' })), /^route: route must be "bulk"/);
    assert.match(String(issues({ area: ['53'] })), /unknown parameter area: the FAOSTAT connector takes/);
  });

  test('relative URLs are read under the source base URL; absolute ones are kept', () => {
    assert.equal(resolveSourceUrl('http://h/faostat/', '/bulks/d.json'), 'http://h/faostat/bulks/d.json');
    assert.equal(resolveSourceUrl('http://h/faostat', 'https://x.org/d.json'), 'https://x.org/d.json');
  });
});

describe('FAOSTAT bulk route', () => {
  test('probe: the token is DateUpdate|FileRows|FileSize of the configured dataset', async () => {
    const c = ctx();
    const first = await faostatConnector.probe(c);
    assert.match(String(first.token), /^2024-12-18\|24\|\d+KB$/);
    assert.equal(server.requests.length, 1, 'the probe reads only the catalogue');
    fx.setDateUpdate('2025-06-30');
    const second = await faostatConnector.probe(c);
    assert.match(String(second.token), /^2025-06-30\|24\|/);
  });

  test('fetch: Benin by FAO code, UTF-8 decoded, streamed through a temp file that is removed', async () => {
    const before = tempDirs();
    const c = ctx();
    const records = await collect(faostatConnector.fetch(c));
    assert.equal(records.length, 12);
    assert.deepEqual(Object.keys(records[0] as object), [...FAOSTAT_COLUMNS]);
    assert.ok(records.every((r) => (r as FaostatRow).Area === 'Benin'));
    assert.deepEqual(tempDirs(), before, 'the temporary zip is gone');
    assert.ok(c.logs.includes('FAOSTAT bulk file read'));

    const rows = rowsOf(records, c.params);
    assert.equal(rows.length, 12);
    assert.deepEqual(rows[0], {
      seriesKey: 'QCL|53|56|5312',
      dimensions: { area: '53', item: '56', element: '5312' },
      period: '2020',
      value: '111000',
      unit: 'ha',
      attributes: { area: 'Benin', item: 'Maize (corn)', element: 'Area harvested', flag: 'A' },
    });
    const missing = rows.find((r) => r.seriesKey === 'QCL|53|125|5312' && r.period === '2022');
    assert.equal(missing?.value, null, 'an empty cell is a null value');
    assert.equal(missing?.attributes?.flag, 'M');
    const noted = rows.find((r) => r.seriesKey === 'QCL|53|56|5510');
    assert.equal(noted?.attributes?.note, 'Unofficial figure');
  });

  test('areas: M49 codes with the apostrophe, mixed codes, and [] for every area', async () => {
    assert.equal((await collect(faostatConnector.fetch(ctx({ areas: ["'204"] })))).length, 12);
    assert.equal((await collect(faostatConnector.fetch(ctx({ areas: ['53', "'384"] })))).length, 24);
    const all = (await collect(faostatConnector.fetch(ctx({ areas: [] })))) as FaostatRow[];
    assert.equal(all.length, 24);
    assert.ok(
      all.some((r) => r.Area === "Côte d'Ivoire"),
      'UTF-8 bytes (no BOM) decode to "Côte", not "CÃ´te"',
    );
  });

  test('non-ASCII labels round-trip from the UTF-8 file; a latin1 file needs params.encoding, else fails at its byte', async () => {
    const names = ["Côte d'Ivoire", 'Curaçao', 'Türkiye', 'São Tomé and Príncipe'];
    const items = ['Maïs', 'Manioc, frais'];
    for (const r of fx.data.rows) {
      if (r['Area Code'] === '107') r.Area = names[Number(r.Year) % names.length]!;
      r.Item = items[r['Item Code'] === '56' ? 0 : 1]!;
    }
    const params = FaostatParamsSchema.parse({ areas: ['107'] });
    const rows = rowsOf(await collect(faostatConnector.fetch(ctx({ areas: ['107'] }))), params);
    assert.deepEqual(
      [...new Set(rows.map((r) => `${r.attributes?.area} / ${r.attributes?.item}`))].sort(),
      [
        "Côte d'Ivoire / Maïs",
        "Côte d'Ivoire / Manioc, frais",
        'Curaçao / Maïs',
        'Curaçao / Manioc, frais',
        'Türkiye / Maïs',
        'Türkiye / Manioc, frais',
      ].sort(),
    );

    const csv = faostatCsv(fx.data.rows);
    fx.zipOverride = await buildBulkZip(Buffer.from(csv, 'latin1'));
    const firstByte = Buffer.from(csv, 'latin1').findIndex((b) => b >= 0x80);
    await assertFailure(collect(faostatConnector.fetch(ctx({ areas: ['107'] }))), FailureType.InvalidPayload, (f) => {
      assert.equal(f.nonRetryable, true);
      assert.match(f.message, /_All_Data_\(Normalized\)\.csv: not valid UTF-8 at byte (\d+) \(0x[0-9A-F]{2} /);
      assert.equal(Number(/at byte (\d+)/.exec(f.message)?.[1]), firstByte);
    });
    const latin1 = rowsOf(await collect(faostatConnector.fetch(ctx({ areas: ['107'], encoding: 'latin1' }))), params);
    assert.deepEqual(latin1, rows, 'the declared encoding reads the latin1 file to the same rows');
  });

  test('a filter that matches none of the rows is an empty snapshot, with a hint naming params.areas', async () => {
    const c = ctx({ areas: ['9999'] });
    assert.equal((await collect(faostatConnector.fetch(c))).length, 0);
    // The snapshot guard (activities/store/snapshot-guard.ts) refuses it; the connector only explains it.
    assert.match(faostatConnector.snapshot?.emptyHint?.(c.params) ?? '', /no rows for areas 9999: check params\.areas/);
  });

  test('the consumer stopping early still removes the temp file', async () => {
    const before = tempDirs();
    for await (const _ of faostatConnector.fetch(ctx())) break;
    assert.deepEqual(tempDirs(), before);
  });

  test('zipUrl overrides FileLocation (relative to the base URL)', async () => {
    const records = await collect(faostatConnector.fetch(ctx({ zipUrl: fx.zipPath })));
    assert.equal(records.length, 12);
    assert.equal(server.requests.at(-1)?.path, fx.zipPath);
  });

  test('the catalogue: malformed, missing dataset, bad entry', async () => {
    const serve = (body: unknown) => {
      intercept = (req) => (req.path === CATALOGUE_PATH ? jsonResponse(body) : undefined);
    };
    serve({ Datasets: { Dataset: 'nope' } });
    await assertFailure(faostatConnector.probe(ctx()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /Datasets\.Dataset: expected a list of datasets/),
    );
    serve({ Datasets: { Dataset: [{ DatasetCode: 'RL' }, { DatasetCode: 'QV' }] } });
    await assertFailure(faostatConnector.probe(ctx()), FailureType.ConfigurationError, (f) =>
      assert.match(f.message, /no dataset "QCL" \(params\.datasetCode\); it lists RL, QV/),
    );
    const entry = {
      DatasetCode: 'QCL',
      DateUpdate: '2024-12-18',
      FileLocation: 'x.zip',
      FileRows: 'many',
      FileSize: '1KB',
    };
    serve({ Datasets: { Dataset: [entry] } });
    await assertFailure(faostatConnector.probe(ctx()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /Datasets\.Dataset\[0\] \(QCL\): FileRows: expected a row count such as 4129950/),
    );
  });

  test('broken archives are invalid payloads: not a zip, no normalized entry, header only, wrong header, bad CSV, truncated', async () => {
    const before = tempDirs();
    const expectPayload = async (zip: Buffer, pattern: RegExp) => {
      fx.zipOverride = zip;
      await assertFailure(collect(faostatConnector.fetch(ctx())), FailureType.InvalidPayload, (f) =>
        assert.match(f.message, pattern),
      );
    };
    await expectPayload(Buffer.from('<html>maintenance</html>'), /bulk zip .*: not a readable zip: /);
    await expectPayload(
      await zipBuffer([{ name: 'Production_Crops_Livestock_E_Flags.csv', data: 'Flag\r\n' }]),
      /no \*_All_Data_\(Normalized\)\.csv entry; the zip holds Production_Crops_Livestock_E_Flags\.csv/,
    );
    await expectPayload(await buildBulkZip(faostatCsv([])), /has a header but no rows/);
    await expectPayload(
      await buildBulkZip('"Area Code","Area","Item","Year","Value"\r\n"53","Benin","Maize","2020","1"\r\n'),
      /the CSV header lacks "Item Code", "Element Code", "Element", "Unit"/,
    );
    await expectPayload(
      await buildBulkZip(`${faostatCsv([])}"53","'204","Benin,"56"\r\n`),
      /_All_Data_\(Normalized\)\.csv: Invalid Closing Quote: got "5" at line 2/,
    );
    fx.zipOverride = null;
    intercept = (req) => (req.path === fx.zipPath ? halfOf(req) : undefined);
    await assertFailure(collect(faostatConnector.fetch(ctx())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /not a readable zip/),
    );
    assert.deepEqual(tempDirs(), before, 'no temp file is left behind by a failure');
  });

  test('HTTP failures keep their retry semantics: 5xx retryable, 4xx not, 429 waits Retry-After', async () => {
    server.faults.failNext(1, 503);
    await assertFailure(faostatConnector.probe(ctx()), FailureType.SourceUnavailable);
    server.faults.failNext(1, 404);
    await assertFailure(faostatConnector.probe(ctx()), FailureType.SourceRejected, (f) =>
      assert.equal(f.nonRetryable, true),
    );
    server.faults.failNext(1, 429, { retryAfter: 7 });
    await assertFailure(faostatConnector.probe(ctx()), FailureType.RateLimited, (f) =>
      assert.equal(f.nextRetryDelay, 7000),
    );
  });

  test('a 5xx on the zip download itself is retryable', async () => {
    intercept = (req) => (req.path === fx.zipPath ? textResponse('bad gateway', 502) : undefined);
    await assertFailure(collect(faostatConnector.fetch(ctx())), FailureType.SourceUnavailable, (f) =>
      assert.equal(f.nonRetryable, false),
    );
  });

  test('heartbeats while scanning a large file', async () => {
    const template = fx.data.rows[0]!;
    fx.data.rows = Array.from({ length: 60_000 }, (_, i) => ({
      ...template,
      'Area Code': i < 10 ? '53' : '999',
      Year: String(1000 + i),
    }));
    const c = ctx();
    const records = await collect(faostatConnector.fetch(c));
    assert.equal(records.length, 10);
    assert.deepEqual(c.heartbeats.at(-1), { stage: 'fetch', scanned: 50_000, matched: 10 });
  });
});

describe('FAOSTAT transform', () => {
  const params = FaostatParamsSchema.parse({});
  const base = () => ({ ...createFaostatFixture().data.rows[0]! }) as Record<string, unknown>;

  test('rejects a bad row with its codes and the field at fault', () => {
    assert.throws(
      () => transformFaostatRecord({ ...base(), Value: 'n/a' }, params),
      (err: Error) => err instanceof RowRejected && /area 53 item 56 element 5312 year 2020: Value: /.test(err.message),
    );
    assert.throws(
      () => transformFaostatRecord({ ...base(), Year: '' }, params),
      (err: Error) => err instanceof RowRejected && /Year: /.test(err.message),
    );
  });

  test('API-style numbers and exponents become plain decimal strings', () => {
    const [row] = transformFaostatRecord({ ...base(), 'Area Code': 53, Year: 2020, Value: 1.5e21 }, params);
    assert.equal(row?.seriesKey, 'QCL|53|56|5312');
    assert.equal(row?.period, '2020');
    assert.equal(row?.value, '1500000000000000000000');
  });
});

describe('FAOSTAT api route', () => {
  test('probe logs in, then reads date_update of the domain with the bearer token', async () => {
    const probe = await faostatConnector.probe(apiCtx());
    assert.equal(probe.token, '2024-12-18');
    const [login, domains] = server.requests;
    assert.equal(login?.method, 'POST');
    assert.equal(login?.path, '/auth/login');
    assert.equal(new URLSearchParams(login?.body).get('username'), FAOSTAT_ACCOUNT.username);
    assert.match(String(domains?.headers.authorization), /^Bearer [0-9a-f-]{36}$/);
  });

  test('fetch streams the data records; they transform to exactly the bulk route rows', async () => {
    const c = apiCtx();
    const records = await collect(faostatConnector.fetch(c));
    assert.equal(records.length, 12);
    const query = server.requests.at(-1)?.query;
    assert.equal(query?.get('area'), '53');
    assert.equal(query?.get('output_type'), 'objects');
    const bulk = await collect(faostatConnector.fetch(ctx()));
    assert.deepEqual(rowsOf(records, c.params), rowsOf(bulk, c.params));
  });

  test('the bulk text "12.500000" and the API number 12.5 give the identical observation', async () => {
    fx.setValue('53', '56', '5312', '2020', '12.500000');
    const api = await collect(faostatConnector.fetch(apiCtx()));
    const bulk = await collect(faostatConnector.fetch(ctx()));
    const pick = (records: unknown[]) =>
      records.find(
        (r) =>
          (r as FaostatRow)['Item Code'] === '56' &&
          (r as FaostatRow).Year === '2020' &&
          (r as FaostatRow)['Element Code'] === '5312',
      );
    assert.equal((pick(bulk) as FaostatRow).Value, '12.500000', 'the bulk file spells it with zeros');
    assert.equal((pick(api) as { Value: unknown }).Value, 12.5, 'the API sends a JSON number');
    const params = FaostatParamsSchema.parse({});
    const [fromBulk] = transformFaostatRecord(pick(bulk), params);
    const [fromApi] = transformFaostatRecord(pick(api), params);
    assert.equal(fromBulk?.value, '12.5');
    assert.deepEqual(fromApi, fromBulk);
  });

  test('bad credentials: a non-retryable failure saying how to set them, never the password', async () => {
    await assertFailure(
      faostatConnector.probe(apiCtx({}, { password: 'wrong-password' })),
      FailureType.SourceRejected,
      (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(f.message, /HTTP 400: NotAuthorizedException: Incorrect username or password\./);
        assert.match(f.message, /data_source_configs\.username/);
        assert.doesNotMatch(f.message, /wrong-password/);
      },
    );
  });

  test('the api route with no auth configured is a configuration error naming what to set, before any request', async () => {
    // (A bearer auth without its password or user name fails earlier, in prepareSource: test/unit/auth.test.ts.)
    for (const run of [
      () => faostatConnector.probe(ctx({ route: 'api' })),
      () => collect(faostatConnector.fetch(ctx({ route: 'api' }))),
    ]) {
      await assertFailure(run(), FailureType.ConfigurationError, (f) => {
        assert.match(f.message, /the FAOSTAT api route needs an account, and the source sends none/);
        assert.match(f.message, /auth_type 'bearer' with bearer_login_url 'auth\/login'/);
        assert.match(f.message, /npm run tedi -- set-key faostat-test --username/);
      });
    }
    assert.equal(server.requests.length, 0);
  });

  test('one login for the probe and the fetch of one attempt (one client); the token goes only to the API', async () => {
    const c = apiCtx();
    await faostatConnector.probe(c);
    await collect(faostatConnector.fetch(c));
    const logins = server.requests.filter((r) => r.path === '/auth/login');
    assert.equal(logins.length, 1);
    const token = /^Bearer (.+)$/.exec(String(server.requests[1]?.headers.authorization))?.[1];
    assert.ok(token);
    for (const r of server.requests.slice(1)) {
      assert.equal(r.headers.authorization, `Bearer ${token}`);
      assert.ok(!r.body.includes(FAOSTAT_ACCOUNT.password), 'the password goes only to the login');
    }
    assert.ok(!c.logs.some((l) => l.includes(token) || l.includes(FAOSTAT_ACCOUNT.password)));
  });

  test('zero rows for the area filter is an empty snapshot (refused by the store guard, not here)', async () => {
    assert.equal((await collect(faostatConnector.fetch(apiCtx({ areas: ['9999'] })))).length, 0);
  });

  test('malformed bodies: truncated JSON, no "data" array', async () => {
    const isData = (req: FixtureRequest) => req.path.startsWith('/en/data/');
    intercept = (req) => (isData(req) ? halfOf(req) : undefined);
    await assertFailure(collect(faostatConnector.fetch(apiCtx())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /not a JSON \{"data":\[…\]\} body: /),
    );
    intercept = (req) => (isData(req) ? jsonResponse({ metadata: {}, rows: [] }) : undefined);
    await assertFailure(collect(faostatConnector.fetch(apiCtx())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /the body has no "data" array/),
    );
  });

  test('a 5xx on the data request is retryable, a 401 is not', async () => {
    let status = 500;
    intercept = (req) => (req.path.startsWith('/en/data/') ? textResponse('upstream error', status) : undefined);
    await assertFailure(collect(faostatConnector.fetch(apiCtx())), FailureType.SourceUnavailable);
    status = 401;
    await assertFailure(collect(faostatConnector.fetch(apiCtx())), FailureType.SourceRejected);
  });
});
