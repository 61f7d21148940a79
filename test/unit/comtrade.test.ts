// UN Comtrade connector over real loopback HTTP against a fixture speaking the API's formats.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { RowRejected } from '../../sources/kit/types';
import {
  ComtradeParamsSchema,
  comtradeConnector,
  defaultPeriods,
  type Envelope,
  envelopeRecords,
  transformComtradeRecord,
} from '../../sources/specs/comtrade';
import { BENIN_CHAPTERS, ComtradeFixture, hs6Lines } from '../fixtures/comtrade';
import {
  type FixtureHandler,
  type FixtureServer,
  jsonResponse,
  startFixtureServer,
  textResponse,
} from '../fixtures/fixture-server';
import { assertFailure, collect } from '../helpers/assertions';
import { testSourceContext } from '../helpers/source-context';

const KEY = 'c0ffee00deadbeef1234567890abcdef';
const PERIODS = ['2022', '2023'];

let server: FixtureServer;
let handler: FixtureHandler;
let fixture: ComtradeFixture;

before(async () => {
  server = await startFixtureServer((req) => handler(req));
});
after(async () => {
  await server?.close();
});
beforeEach(() => {
  fixture = new ComtradeFixture(PERIODS, BENIN_CHAPTERS, { apiKey: KEY });
  handler = fixture.handler;
  server.requests.length = 0;
  server.faults.clear();
});

/** With a key: the auth prepareSource resolves from the catalog's config (api_key, header Ocp-Apim-Subscription-Key). */
function ctx(params: Record<string, unknown> = {}, apiKey?: string) {
  return testSourceContext(comtradeConnector, {
    baseUrl: server.url,
    params: { periods: PERIODS, ...params },
    auth: apiKey
      ? { type: 'api_key', location: 'header', param: 'Ocp-Apim-Subscription-Key', key: apiKey }
      : { type: 'none' },
  });
}

/** Every trace of the key a request could carry except the header it belongs in. */
function assertKeyOnlyInHeader() {
  assert.ok(server.requests.length > 0);
  for (const r of server.requests) {
    assert.ok(!r.url.includes(KEY), `key in URL ${r.url}`);
    assert.ok(!r.url.toLowerCase().includes('subscription-key'), `key parameter in URL ${r.url}`);
    assert.ok(!r.body.includes(KEY));
    assert.equal(r.headers['ocp-apim-subscription-key'], KEY);
  }
}

describe('UN Comtrade params', () => {
  test('defaults: Benin, world partner, exports and imports, TOTAL, annual HS goods', () => {
    const p = ComtradeParamsSchema.parse({});
    assert.deepEqual(p, {
      reporterCode: '204',
      typeCode: 'C',
      freqCode: 'A',
      clCode: 'HS',
      flowCodes: ['X', 'M'],
      partnerCode: '0',
      cmdCodes: ['TOTAL'],
      maxRecords: 100_000,
    });
  });

  test('default periods are the last 3 complete years, or 12 complete months', () => {
    const now = new Date('2025-02-10T00:00:00Z');
    assert.deepEqual(defaultPeriods('A', now), ['2022', '2023', '2024']);
    const months = defaultPeriods('M', now);
    assert.equal(months.length, 12);
    assert.equal(months[0], '202402');
    assert.equal(months[11], '202501');
  });

  test('errors name the field', () => {
    const issues = (params: unknown) =>
      ComtradeParamsSchema.safeParse(params).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    assert.match(issues({ periods: ['202301'] }).join(), /periods\.0: with freqCode "A" a period is a year/);
    assert.match(issues({ freqCode: 'M', periods: ['2023'] }).join(), /periods\.0: .*month such as "202307"/);
    assert.match(issues({ cmdCodes: ['TOTAL', 'TOTAL'] }).join(), /cmdCodes lists a code twice/);
    assert.match(issues({ reporterCode: 'BEN' }).join(), /reporterCode must be an M49 code/);
    assert.match(issues({ subscriptionKey: 'x' }).join(), /unknown parameter subscriptionKey/);
    assert.deepEqual(ComtradeParamsSchema.parse({ cmdCodes: ['ag2'] }).cmdCodes, ['AG2']);
  });
});

describe('UN Comtrade fetch without a key (preview)', () => {
  test('one preview request per period, slim records, and a loud note that the preview is capped', async () => {
    const c = ctx();
    const records = await collect(comtradeConnector.fetch(c));
    assert.equal(records.length, 4, '2 periods x 2 flows x TOTAL');
    assert.deepEqual(
      server.requests.map((r) => [r.path, r.query.get('period'), r.query.get('flowCode'), r.query.get('cmdCode')]),
      [
        ['/public/v1/preview/C/A/HS', '2022', 'X,M', 'TOTAL'],
        ['/public/v1/preview/C/A/HS', '2023', 'X,M', 'TOTAL'],
      ],
    );
    assert.equal(server.requests[0]?.query.get('maxRecords'), '500');
    assert.equal(server.requests[0]?.headers['ocp-apim-subscription-key'], undefined);
    assert.deepEqual(records[0], {
      typeCode: 'C',
      freqCode: 'A',
      period: '2022',
      reporterCode: '204',
      reporterISO: 'BEN',
      flowCode: 'X',
      flowDesc: 'Export',
      partnerCode: '0',
      partnerISO: 'W00',
      partner2Code: '0',
      customsCode: 'C00',
      motCode: '0',
      cmdCode: 'TOTAL',
      cmdDesc: 'All Commodities',
      primaryValue: '3041254787.12',
      netWgt: '0',
      qty: '0',
      qtyUnitAbbr: 'N/A',
      isReported: true,
    });
    assert.ok(c.logs.some((l) => /no subscription key configured.*at most 500 rows/.test(l)));
    assert.ok(!c.logs.some((l) => /CAPPED/.test(l)));
  });

  test('every data request asks for totals: motCode=0, customsCode=C00, partner2Code=0', async () => {
    const records = (await collect(comtradeConnector.fetch(ctx({ cmdCodes: ['TOTAL', 'AG2'] })))) as Record<
      string,
      unknown
    >[];
    for (const r of server.requests) {
      assert.deepEqual(
        [r.query.get('motCode'), r.query.get('customsCode'), r.query.get('partner2Code')],
        ['0', 'C00', '0'],
      );
    }
    assert.equal(records.length, 20, '2 periods x 2 flows x (TOTAL + 4 chapters), no breakdown row');
    assert.ok(records.every((r) => r.motCode === '0' && r.customsCode === 'C00' && r.partner2Code === '0'));
    const rows = records.flatMap((r) => transformComtradeRecord(r));
    const keys = rows.map((r) => `${r.seriesKey} ${r.period}`);
    assert.equal(new Set(keys).size, keys.length, 'one row per series and period');
    const exports = rows.find((r) => r.seriesKey === 'comtrade|204|X|0|TOTAL' && r.period === '2022');
    assert.equal(exports?.value, '3041254787.12', 'the total, not its sea-freight part');

    // The fixture answers like the API: without the filters, each total comes with its breakdown rows.
    const plain = await fetch(
      `${server.url}/public/v1/preview/C/A/HS?reporterCode=204&period=2022&cmdCode=TOTAL&flowCode=X`,
    );
    const body = (await plain.json()) as { data: Array<{ motCode: number; primaryValue: number }> };
    assert.deepEqual(
      body.data.map((d) => [d.motCode, d.primaryValue]),
      [
        [0, 3041254787.12],
        [2100, 2128878350.98],
        [3200, 912376436.14],
      ],
    );
  });

  test('a preview holding exactly 500 rows is ingested, marked capped and logged loudly', async () => {
    fixture = new ComtradeFixture(['2023'], hs6Lines(300));
    handler = fixture.handler;
    const c = ctx({ periods: ['2023'], cmdCodes: ['AG6'] });
    const records = (await collect(comtradeConnector.fetch(c))) as Record<string, unknown>[];
    assert.equal(records.length, 500);
    assert.ok(records.every((r) => r.capped === true));
    assert.ok(c.logs.some((l) => /period 2023 returned exactly 500 rows: the data is CAPPED/.test(l)));
    const [row] = transformComtradeRecord(records[0]);
    assert.equal(row?.attributes?.capped, true);
  });

  test('a preview under the cap is not marked', async () => {
    const records = (await collect(comtradeConnector.fetch(ctx({ cmdCodes: ['AG2'] })))) as Record<string, unknown>[];
    assert.equal(records.length, 16, '2 periods x 2 flows x 4 chapters');
    assert.ok(records.every((r) => !('capped' in r)));
  });
});

describe('UN Comtrade fetch with a key', () => {
  test('uses /data/v1/get and sends the key only as the Ocp-Apim-Subscription-Key header', async () => {
    const c = ctx({ cmdCodes: ['TOTAL', 'AG2'] }, KEY);
    const records = await collect(comtradeConnector.fetch(c));
    assert.equal(records.length, 20, '2 periods x 2 flows x (TOTAL + 4 chapters)');
    assert.deepEqual(
      server.requests.map((r) => r.path),
      ['/data/v1/get/C/A/HS', '/data/v1/get/C/A/HS'],
    );
    assert.equal(server.requests[0]?.query.get('maxRecords'), '100000');
    assertKeyOnlyInHeader();
    assert.ok(!c.logs.some((l) => l.includes(KEY) || /preview/.test(l)));
    assert.ok(!JSON.stringify(records).includes(KEY));
  });

  test('a result holding exactly the row cap fails (non-retryable PartialResult) and asks to split', async () => {
    await assertFailure(
      collect(comtradeConnector.fetch(ctx({ cmdCodes: ['AG2'], maxRecords: 5 }, KEY))),
      FailureType.PartialResult,
      (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(f.message, /holds 5 rows, the row cap, so it is cut\. Split the request/);
      },
    );
  });

  test('a refused key is a non-retryable SourceRejected whose message never holds the key', async () => {
    fixture = new ComtradeFixture(PERIODS, BENIN_CHAPTERS, { apiKey: 'another-key', echoKeyInErrors: true });
    handler = fixture.handler;
    for (const run of [
      () => comtradeConnector.probe(ctx({}, KEY)),
      () => collect(comtradeConnector.fetch(ctx({}, KEY))),
    ]) {
      await assertFailure(run(), FailureType.SourceRejected, (f) => {
        assert.match(f.message, /HTTP 401.*invalid subscription key \(\*\*\*\)/);
        assert.ok(!f.message.includes(KEY) && !String(f.stack).includes(KEY), 'the key is masked');
      });
    }
  });
});

describe('UN Comtrade failures', () => {
  test('429 and 403 with Retry-After are RateLimited with the delay asked for; 403 without it is rejected', async () => {
    server.faults.failNext(1, 429, { retryAfter: 7 });
    await assertFailure(comtradeConnector.probe(ctx()), FailureType.RateLimited, (f) =>
      assert.equal(f.nextRetryDelay, 7000),
    );
    server.faults.failNext(1, 403, { retryAfter: 2, body: `quota exceeded for ${KEY}` });
    await assertFailure(collect(comtradeConnector.fetch(ctx({}, KEY))), FailureType.RateLimited, (f) => {
      assert.equal(f.nextRetryDelay, 2000, 'the delay survives masking');
      assert.ok(!f.message.includes(KEY));
    });
    server.faults.failNext(1, 403);
    await assertFailure(comtradeConnector.probe(ctx()), FailureType.SourceRejected);
  });

  test('a non-empty error in the envelope is a SourceRejected with its text', async () => {
    fixture.envelopeError = 'Invalid cmdCode parameter';
    await assertFailure(collect(comtradeConnector.fetch(ctx())), FailureType.SourceRejected, (f) =>
      assert.match(f.message, /period 2022.*refused: Invalid cmdCode parameter/),
    );
  });

  test('5xx is retryable SourceUnavailable', async () => {
    server.faults.failNext(1, 503);
    await assertFailure(comtradeConnector.probe(ctx()), FailureType.SourceUnavailable);
  });

  test('malformed bodies are InvalidPayload naming what is wrong', async () => {
    server.faults.malformedNext(1);
    await assertFailure(collect(comtradeConnector.fetch(ctx())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /period 2022.*not valid JSON/),
    );
    const cases: [FixtureHandler, RegExp][] = [
      [() => textResponse('<html>maintenance</html>', 200, 'text/html'), /not valid JSON/],
      [() => jsonResponse([{ period: '2022' }]), /is a JSON array, expected the \{count, data, error\} object/],
      [
        () => jsonResponse({ elapsedTime: '0.1 secs', count: 0 }),
        /no "data" array in the body \(top-level keys: elapsedTime, count\)/,
      ],
      [() => jsonResponse({ count: 1, data: { period: '2022' }, error: '' }), /data is an object, expected an array/],
    ];
    for (const [h, message] of cases) {
      handler = h;
      await assertFailure(collect(comtradeConnector.fetch(ctx())), FailureType.InvalidPayload, (f) =>
        assert.match(f.message, message),
      );
    }
    handler = () =>
      jsonResponse({ elapsedTime: '0 secs', count: 1, data: [{ period: 2023, reporterCode: 204 }], error: '' });
    await assertFailure(comtradeConnector.probe(ctx()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /data\[0\]: datasetChecksum: /),
    );
  });

  test('an error body sent with HTTP 200 is a SourceRejected', async () => {
    handler = () => jsonResponse({ statusCode: 400, message: 'period is invalid' });
    await assertFailure(comtradeConnector.probe(ctx()), FailureType.SourceRejected, (f) =>
      assert.match(f.message, /refused \(400\): period is invalid/),
    );
  });

  test('an empty period is logged; all periods empty is an empty snapshot, with a hint for the store guard', async () => {
    const c = ctx({ periods: ['2023', '2024'] });
    assert.equal((await collect(comtradeConnector.fetch(c))).length, 2);
    assert.ok(c.logs.includes('UN Comtrade: no data for period 2024'));
    // The snapshot guard (activities/store/snapshot-guard.ts) refuses it; the connector only explains it.
    const empty = ctx({ reporterCode: '999' });
    assert.equal((await collect(comtradeConnector.fetch(empty))).length, 0);
    assert.match(
      comtradeConnector.snapshot?.emptyHint?.(empty.params) ?? '',
      /no data for reporter 999, periods 2022, 2023.*check reporterCode and periods/,
    );
  });
});

describe('UN Comtrade probe', () => {
  test('token = query fingerprint + sorted period=datasetChecksum; one getDa request', async () => {
    const result = await comtradeConnector.probe(ctx({ periods: ['2023', '2022', '2021'] }));
    assert.match(String(result.token), /^[0-9a-f]{12} 2021=none;2022=1000;2023=1001$/);
    assert.equal(result.note, 'lastReleased 2023-11-15T00:00:00');
    assert.deepEqual(
      server.requests.map((r) => [r.path, r.query.get('reporterCode'), r.query.get('period')]),
      [['/public/v1/getDa/C/A/HS', '204', '2021,2022,2023']],
    );
  });

  test('the token moves with a release, the query or a key, and is stable otherwise', async () => {
    const token = async (params: Record<string, unknown> = {}, key?: string) =>
      (await comtradeConnector.probe(ctx(params, key))).token;
    const first = await token();
    assert.equal(await token(), first);
    assert.equal(await token({ periods: ['2023', '2022'] }), first, 'period order does not matter');
    assert.notEqual(await token({ cmdCodes: ['AG2'] }), first);
    server.requests.length = 0;
    const keyed = await token({}, KEY);
    assert.notEqual(keyed, first, 'adding a key lifts the preview cap: a change');
    assert.equal(server.requests.at(-1)?.path, '/data/v1/getDa/C/A/HS');
    assertKeyOnlyInHeader();
    fixture.setValue('2023', 'X', 'TOTAL', 1);
    assert.notEqual(await token(), first);
  });

  test('nothing released yet: every period says none', async () => {
    const result = await comtradeConnector.probe(ctx({ reporterCode: '999' }));
    assert.match(String(result.token), / 2022=none;2023=none$/);
    assert.equal(result.note, 'no released data for periods 2022,2023');
  });
});

describe('UN Comtrade transform', () => {
  const record = (overrides: Record<string, unknown> = {}) => ({
    period: '2023',
    reporterCode: '204',
    flowCode: 'X',
    flowDesc: 'Export',
    partnerCode: '0',
    cmdCode: '52',
    cmdDesc: 'Cotton',
    primaryValue: '412345678.90',
    netWgt: '250000000',
    qty: '250000000',
    qtyUnitAbbr: 'kg',
    isReported: true,
    ...overrides,
  });

  test('maps a record to one USD observation with its quantity attributes', () => {
    assert.deepEqual(transformComtradeRecord(record()), [
      {
        seriesKey: 'comtrade|204|X|0|52',
        dimensions: { reporter: '204', flow: 'X', partner: '0', commodity: '52' },
        period: '2023',
        value: '412345678.9',
        unit: 'USD',
        attributes: {
          netWgt: '250000000',
          qty: '250000000',
          qtyUnit: 'kg',
          cmdDesc: 'Cotton',
          flowDesc: 'Export',
          motCode: '0',
          customsCode: 'C00',
          partner2Code: '0',
        },
      },
    ]);
  });

  test('a breakdown row is its own series, never a second value for the total key', () => {
    const total = transformComtradeRecord(record({ motCode: 0, customsCode: 'C00', partner2Code: 0 }))[0];
    assert.equal(total?.seriesKey, 'comtrade|204|X|0|52');
    const sea = transformComtradeRecord(record({ motCode: 2100, primaryValue: 288641975.23 }))[0];
    assert.equal(sea?.seriesKey, 'comtrade|204|X|0|52|mot:2100|customs:C00|partner2:0');
    assert.deepEqual(sea?.dimensions, {
      reporter: '204',
      flow: 'X',
      partner: '0',
      commodity: '52',
      mot: '2100',
      customs: 'C00',
      partner2: '0',
    });
    assert.deepEqual(
      [sea?.attributes?.motCode, sea?.attributes?.customsCode, sea?.attributes?.partner2Code],
      ['2100', 'C00', '0'],
    );
    const customs = transformComtradeRecord(record({ customsCode: 'C01', partner2Code: '384' }))[0];
    assert.equal(customs?.seriesKey, 'comtrade|204|X|0|52|mot:0|customs:C01|partner2:384');
  });

  test('tolerates plain numbers, null value and N/A units; monthly periods become YYYY-MM', () => {
    const [row] = transformComtradeRecord(
      record({
        period: 202307,
        reporterCode: 204,
        partnerCode: 0,
        primaryValue: null,
        netWgt: null,
        qtyUnitAbbr: 'N/A',
        capped: true,
      }),
    );
    assert.equal(row?.seriesKey, 'comtrade|204|X|0|52');
    assert.equal(row?.period, '2023-07');
    assert.equal(row?.value, null);
    assert.equal(row?.attributes?.netWgt, undefined);
    assert.equal(row?.attributes?.qtyUnit, undefined);
    assert.equal(row?.attributes?.capped, true);
    assert.equal(transformComtradeRecord(record({ primaryValue: 1.5e21 }))[0]?.value, '1500000000000000000000');
  });

  test('a bad record is a RowRejected naming the record and the field', () => {
    const rejects = (raw: unknown) => {
      try {
        transformComtradeRecord(raw);
      } catch (err) {
        assert.ok(err instanceof RowRejected);
        return err.message;
      }
      assert.fail('expected a RowRejected');
    };
    assert.match(
      rejects(record({ primaryValue: 'n/a' })),
      /^UN Comtrade record 2023 X 52: primaryValue: expected a number or null/,
    );
    assert.match(rejects(record({ primaryValue: undefined })), /primaryValue/);
    assert.match(rejects(record({ period: '2023-07' })), /period: expected YYYY or YYYYMM/);
    assert.match(rejects(record({ flowCode: undefined })), /flowCode/);
    assert.match(rejects(42), /^UN Comtrade record 42: \(root\)/);
  });
});

describe('envelopeRecords', () => {
  async function read(text: string) {
    const envelope: Envelope = { fields: {}, data: 'missing' };
    const records = await collect(
      envelopeRecords(
        (async function* () {
          yield Buffer.from(text);
        })(),
        'test',
        envelope,
      ),
    );
    return { records, envelope };
  }

  test('streams data elements with numbers as their text and keeps the other fields', async () => {
    const { records, envelope } = await read(
      '{"elapsedTime":"0.2 secs","count":2,"data":[{"v":1.50,"n":[1,{"x":null}]},7],"error":""}',
    );
    assert.deepEqual(records, [{ v: '1.50', n: ['1', { x: null }] }, '7']);
    assert.deepEqual(envelope, { fields: { elapsedTime: '0.2 secs', count: '2', error: '' }, data: 'array' });
  });

  test('data null is an empty result', async () => {
    const { records, envelope } = await read('{"count":0,"data":null,"error":""}');
    assert.deepEqual(records, []);
    assert.equal(envelope.data, 'null');
  });
});
