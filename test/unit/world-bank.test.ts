import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { HttpClient } from '../../sources/kit/http/http-client';
import { RowRejected, type SourceContext } from '../../sources/kit/types';
import {
  parseWorldBankPage,
  type WorldBankParams,
  WorldBankParamsSchema,
  type WorldBankRequest,
  worldBankConnector,
} from '../../sources/specs/world-bank';
import { type FixtureHandler, type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import {
  createWorldBankFixture,
  DEFAULT_YEARS,
  defaultWorldBankData,
  WORLD_BANK_ERROR_ENVELOPE,
  type WorldBankFixtureOptions,
} from '../fixtures/world-bank';
import { assertFailure, collect } from '../helpers/assertions';

const INDICATORS = ['AG.PRD.CROP.XD', 'SL.UEM.TOTL.ZS', 'IC.BUS.NREG'];
const YEARS = DEFAULT_YEARS.last - DEFAULT_YEARS.first + 1;
const REQ: WorldBankRequest = { indicator: 'AG.PRD.CROP.XD', countries: ['BJ'] };

type TestContext = SourceContext<WorldBankParams> & { heartbeats: Record<string, unknown>[] };

/** A SourceContext over real loopback HTTP; params go through the connector's schema, defaults included. */
function sourceContext(baseUrl: string, params: unknown, timeoutMs = 2000): TestContext {
  const heartbeats: Record<string, unknown>[] = [];
  return {
    sourceName: 'world-bank-test',
    baseUrl,
    params: WorldBankParamsSchema.parse(params),
    credentials: {},
    event: null,
    http: new HttpClient({ sourceName: 'world-bank-test', rateLimitPerSecond: 1000, timeoutMs }),
    heartbeat: (details) => heartbeats.push(details),
    log: () => {},
    heartbeats,
  };
}

const meta = (overrides: Record<string, unknown> = {}) => ({
  page: 1,
  pages: 1,
  per_page: 50,
  total: 1,
  sourceid: '2',
  lastupdated: '2024-05-30',
  ...overrides,
});

const record = (overrides: Record<string, unknown> = {}) => ({
  indicator: { id: 'AG.PRD.CROP.XD', value: 'Crop production index (2014-2016 = 100)' },
  country: { id: 'BJ', value: 'Benin' },
  countryiso3code: 'BEN',
  date: '2022',
  value: 104.5,
  unit: '',
  obs_status: '',
  decimal: 0,
  ...overrides,
});

describe('World Bank page parsing', () => {
  test('per_page (and other counts) as numeric strings', () => {
    const page = parseWorldBankPage([meta({ per_page: '50', total: '1' }), [record()]], REQ);
    assert.equal(page.meta.per_page, 50);
    assert.equal(page.meta.total, 1);
    assert.equal(page.records.length, 1);
  });

  test('null records on an empty result are zero rows', () => {
    const empty = [{ page: 0, pages: 0, per_page: 0, total: 0, sourceid: null, lastupdated: null }, null];
    assert.deepEqual(parseWorldBankPage(empty, REQ).records, []);
  });

  test('null records while total > 0 is an InvalidPayload', async () => {
    await assertFailure(
      () => parseWorldBankPage([meta({ total: 3 }), null], REQ),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /total 3/),
    );
  });

  test('error envelope → non-retryable SourceRejected naming the indicator', async () => {
    await assertFailure(
      () => parseWorldBankPage(WORLD_BANK_ERROR_ENVELOPE, { ...REQ, indicator: 'NOT.AN.INDICATOR' }),
      FailureType.SourceRejected,
      (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(f.message, /NOT\.AN\.INDICATOR/);
        assert.match(f.message, /The provided parameter value is not valid/);
      },
    );
  });

  test('a body off the format → InvalidPayload naming the zod path', async () => {
    const cases: [unknown, RegExp][] = [
      [[meta({ per_page: 'fifty' }), []], /\[0\]\.per_page/],
      [[meta()], /\(root\): Too small/],
      [[meta({ lastupdated: 'May 2024' }), []], /\[0\]\.lastupdated/],
      [[meta(), { rows: [] }], /\[1\]/],
      [{ page: 1 }, /\(root\)/],
    ];
    for (const [body, path] of cases) {
      await assertFailure(
        () => parseWorldBankPage(body, REQ),
        FailureType.InvalidPayload,
        (f) => {
          assert.equal(f.nonRetryable, true);
          assert.match(f.message, path);
          assert.match(f.message, /AG\.PRD\.CROP\.XD/);
        },
      );
    }
  });
});

describe('World Bank transform', () => {
  const transform = (raw: unknown) =>
    worldBankConnector.transform(raw, WorldBankParamsSchema.parse({ indicators: ['X'] }));

  test('maps a record to one observation', () => {
    assert.deepEqual(transform(record()), [
      {
        seriesKey: 'AG.PRD.CROP.XD|BEN',
        period: '2022',
        value: '104.5',
        unit: null,
        attributes: { indicator: 'Crop production index (2014-2016 = 100)', country: 'Benin', decimal: 0 },
        dimensions: { indicator: 'AG.PRD.CROP.XD', country: 'BEN' },
      },
    ]);
  });

  test('null value stays null; numbers take the one canonical spelling (no exponents, no trailing zeros)', () => {
    assert.equal(transform(record({ value: null }))[0]?.value, null);
    assert.equal(transform(record({ value: '12.50' }))[0]?.value, '12.5');
    assert.equal(transform(record({ value: 1e21 }))[0]?.value, '1000000000000000000000');
    assert.equal(transform(record({ value: -1.5e-7 }))[0]?.value, '-0.00000015');
    assert.equal(transform(record({ value: '2.50e2' }))[0]?.value, '250');
  });

  test('falls back to country.id when countryiso3code is empty; keeps unit and flags', () => {
    const [row] = transform(
      record({ countryiso3code: '', country: { id: '1W', value: 'World' }, unit: '%', obs_status: 'E' }),
    );
    assert.equal(row?.seriesKey, 'AG.PRD.CROP.XD|1W');
    assert.equal(row?.unit, '%');
    assert.equal(row?.attributes?.obs_status, 'E');
  });

  test('a bad row → RowRejected with a readable reason', () => {
    assert.throws(
      () => transform(record({ value: 'n/a' })),
      (err: unknown) =>
        err instanceof RowRejected && /AG\.PRD\.CROP\.XD BEN 2022/.test(err.message) && /value/.test(err.message),
    );
    assert.throws(
      () => transform(record({ date: undefined })),
      (err: unknown) => err instanceof RowRejected && /date/.test(err.message),
    );
    assert.throws(() => transform(null), RowRejected);
  });
});

describe('World Bank params', () => {
  test('defaults', () => {
    assert.deepEqual(WorldBankParamsSchema.parse({ indicators: ['AG.PRD.CROP.XD'] }), {
      indicators: ['AG.PRD.CROP.XD'],
      countries: ['BJ'],
      perPage: 1000,
    });
  });

  test('errors name the field and the fix', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /indicators is required/],
      [{ indicators: [] }, /indicators is empty/],
      [{ indicators: ['AG PRD'] }, /indicators: a code/],
      [{ indicators: ['A', 'A'] }, /indicators lists a code twice/],
      [{ indicators: ['A'], countries: ['Benin'] }, /countries: use ISO/],
      [{ indicators: ['A'], countries: [] }, /countries is empty/],
      [{ indicators: ['A'], dateRange: '2000-2023' }, /dateRange must look like "2000:2023"/],
      [{ indicators: ['A'], dateRange: '2023:2000' }, /dateRange ends before it starts/],
      [{ indicators: ['A'], perPage: 0 }, /perPage must be at least 1/],
      [{ indicators: ['A'], perPage: '100' }, /perPage must be a number/],
      [{ indicators: ['A'], indicator: 'B' }, /unknown parameter indicator/],
      ['AG.PRD.CROP.XD', /params must be an object/],
    ];
    for (const [input, message] of cases) {
      const result = WorldBankParamsSchema.safeParse(input);
      assert.equal(result.success, false, JSON.stringify(input));
      assert.match(result.error?.issues.map((i) => i.message).join('\n') ?? '', message, JSON.stringify(input));
    }
  });
});

describe('World Bank over loopback HTTP', () => {
  let server: FixtureServer;
  let handler: FixtureHandler;
  before(async () => {
    // Each test installs its own handler; one server for the whole suite.
    server = await startFixtureServer((req) => handler(req));
  });
  after(() => server.close());

  function setup(options?: WorldBankFixtureOptions, params: Record<string, unknown> = {}, timeoutMs?: number) {
    const fixture = createWorldBankFixture(defaultWorldBankData(), options);
    handler = fixture.handler;
    server.requests.length = 0;
    server.faults.clear();
    const ctx = sourceContext(`${server.url}/v2/`, { indicators: INDICATORS, ...params }, timeoutMs);
    return { fixture, ctx };
  }

  test('builds the documented URL', async () => {
    const { ctx } = setup(undefined, { dateRange: '2010:2020', perPage: 5 });
    await collect(worldBankConnector.fetch({ ...ctx, params: { ...ctx.params, indicators: ['IC.BUS.NREG'] } }));
    const first = server.requests[0];
    assert.equal(first?.path, '/v2/country/BJ/indicator/IC.BUS.NREG');
    assert.equal(first?.url.split('?')[1], 'format=json&per_page=5&page=1&date=2010:2020');
  });

  test('paging over several pages yields every record exactly once', async () => {
    const { fixture, ctx } = setup({ perPageAsString: true }, { perPage: 7 });
    const raws = await collect(worldBankConnector.fetch(ctx));
    const rows = raws.flatMap((raw) => worldBankConnector.transform(raw, ctx.params));
    const keys = new Set(rows.map((r) => `${r.seriesKey}@${r.period}`));
    assert.equal(rows.length, INDICATORS.length * YEARS);
    assert.equal(keys.size, rows.length);
    assert.equal(rows.filter((r) => r.value === null).length, INDICATORS.length, 'latest year is null');
    assert.equal(fixture.requestCount, INDICATORS.length * 3);
    assert.deepEqual(
      ctx.heartbeats.filter((h) => h.indicator === 'IC.BUS.NREG'),
      [1, 2, 3].map((page) => ({ indicator: 'IC.BUS.NREG', page, pages: 3 })),
    );
    assert.equal(rows[0]?.period, String(DEFAULT_YEARS.last), 'newest year first');
  });

  test('fetch is lazy: one page is requested at a time', async () => {
    const { ctx } = setup(undefined, { perPage: 5 });
    const iterator = worldBankConnector.fetch(ctx)[Symbol.asyncIterator]();
    await iterator.next();
    assert.equal(server.requests.length, 1);
    await iterator.return?.();
  });

  test('numeric-string values from the source survive as decimal strings', async () => {
    const { fixture, ctx } = setup({ numericStringValues: true });
    fixture.setValue('AG.PRD.CROP.XD', 'BJ', 2022, 104.25);
    const raws = await collect(worldBankConnector.fetch(ctx));
    const row = raws
      .flatMap((raw) => worldBankConnector.transform(raw, ctx.params))
      .find((r) => r.seriesKey === 'AG.PRD.CROP.XD|BEN' && r.period === '2022');
    assert.equal(row?.value, '104.25');
    assert.ok(raws.some((raw) => typeof (raw as { value: unknown }).value === 'string'));
  });

  test('a date range with no data is an empty result, zero rows', async () => {
    const { ctx } = setup(undefined, { dateRange: '1960:1965' });
    assert.deepEqual(await collect(worldBankConnector.fetch(ctx)), []);
    assert.equal((await worldBankConnector.probe(ctx)).note, 'no lastupdated (empty result)');
  });

  test('probe: per_page=1 per indicator; token follows lastupdated', async () => {
    const { fixture, ctx } = setup();
    const first = await worldBankConnector.probe(ctx);
    assert.equal(first.token, 'AG.PRD.CROP.XD=2024-05-30;IC.BUS.NREG=2024-05-30;SL.UEM.TOTL.ZS=2024-05-30');
    assert.equal(first.note, 'lastupdated 2024-05-30');
    assert.equal(server.requests.length, INDICATORS.length);
    assert.ok(server.requests.every((r) => r.query.get('per_page') === '1'));
    assert.deepEqual(await worldBankConnector.probe(ctx), first, 'stable while nothing changes');

    fixture.setLastUpdated('2024-07-01');
    const second = await worldBankConnector.probe(ctx);
    assert.notEqual(second.token, first.token);
    assert.equal(second.note, 'lastupdated 2024-07-01');
  });

  test('unknown indicator → SourceRejected naming it', async () => {
    const { ctx } = setup(undefined, { indicators: ['NO.SUCH.CODE'] });
    await assertFailure(worldBankConnector.probe(ctx), FailureType.SourceRejected, (f) =>
      assert.match(f.message, /NO\.SUCH\.CODE/),
    );
  });

  test('an XML answer (the API default) → InvalidPayload', async () => {
    const { fixture, ctx } = setup();
    // Simulates a connector that forgot format=json.
    handler = (req) => {
      req.query.delete('format');
      return fixture.handler(req);
    };
    await assertFailure(worldBankConnector.probe(ctx), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /did not return JSON.*<\?xml/),
    );
  });

  test('data changing between pages → retryable PartialResult', async () => {
    const { fixture, ctx } = setup(undefined, { perPage: 7 });
    handler = (req) => {
      const res = fixture.handler(req);
      if (req.query.get('page') === '1') fixture.addYear(2024, 1);
      return res;
    };
    await assertFailure(collect(worldBankConnector.fetch(ctx)), FailureType.PartialResult, (f) =>
      assert.equal(f.nonRetryable, false),
    );
  });

  test('HTTP 500 → retryable SourceUnavailable', async () => {
    const { ctx } = setup();
    server.faults.failNext(1, 500, { body: 'upstream exploded' });
    await assertFailure(worldBankConnector.probe(ctx), FailureType.SourceUnavailable, (f) => {
      assert.equal(f.nonRetryable, false);
      assert.match(f.message, /HTTP 500/);
    });
  });

  test('HTTP 429 with Retry-After: 7 → RateLimited after 7000 ms', async () => {
    const { ctx } = setup();
    server.faults.failNext(1, 429, { retryAfter: 7 });
    await assertFailure(collect(worldBankConnector.fetch(ctx)), FailureType.RateLimited, (f) =>
      assert.equal(f.nextRetryDelay, 7000),
    );
  });

  test('a hanging source → SourceUnavailable timeout', async () => {
    const { ctx } = setup(undefined, {}, 200);
    server.faults.hangNext(1);
    await assertFailure(worldBankConnector.probe(ctx), FailureType.SourceUnavailable, (f) =>
      assert.match(f.message, /timed out after 200 ms/),
    );
  });

  test('a truncated body → InvalidPayload', async () => {
    const { ctx } = setup();
    server.faults.malformedNext(1);
    await assertFailure(collect(worldBankConnector.fetch(ctx)), FailureType.InvalidPayload);
    assert.equal(server.requests[0]?.fault, 'malformed');
  });
});
