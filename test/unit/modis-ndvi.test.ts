// The MODIS NDVI connector over real loopback HTTP against a fixture of the ORNL DAAC subset API.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { RowRejected } from '../../sources/kit/types';
import {
  MAX_DATES_PER_CALL,
  type ModisNdviParams,
  ModisNdviParamsSchema,
  modisNdviConnector,
  monthWindow,
  type NdviMonthRecord,
  transformNdviRecord,
} from '../../sources/specs/modis-ndvi';
import {
  type FixtureRequest,
  type FixtureResponse,
  type FixtureServer,
  jsonResponse,
  startFixtureServer,
} from '../fixtures/fixture-server';
import { createModisFixture, MODIS_FILL, type ModisFixture } from '../fixtures/modis';
import { assertFailure, collect } from '../helpers/assertions';
import { type TestSourceContext, testSourceContext } from '../helpers/source-context';

let server: FixtureServer;
let fx: ModisFixture;
/** Answers instead of the fixture when it returns a response (per test; reset before each). */
let intercept: (req: FixtureRequest) => FixtureResponse | undefined;

before(async () => {
  server = await startFixtureServer((req) => intercept(req) ?? fx.handler(req));
});
after(async () => {
  await server?.close();
});
beforeEach(() => {
  // One pixel per point, valued 5000 + day of year: monthly means are easy to work out by hand.
  fx = createModisFixture({ pixels: ({ modisDate }) => 5000 + Number(modisDate.slice(5)) });
  intercept = () => undefined;
  server.faults.clear();
  server.requests.length = 0;
});

const AREAS = [
  {
    name: 'south',
    points: [
      { lat: 7.18, lon: 1.99 },
      { lat: 6.98, lon: 2.66 },
    ],
  },
  { name: 'north', points: [{ lat: 10.3, lon: 1.38 }] },
];

function ctx(params: Record<string, unknown> = {}): TestSourceContext<ModisNdviParams> {
  return testSourceContext(modisNdviConnector, {
    baseUrl: server.url,
    params: { areas: AREAS, kmAboveBelow: 0, kmLeftRight: 0, ...params },
  });
}

describe('MODIS NDVI params', () => {
  test('defaults: MOD13Q1 NDVI, 12 months, sample points across Benin', () => {
    const p = ModisNdviParamsSchema.parse({});
    assert.equal(p.product, 'MOD13Q1');
    assert.equal(p.band, '250m_16_days_NDVI');
    assert.equal(p.months, 12);
    assert.equal(p.fillValue, -3000);
    assert.deepEqual(p.validRange, [-2000, 10000]);
    assert.deepEqual(
      p.areas.map((a) => a.name),
      ['benin_south', 'benin_centre', 'benin_north'],
    );
    for (const { lat, lon } of p.areas.flatMap((a) => a.points)) {
      assert.ok(lat > 6 && lat < 12.5 && lon > 0.7 && lon < 3.9, `(${lat}, ${lon}) lies in Benin`);
    }
  });

  test('errors name the field', () => {
    const issues = (params: unknown) =>
      ModisNdviParamsSchema.safeParse(params)
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
    assert.match(String(issues({ areas: [{ name: 'a b', points: [{ lat: 1, lon: 1 }] }] })), /^areas\.0\.name: /);
    assert.match(
      String(issues({ areas: [{ name: 'a', points: [{ lat: 91, lon: 1 }] }] })),
      /^areas\.0\.points\.0\.lat/,
    );
    assert.match(String(issues({ areas: [...AREAS, AREAS[0]] })), /^areas: two areas share a name/);
    assert.match(String(issues({ kmAboveBelow: 101 })), /^kmAboveBelow: .*at most 100 km/);
    assert.match(String(issues({ months: 0 })), /^months: months must be at least 1/);
    assert.match(String(issues({ bands: 'x' })), /unknown parameter bands/);
  });

  test('monthWindow counts back from the latest month, across years', () => {
    assert.deepEqual(monthWindow('2024-12-18', 3), ['2024-10', '2024-11', '2024-12']);
    assert.deepEqual(monthWindow('2025-01-01', 3), ['2024-11', '2024-12', '2025-01']);
  });
});

describe('MODIS NDVI probe', () => {
  test('the latest composite and the date count of each area, from its first point', async () => {
    const probe = await modisNdviConnector.probe(ctx());
    assert.equal(probe.token, 'north=A2024353#46;south=A2024353#46');
    assert.equal(probe.note, 'latest composite A2024353');
    assert.deepEqual(
      server.requests.map((r) => `${r.path}?${r.query.get('latitude')}`),
      ['/MOD13Q1/dates?7.18', '/MOD13Q1/dates?10.3'],
    );
    assert.equal(server.requests[0]?.headers.accept, 'application/json');
    fx.addNextComposite();
    assert.equal((await modisNdviConnector.probe(ctx())).token, 'north=A2025001#47;south=A2025001#47');
  });
});

describe('MODIS NDVI fetch', () => {
  test('one record per area and month, from subset calls of at most 10 composites', async () => {
    const c = ctx();
    const records = (await collect(modisNdviConnector.fetch(c))) as NdviMonthRecord[];
    assert.equal(records.length, 24);
    // 23 composites in 2024 per point: 10 + 10 + 3, for three points.
    assert.deepEqual(fx.subsetCalls, [10, 10, 3, 10, 10, 3, 10, 10, 3]);
    assert.ok(fx.subsetCalls.every((n) => n <= MAX_DATES_PER_CALL));
    // January: composites of days 1 and 17, at both points → (5001 + 5017) / 2 = 5009 → 0.5009.
    assert.deepEqual(records[0], {
      area: 'south',
      month: '2024-01',
      meanNdvi: '0.5009',
      pixelCount: 4,
      composites: 2,
      latestProcDate: '2024365104512',
    });
    // 2024 is a leap year: September has days 257 and 273, November only day 321, December 337 and 353.
    assert.deepEqual(
      records.filter((r) => r.area === 'north').map((r) => [r.month, r.meanNdvi, r.composites]),
      [
        ['2024-01', '0.5009', 2],
        ['2024-02', '0.5041', 2],
        ['2024-03', '0.5073', 2],
        ['2024-04', '0.5105', 2],
        ['2024-05', '0.5137', 2],
        ['2024-06', '0.5169', 2],
        ['2024-07', '0.5201', 2],
        ['2024-08', '0.5233', 2],
        ['2024-09', '0.5265', 2],
        ['2024-10', '0.5297', 2],
        ['2024-11', '0.5321', 1],
        ['2024-12', '0.5345', 2],
      ],
    );
    assert.ok(c.heartbeats.length >= 9, 'a heartbeat per subset call');
  });

  test('a pixel window: fill and out-of-range pixels are left out of the mean', async () => {
    fx = createModisFixture(); // default pixels: seasonal, every fifth pixel is the fill value
    fx.pixels = ({ modisDate, index }) =>
      index % 5 === 4 ? MODIS_FILL : index === 0 ? 12000 : 4000 + Number(modisDate.slice(5)) + index;
    const records = (await collect(
      modisNdviConnector.fetch(ctx({ areas: [AREAS[1]], kmAboveBelow: 1, kmLeftRight: 1 })),
    )) as NdviMonthRecord[];
    const [jan] = records;
    // 9 × 9 = 81 pixels; 16 are fill and pixel 0 is above the valid range: 64 per composite, 2 composites.
    assert.equal(jan?.pixelCount, 128);
    const valid = Array.from({ length: 81 }, (_, i) => i).filter((i) => i % 5 !== 4 && i !== 0);
    const sum = ['A2024001', 'A2024017']
      .flatMap((d) => valid.map((i) => 4000 + Number(d.slice(5)) + i))
      .reduce((a, b) => a + b, 0);
    assert.equal(jan?.meanNdvi, ((sum / 128) * 0.0001).toFixed(6).replace(/0+$/, ''));
  });

  test('a month of fill only has a null mean and no pixels', async () => {
    fx.pixels = ({ modisDate }) =>
      modisDate.startsWith('A2024') && Number(modisDate.slice(5)) < 32 ? MODIS_FILL : 6000;
    const [jan, feb] = (await collect(modisNdviConnector.fetch(ctx({ areas: [AREAS[1]] })))) as NdviMonthRecord[];
    assert.deepEqual([jan?.meanNdvi, jan?.pixelCount, jan?.composites], [null, 0, 2]);
    assert.equal(feb?.meanNdvi, '0.6');
    assert.deepEqual(transformNdviRecord(jan, { product: 'MOD13Q1' })[0]?.value, null);
  });

  test('a reprocessed composite changes its month and its latest proc_date', async () => {
    fx.reprocess('A2024337', 100);
    const records = (await collect(modisNdviConnector.fetch(ctx({ areas: [AREAS[1]] })))) as NdviMonthRecord[];
    const dec = records.at(-1);
    assert.equal(dec?.meanNdvi, '0.5395');
    assert.equal(dec?.latestProcDate, '2025100120000');
  });

  test('no composites in the window, or none at all: zero records, logged', async () => {
    fx.dates.length = 0;
    const c = ctx();
    assert.deepEqual(await collect(modisNdviConnector.fetch(c)), []);
    assert.ok(c.logs.includes('MODIS NDVI: no composites at all for this area'));
    assert.equal((await modisNdviConnector.probe(c)).token, 'north=none#0;south=none#0');
  });
});

describe('MODIS NDVI failures', () => {
  const subset = (req: FixtureRequest) => req.path.endsWith('/subset');
  /** The fixture's subset body with `change` applied. */
  const alteredSubset = (change: (body: Record<string, unknown>) => void) => (req: FixtureRequest) => {
    if (!subset(req)) return undefined;
    const body = JSON.parse(String((fx.handler(req) as FixtureResponse).body));
    change(body);
    return jsonResponse(body);
  };

  test('HTTP: 5xx retryable, 4xx not, 429 waits Retry-After', async () => {
    server.faults.failNext(1, 503);
    await assertFailure(modisNdviConnector.probe(ctx()), FailureType.SourceUnavailable, (f) =>
      assert.equal(f.nonRetryable, false),
    );
    server.faults.failNext(1, 429, { retryAfter: 3 });
    await assertFailure(modisNdviConnector.probe(ctx()), FailureType.RateLimited, (f) =>
      assert.equal(f.nextRetryDelay, 3000),
    );
    // The fixture's own 400 for a band the product does not have.
    await assertFailure(
      collect(modisNdviConnector.fetch(ctx({ band: 'NDVI_1km' }))),
      FailureType.SourceRejected,
      (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(f.message, /HTTP 400: .*Band NDVI_1km is not valid/);
      },
    );
  });

  test('malformed bodies are invalid payloads naming the path', async () => {
    server.faults.malformedNext(1);
    await assertFailure(modisNdviConnector.probe(ctx()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /did not return JSON/),
    );
    intercept = (req) =>
      req.path.endsWith('/dates') ? jsonResponse({ dates: [{ modis_date: '2024-01-01' }] }) : undefined;
    await assertFailure(modisNdviConnector.probe(ctx()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /MODIS dates .*: dates\[0\]\.modis_date: expected a MODIS date/),
    );
    const cases: Array<[(b: Record<string, unknown>) => void, RegExp]> = [
      [(b) => delete b.scale, /scale: expected a number/],
      [
        (b) => ((b.subset as Array<{ data: number[] }>)[1]!.data = [1, 2]),
        /subset\[1\]\.data has 2 values, nrows × ncols is 1/,
      ],
      [(b) => ((b.subset as Array<{ band: string }>)[0]!.band = 'EVI'), /subset\[0\]\.band is "EVI"/],
      [(b) => ((b.subset as Array<{ data: unknown[] }>)[0]!.data = ['x']), /subset\[0\]\.data\[0\]: /],
    ];
    for (const [change, pattern] of cases) {
      intercept = alteredSubset(change);
      await assertFailure(collect(modisNdviConnector.fetch(ctx())), FailureType.InvalidPayload, (f) =>
        assert.match(f.message, pattern),
      );
    }
  });
});

describe('MODIS NDVI transform', () => {
  const record: NdviMonthRecord = {
    area: 'north',
    month: '2024-07',
    meanNdvi: '0.5201',
    pixelCount: 2,
    composites: 2,
    latestProcDate: '2024365104512',
  };

  test('maps a monthly record to one observation', () => {
    assert.deepEqual(transformNdviRecord(record, { product: 'MOD13Q1' }), [
      {
        seriesKey: 'NDVI|MOD13Q1|north',
        dimensions: { product: 'MOD13Q1', area: 'north' },
        period: '2024-07',
        value: '0.5201',
        unit: 'NDVI',
        attributes: { pixels: 2, composites: 2 },
      },
    ]);
  });

  test('rejects a bad record naming it and the field', () => {
    assert.throws(
      () => transformNdviRecord({ ...record, month: '2024-13' }, { product: 'MOD13Q1' }),
      (err: Error) => err instanceof RowRejected && /north 2024-13: month: expected a YYYY-MM month/.test(err.message),
    );
  });
});
