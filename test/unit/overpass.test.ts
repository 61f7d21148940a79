// The Overpass connector over real loopback HTTP against a fixture that writes real Overpass bodies.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { arrayRecords } from '../../sources/kit/json-stream';
import { RowRejected } from '../../sources/kit/types';
import {
  overpassConnector,
  PROBE_QUERY,
  tileQuery,
  transformOverpassRecord,
} from '../../sources/specs/overpass/connector';
import { BENIN_BBOX, type OverpassParams, OverpassParamsSchema, tiles } from '../../sources/specs/overpass/params';
import {
  type FixtureHandler,
  type FixtureServer,
  jsonResponse,
  startFixtureServer,
  textResponse,
} from '../fixtures/fixture-server';
import {
  building,
  createOverpassFixture,
  FIXTURE_BBOX,
  type OverpassFixture,
  overpassBody,
  REMARK_TIMEOUT,
} from '../fixtures/overpass';
import { assertFailure, collect } from '../helpers/assertions';
import { testSourceContext } from '../helpers/source-context';

const PARAMS = { bbox: FIXTURE_BBOX, tileSize: 0.5 };

async function* chunksOf(text: string, size: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('Overpass params', () => {
  test('defaults: Benin, 0.5° tiles, buildings + main roads + schools/clinics, 50 s', () => {
    const p = OverpassParamsSchema.parse({});
    assert.deepEqual(p.bbox, BENIN_BBOX);
    assert.equal(p.tileSize, 0.5);
    assert.equal(p.timeoutSeconds, 50);
    assert.deepEqual(
      p.selectors.map((s) => [s.type, s.key]),
      [
        ['way', 'building'],
        ['way', 'highway'],
        ['node', 'amenity'],
      ],
    );
  });

  test('errors name the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ bbox: { south: 7, west: 2, north: 6, east: 3 } }, /bbox\.south must be less than bbox\.north/],
      [{ bbox: { south: 6, west: 3, north: 7, east: 2 } }, /bbox\.west must be less than bbox\.east/],
      [{ bbox: { south: -95, west: 2, north: 7, east: 3 } }, /bbox\.south must be between -90 and 90/],
      [{ bbox: { south: 6, north: 7 } }, /bbox\.west must be a longitude/],
      [{ tileSize: 0 }, /tileSize must be more than 0/],
      [{ tileSize: 0.001 }, /tileSize is too small for this bbox/],
      [{ selectors: ['relation["building"]'] }, /relations are not supported/],
      [{ selectors: ['way["building"]; out;'] }, /is not node\[\.\.\.\] or way\[\.\.\.\]/],
      [{ selectors: [] }, /selectors is empty/],
      [{ selectors: ['way["building"]', 'way["building"]'] }, /selectors lists one twice/],
      [{ timeoutSeconds: 2.5 }, /timeoutSeconds must be a whole number/],
      [{ area: 'Benin' }, /unknown parameter area/],
    ];
    for (const [params, message] of cases) {
      const result = OverpassParamsSchema.safeParse(params);
      assert.equal(result.success, false, JSON.stringify(params));
      assert.match(result.error!.issues.map((i) => i.message).join('; '), message, JSON.stringify(params));
    }
  });

  test('a selector names its kind by its first tag key, quoted or not', () => {
    const p = OverpassParamsSchema.parse({ selectors: ['way[landuse=residential]', 'node["addr:housenumber"]'] });
    assert.deepEqual(
      p.selectors.map((s) => s.key),
      ['landuse', 'addr:housenumber'],
    );
  });
});

describe('Overpass tiling and queries', () => {
  test('Benin at 0.5° is 13 rows × 7 columns; tiles cover the box exactly, without float noise', () => {
    const grid = tiles(BENIN_BBOX, 0.5);
    assert.equal(grid.length, 91);
    assert.deepEqual(grid[0], { south: 6.14, west: 0.77, north: 6.64, east: 1.27 });
    assert.deepEqual(grid.at(-1), { south: 12.14, west: 3.77, north: 12.42, east: 3.86 });
    for (const t of grid) {
      assert.ok(t.south < t.north && t.west < t.east);
      assert.ok(t.north - t.south <= 0.5 + 1e-9 && t.east - t.west <= 0.5 + 1e-9);
    }
  });

  test('an exact multiple does not grow a sliver tile', () => {
    assert.equal(tiles(FIXTURE_BBOX, 0.5).length, 4);
    assert.equal(tiles({ south: 0, west: 0, north: 0.3, east: 0.3 }, 0.1).length, 9);
  });

  test('a tile query is [out:json][timeout][bbox] + the union of selectors + out geom', () => {
    const params = OverpassParamsSchema.parse({ timeoutSeconds: 30 });
    const ql = tileQuery(params, { south: 6, west: 2, north: 6.5, east: 2.5 });
    assert.match(ql, /^\[out:json\]\[timeout:30\]\[bbox:6,2,6\.5,2\.5\];\n\(\n/);
    assert.ok(ql.includes('way["building"];\nway["highway"~"^(trunk|primary|secondary)$"];\nnode["amenity"'));
    assert.ok(ql.endsWith(');\nout geom;'));
  });
});

describe('Overpass connector over HTTP', () => {
  let server: FixtureServer;
  let overpass: OverpassFixture;
  /** Replaces the fixture for one test (a body the real fixture never writes). */
  let override: FixtureHandler | null = null;

  before(async () => {
    server = await startFixtureServer((req) => (override ?? overpass.handler)(req));
  });
  beforeEach(() => {
    overpass = createOverpassFixture();
    override = null;
    server.faults.clear();
    server.requests.length = 0;
  });
  after(() => server.close());

  const context = (params: unknown = PARAMS) => testSourceContext(overpassConnector, { baseUrl: server.url, params });

  test('probe: POSTs a tiny query; the token is osm3s.timestamp_osm_base', async () => {
    const result = await overpassConnector.probe(context());
    assert.deepEqual(result, { token: '2024-05-30T12:00:00Z', note: 'timestamp_osm_base 2024-05-30T12:00:00Z' });
    const [req] = server.requests;
    assert.equal(req?.method, 'POST');
    assert.equal(req?.path, '/interpreter');
    assert.equal(new URLSearchParams(req?.body).get('data'), PROBE_QUERY);
  });

  test('probe: a body without osm3s is an InvalidPayload', async () => {
    override = () => jsonResponse({ version: 0.6, elements: [] });
    await assertFailure(overpassConnector.probe(context()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /osm3s/),
    );
  });

  test('fetch: one query per tile, elements slimmed, the edge-crossing road once, a heartbeat per tile', async () => {
    const ctx = context();
    const records = await collect(overpassConnector.fetch(ctx));
    assert.equal(overpass.queries.length, 4);
    assert.deepEqual(
      records.map((r) => `${r.type}/${r.id}`),
      // Per tile, as the server sorts: nodes, then ways, each by id.
      ['node/3001', 'way/1001', 'way/2001', 'way/1002', 'way/1003', 'way/1004'],
    );
    assert.deepEqual(records[1], {
      snapshot: '2024-05',
      kind: 'building',
      type: 'way',
      id: 1001,
      // `source` is not kept: only the selector keys, name, addr:*, levels and area are.
      tags: { building: 'yes', 'addr:street': 'Rue 12', 'building:levels': '2' },
      geometry: [
        [2.2, 6.2],
        [2.2002, 6.2],
        [2.2002, 6.2002],
        [2.2, 6.2002],
        [2.2, 6.2],
      ],
    });
    assert.deepEqual(records[0], {
      snapshot: '2024-05',
      kind: 'amenity',
      type: 'node',
      id: 3001,
      tags: { amenity: 'school', name: 'École primaire' },
      lat: 6.4,
      lon: 2.4,
    });
    assert.deepEqual(
      ctx.heartbeats.map((h) => h.tile),
      [1, 2, 3, 4],
    );
    assert.deepEqual(ctx.logs, ['Overpass tiles fetched']);
  });

  test('fetch: a remark after the elements fails the tile as a retryable PartialResult', async () => {
    overpass.remarkNext(1);
    const ctx = context();
    const seen: unknown[] = [];
    await assertFailure(
      (async () => {
        for await (const r of overpassConnector.fetch(ctx)) seen.push(r);
      })(),
      FailureType.PartialResult,
      (f) => {
        assert.equal(f.nonRetryable, false);
        assert.ok(f.message.includes(JSON.stringify(REMARK_TIMEOUT)), f.message);
        assert.match(f.message, /tile 1\/4/);
        assert.match(f.message, /smaller tileSize/);
      },
    );
    assert.equal(
      seen.length,
      2,
      'the elements before the remark were streamed (the staging is discarded by the retry)',
    );
    assert.equal(ctx.heartbeats.length, 0);
  });

  test('fetch: an empty result is zero records, logged', async () => {
    overpass.data.elements = [];
    const ctx = context();
    assert.deepEqual(await collect(overpassConnector.fetch(ctx)), []);
    assert.deepEqual(ctx.logs, ['Overpass returned no elements']);
  });

  test('fetch: a body cut mid-stream is an InvalidPayload, not a shorter result', async () => {
    server.faults.malformedNext(1);
    await assertFailure(collect(overpassConnector.fetch(context())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /tile 1\/4 .*(truncated|not valid JSON)/),
    );
  });

  test('fetch: a body that is not JSON (an HTML page with 200) is an InvalidPayload', async () => {
    override = () => textResponse('<html><body>Overpass is down for maintenance</body></html>', 200, 'text/html');
    await assertFailure(collect(overpassConnector.fetch(context())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /not valid JSON/),
    );
  });

  test('fetch: elements before osm3s, or elements that are not an array, are InvalidPayloads', async () => {
    override = () => jsonResponse({ elements: [{ type: 'node', id: 1, lat: 6.1, lon: 2.1 }] });
    await assertFailure(collect(overpassConnector.fetch(context())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /no osm3s header before the elements/),
    );
    override = () => jsonResponse({ osm3s: { timestamp_osm_base: '2024-05-30T12:00:00Z' }, elements: {} });
    await assertFailure(collect(overpassConnector.fetch(context())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /elements is an object, expected an array/),
    );
  });

  test('429 with Retry-After → RateLimited after that delay; 504 → retryable SourceUnavailable; 400 → SourceRejected', async () => {
    server.faults.failNext(1, 429, { retryAfter: 7 });
    await assertFailure(collect(overpassConnector.fetch(context())), FailureType.RateLimited, (f) => {
      assert.equal(f.nextRetryDelay, 7000);
      assert.equal(f.nonRetryable, false);
    });
    server.faults.failNext(1, 504, { body: '<html><body>504 Gateway Timeout</body></html>' });
    await assertFailure(overpassConnector.probe(context()), FailureType.SourceUnavailable, (f) =>
      assert.equal(f.nonRetryable, false),
    );
    await assertFailure(
      collect(overpassConnector.fetch(context({ ...PARAMS, selectors: ['way["name"~"(unclosed"]'] }))),
      FailureType.SourceRejected,
      (f) => assert.match(f.message, /HTTP 400: .*Invalid regular expression/),
    );
  });

  test('elements are handed out while the body is still arriving', async () => {
    // A server that sends the head and one element, then waits until the connector has yielded it.
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    const raw = createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const element = JSON.stringify(building(1, 6.1, 2.1));
      const body = overpassBody('2024-05-30T12:00:00Z', [element, element.replace('"id":1,', '"id":2,')]);
      const cut = body.indexOf(',\n', body.indexOf('"elements"'));
      res.write(body.slice(0, cut));
      await released;
      res.end(body.slice(cut));
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    try {
      const { port } = raw.address() as AddressInfo;
      const ctx = testSourceContext(overpassConnector, {
        baseUrl: `http://127.0.0.1:${port}`,
        params: { bbox: { south: 6, west: 2, north: 6.5, east: 2.5 } },
      });
      const ids: unknown[] = [];
      for await (const r of overpassConnector.fetch(ctx)) {
        ids.push(r.id);
        release();
      }
      assert.deepEqual(ids, [1, 2]);
    } finally {
      raw.closeAllConnections();
      await new Promise((r) => raw.close(r));
    }
  });
});

describe('Overpass body streaming', () => {
  const body = overpassBody(
    '2024-05-30T12:00:00Z',
    [
      JSON.stringify({ type: 'node', id: 1, lat: 6.1, lon: 2.1, tags: { name: 'Cotonou – Ganhi 🏙' } }),
      JSON.stringify({
        type: 'way',
        id: 2,
        nodes: [1, 2],
        geometry: [
          { lat: 6.1, lon: 2.1 },
          { lat: 6.2, lon: 2.2 },
        ],
      }),
    ],
    'runtime error: out of memory',
  );

  test('any chunking (split UTF-8 included) gives the same elements and members', async () => {
    for (const size of [1, 2, 3, 7, 64, body.length]) {
      const members: Record<string, unknown> = {};
      const items = await collect(
        arrayRecords(chunksOf(body, size), {
          at: ['elements'],
          numbers: 'number',
          keep: (key) => key === 'osm3s' || key === 'remark',
          members,
          where: 't',
        }),
      );
      assert.equal(items.length, 2, `chunk size ${size}`);
      assert.deepEqual((items[0] as { tags: unknown }).tags, { name: 'Cotonou – Ganhi 🏙' });
      assert.deepEqual(members, {
        osm3s: {
          timestamp_osm_base: '2024-05-30T12:00:00Z',
          copyright:
            'The data included in this document is from www.openstreetmap.org. The data is made available under ODbL.',
        },
        remark: 'runtime error: out of memory',
      });
    }
  });

  test('members not kept are skipped, however nested', async () => {
    const text = JSON.stringify({
      skip: { deep: [[{ elements: [1] }]] },
      elements: [{ a: [1, { b: 2 }] }, 3],
      keep: 'x',
    });
    const members: Record<string, unknown> = {};
    const items = await collect(
      arrayRecords(chunksOf(text, 5), {
        at: ['elements'],
        numbers: 'number',
        keep: (key) => key === 'keep',
        members,
        where: 't',
      }),
    );
    assert.deepEqual(items, [{ a: [1, { b: 2 }] }, 3]);
    assert.deepEqual(members, { keep: 'x' });
  });

  test('empty, truncated, trailing garbage, not an object, no array: InvalidPayload', async () => {
    const cases: [string, RegExp][] = [
      ['', /the body is empty/],
      [body.slice(0, body.length - 3), /truncated/],
      [`${body}{}`, /not valid JSON/],
      ['[1,2]', /not a JSON object/],
      ['{"osm3s":{}}', /no "elements" array/],
    ];
    for (const [text, message] of cases) {
      await assertFailure(
        collect(
          arrayRecords(chunksOf(text, 16), { at: ['elements'], numbers: 'number', where: 'tile 1/1', required: true }),
        ),
        FailureType.InvalidPayload,
        (f) => assert.match(f.message, message),
      );
    }
  });
});

describe('Overpass transform', () => {
  const params = OverpassParamsSchema.parse({}) as OverpassParams;
  const transform = (raw: unknown) => overpassConnector.transform(raw, params);
  const way = (geometry: number[][], tags: Record<string, string>, kind = 'building') => ({
    snapshot: '2024-05',
    kind,
    type: 'way',
    id: 42,
    tags,
    geometry,
  });
  const square = [
    [2.2, 6.2],
    [2.3, 6.2],
    [2.3, 6.3],
    [2.2, 6.2],
  ];

  test('a closed way is a Polygon; the key is osm|type/id and the period the single "current"', () => {
    assert.deepEqual(transform(way(square, { building: 'yes' })), [
      {
        seriesKey: 'osm|way/42',
        dimensions: { element: 'way/42' },
        period: 'current',
        value: null,
        unit: null,
        attributes: {
          kind: 'building',
          tags: { building: 'yes' },
          geometry: { type: 'Polygon', coordinates: [square] },
        },
      },
    ]);
  });

  test('an open way is a LineString; a loop road too, unless area=yes; a node is a Point', () => {
    const geometryOf = (raw: unknown) =>
      (transform(raw)[0]!.attributes as { geometry: { type: string } }).geometry.type;
    assert.equal(geometryOf(way(square.slice(0, 3), { highway: 'primary' }, 'highway')), 'LineString');
    assert.equal(geometryOf(way(square, { highway: 'primary' }, 'highway')), 'LineString');
    assert.equal(geometryOf(way(square, { highway: 'pedestrian', area: 'yes' }, 'highway')), 'Polygon');
    const node = { snapshot: '2024-05', kind: 'amenity', type: 'node', id: 7, tags: {}, lat: 6.4, lon: 2.4 };
    assert.deepEqual(transform(node)[0]?.attributes, {
      kind: 'amenity',
      geometry: { type: 'Point', coordinates: [2.4, 6.4] },
    });
  });

  test('a bad element is a RowRejected naming it and the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ ...way(square, {}), id: -1 }, /way\/-1: id/],
      [way([[2.2, 6.2]], {}), /way\/42: geometry: a way needs at least 2 points/],
      [
        way(
          [
            [200, 6.2],
            [2.3, 6.2],
          ],
          {},
        ),
        /geometry\[0\]\[0\]/,
      ],
      [{ snapshot: '2024-05', kind: 'amenity', type: 'node', id: 7 }, /node\/7: lat: a node needs lat and lon/],
      [{ ...way(square, {}), type: 'relation' }, /relation\/42: type/],
      [{ ...way(square, {}), snapshot: '2024-05-30' }, /snapshot/],
      [{ ...way(square, {}), tags: { levels: 2 } }, /tags\.levels/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(
        () => transformOverpassRecord(raw),
        (err: unknown) => err instanceof RowRejected && message.test(err.message),
        JSON.stringify(raw),
      );
    }
  });
});
