// Connector parsing of bodies the real APIs sent (test/fixtures/recorded/*, see each PROVENANCE.md).
// Every expected value below was read by hand off the recorded body; the line comments quote it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { type Envelope, envelopeRecords, slimRecord, transformComtradeRecord } from '../../sources/specs/comtrade';
import { slimElement, transformOverpassRecord } from '../../sources/specs/overpass/connector';
import { OverpassParamsSchema } from '../../sources/specs/overpass/params';
import { parseWorldBankPage, WorldBankParamsSchema, worldBankConnector } from '../../sources/specs/world-bank';
import { recorded, recordedText } from '../fixtures/recorded';
import { assertFailure, collect } from '../helpers/assertions';

/** One raw World Bank record's observations, through the connector's own transform. */
const transformWorldBankRecord = (raw: unknown) =>
  worldBankConnector.transform(raw, WorldBankParamsSchema.parse({ indicators: ['X'] }));

describe('World Bank, recorded by jkkitakita/wbdata-go (go-vcr cassettes)', () => {
  const json = (file: string) => JSON.parse(recordedText('world-bank', file));

  test('a real page 1 of 2: counts are numbers, every record maps to one observation', () => {
    const req = { indicator: 'NY.GDP.MKTP.CD', countries: ['JPN', 'USA'], dateRange: '2018:2019' };
    const page = parseWorldBankPage(json('jpn-usa-gdp-2018-2019-page1-of-2.json'), req);
    // [{"page":1,"pages":2,"per_page":2,"total":4,"sourceid":"2","lastupdated":"2020-12-16"}, …]
    assert.deepEqual(page.meta, { page: 1, pages: 2, per_page: 2, total: 4, sourceid: '2', lastupdated: '2020-12-16' });
    const rows = page.records.flatMap(transformWorldBankRecord);
    assert.deepEqual(
      rows.map((r) => `${r.seriesKey} ${r.period} ${r.value}`),
      // "date":"2019","value":5081769542379.77 … "date":"2018","value":4954806619995.19
      ['NY.GDP.MKTP.CD|JPN 2019 5081769542379.77', 'NY.GDP.MKTP.CD|JPN 2018 4954806619995.19'],
    );
    // "unit":"" and "obs_status":"" are dropped; "decimal":0 is kept.
    assert.deepEqual(rows[0]?.attributes, { indicator: 'GDP (current US$)', country: 'Japan', decimal: 0 });
    assert.equal(rows[0]?.unit, null);
  });

  test('aggregates: "1A" Arab World and "S3" Caribbean small states key on their ISO3-like code', () => {
    const req = { indicator: 'NY.GDP.MKTP.CD', countries: ['all'] };
    const page = parseWorldBankPage(json('all-gdp-mrv1-page1-of-132.json'), req);
    assert.equal(page.meta.pages, 132);
    assert.equal(page.meta.total, 264);
    assert.deepEqual(
      page.records.flatMap(transformWorldBankRecord).map((r) => `${r.seriesKey} ${r.period} ${r.value}`),
      // "countryiso3code":"ARB","date":"2019","value":2817414584665.11; "CSS" … 77721714917.8506
      ['NY.GDP.MKTP.CD|ARB 2019 2817414584665.11', 'NY.GDP.MKTP.CD|CSS 2019 77721714917.8506'],
    );
  });

  test('the real error envelope (message id 120, HTTP 200) is a non-retryable SourceRejected', async () => {
    const req = { indicator: 'INVALID.INDICATOR.ID', countries: ['JPN', 'USA'] };
    await assertFailure(
      () => parseWorldBankPage(json('error-120-invalid-value.json'), req),
      FailureType.SourceRejected,
      (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(
          f.message,
          /INVALID\.INDICATOR\.ID.*: 120 Invalid value The provided parameter value is not valid\./,
        );
      },
    );
  });

  test('the real empty answer reads as zero records (the load step decides what an empty snapshot means)', () => {
    const page = parseWorldBankPage(json('empty-no-data.json'), { indicator: 'GC.BAL.CASH.CD', countries: ['UKR'] });
    assert.deepEqual(page, {
      meta: { page: 0, pages: 0, per_page: 0, total: 0, sourceid: null, lastupdated: null },
      records: [],
    });
  });
});

describe('Overpass, recorded by DinoTools/python-overpy and mvexel/overpass-api-python-wrapper', () => {
  const params = OverpassParamsSchema.parse({ selectors: ['node["amenity"="cafe"]'] });
  const elements = (file: string) => JSON.parse(recordedText('overpass', file)).elements as unknown[];

  test('nodes with tags, without tags and with `out meta` fields all become Points; meta is dropped', () => {
    const rows = elements('node-01.json').flatMap((e) =>
      transformOverpassRecord(slimElement(e, params.selectors, '2014-12')),
    );
    assert.deepEqual(
      rows.map((r) => [r.seriesKey, r.attributes]),
      [
        // {"type":"node","id":50878400,"lat":50.7461788,"lon":7.1742257}
        ['osm|node/50878400', { kind: 'node', geometry: { type: 'Point', coordinates: [7.1742257, 50.7461788] } }],
        // "tags":{"highway":"turning_circle"}: not a selector key, not a kept tag
        ['osm|node/100793192', { kind: 'node', geometry: { type: 'Point', coordinates: [7.1709376, 50.7468472] } }],
        // "timestamp", "version", "changeset", "user", "uid" (out meta) are not kept
        ['osm|node/3233854234', { kind: 'node', geometry: { type: 'Point', coordinates: [7.1757664, 50.7494236] } }],
      ],
    );
  });

  test('UTF-8 names of a real answer survive slimming (the selector key and name are kept)', () => {
    const [first] = elements('cafes-brasilia-trimmed.json');
    assert.deepEqual(transformOverpassRecord(slimElement(first, params.selectors, '2021-09'))[0]?.attributes, {
      kind: 'amenity',
      // "amenity": "cafe", "name": "Café Sincera", "smoking": "no" (smoking is not kept)
      tags: { amenity: 'cafe', name: 'Café Sincera' },
      geometry: { type: 'Point', coordinates: [-47.8900512, -15.7526149] },
    });
  });
});

describe('UN Comtrade, recorded by ropensci/comtradr (httptest2 mocks)', () => {
  async function records(file: string): Promise<{ rows: unknown[]; envelope: Envelope }> {
    const envelope: Envelope = { fields: {}, data: 'missing' };
    async function* bytes() {
      yield recorded('comtrade', file);
    }
    const rows = await collect(envelopeRecords(bytes(), file, envelope));
    return { rows, envelope };
  }

  test('a real data/v1/get answer: four TOTAL rows, values keep every digit and are spelled canonically', async () => {
    const { rows, envelope } = await records('get-C-A-HS-chn-2010-total.json');
    // "elapsedTime": "0.03 secs", "count": 4, …, "error": ""
    assert.deepEqual(envelope, { fields: { elapsedTime: '0.03 secs', count: '4', error: '' }, data: 'array' });
    const observations = rows.map(slimRecord).flatMap(transformComtradeRecord);
    assert.deepEqual(
      observations.map((o) => `${o.seriesKey} ${o.period} ${o.value} ${o.unit}`),
      [
        // "flowCode": "M", "partnerCode": 32, "primaryValue": 6804128143.0
        'comtrade|156|M|32|TOTAL 2010 6804128143 USD',
        // "partnerCode": 276, "primaryValue": 74251272075.0
        'comtrade|156|M|276|TOTAL 2010 74251272075 USD',
        // "flowCode": "X", "partnerCode": 32, "fobvalue": 6115764185.0, "primaryValue": 6115764185.0
        'comtrade|156|X|32|TOTAL 2010 6115764185 USD',
        'comtrade|156|X|276|TOTAL 2010 68047133397 USD',
      ],
    );
    // "qty": null, "netWgt": null, "qtyUnitAbbr": "N/A" leave no attribute behind.
    const first = observations[0]?.attributes as Record<string, unknown>;
    assert.equal(first.cmdDesc, 'All Commodities');
    assert.equal(first.flowDesc, 'Import');
    assert.equal(first.netWgt, undefined);
    assert.equal(first.qty, undefined);
    assert.equal(first.qtyUnit, undefined);
  });

  test('a real empty answer: count 0, an empty data array, no error', async () => {
    const { rows, envelope } = await records('bulk-get-C-A-HS-empty.json');
    assert.deepEqual(rows, []);
    assert.deepEqual(envelope, { fields: { elapsedTime: '0.09 secs', count: '0', error: '' }, data: 'array' });
  });
});
