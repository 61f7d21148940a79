// Bodies the real APIs sent (recorded by other public projects, test/fixtures/recorded/*/PROVENANCE.md),
// ingested end to end: the real ingestDatasetVersion workflow on a Temporal dev server, real PostgreSQL,
// the connectors' real HTTP path over loopback. The fixture server only chooses which recorded body
// answers a request; it never edits one. Every expected value was read by hand off the body it comes from.
// Written here, because no recorded body was found: the Comtrade availability (getDa) answer, the ILOSTAT
// table of contents as CSV (its values come from a recorded JSON table of contents), the zip container
// around the recorded FAOSTAT CSV excerpt, and ILO's plain-text SDMX 404 (its text as the recording project's
// client quotes it: sdmx/PROVENANCE.md).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { observationsAsOf } from '../../activities/store/as-of';
import { encryptSecret } from '../../lib/secrets';
import { type FixtureHandler, type FixtureResponse, jsonResponse } from '../fixtures/fixture-server';
import { recorded, recordedBody, recordedJson, recordedText, SDMX_CONTENT_TYPES } from '../fixtures/recorded';
import { zipBuffer } from '../fixtures/zip';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { logsOf, runIngestion } from '../helpers/ingest';

let h: Harness;

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

/** The current rows of a source as "series period value" lines. */
async function currentLines(source: string): Promise<string[]> {
  const rows = await observationsAsOf(h.db.pool, await h.versionId(source));
  return rows.map((r) => `${r.seriesKey} ${r.period} ${r.value}`);
}

async function currentAttributes(source: string, seriesKey: string): Promise<Record<string, unknown> | null> {
  const rows = await observationsAsOf(h.db.pool, await h.versionId(source), { seriesKey });
  return rows[0]?.attributes ?? null;
}

/** Runs an ingestion that must fail; returns its log row. */
async function failingRun(source: string, cause: RegExp, extra = {}) {
  await assert.rejects(runIngestion(h, source, extra), (err) => {
    assert.ok(err instanceof WorkflowFailedError, String(err));
    assert.match(String(err.cause?.message), cause);
    return true;
  });
  const log = (await logsOf(h, source)).at(-1);
  assert.equal(log?.status, 'failed');
  return log;
}

describe('world_bank_business: real World Bank answers (wbdata-go cassettes)', () => {
  const SOURCE = 'world_bank_business';
  let revision1: string[];

  test('setup: revision 1 from the synthetic World Bank fixture', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    revision1 = await currentLines(SOURCE);
    assert.equal(revision1.length, 20);
  });

  test('the real error envelope (id 120, HTTP 200) fails the run as SourceRejected; revision 1 stays', async () => {
    const requests: string[] = [];
    h.setHandler((req) => {
      requests.push(req.path);
      return recordedJson('world-bank', 'error-120-invalid-value.json');
    });
    try {
      const log = await failingRun(
        SOURCE,
        /failed during probe: World Bank rejected indicator IC\.BUS\.NREG \(countries BJ\): 120 Invalid value The provided parameter value is not valid\./,
      );
      assert.equal(log?.errorClass, 'SourceRejected');
    } finally {
      h.setHandler(null);
    }
    assert.deepEqual(requests, ['/v2/country/BJ/indicator/IC.BUS.NREG'], 'not retried: one request');
    assert.deepEqual(await currentLines(SOURCE), revision1);
  });

  // needs the snapshot guard
  test('the real empty answer ([{"page":0,…},null]) is refused as SuspiciousSnapshot; revision 1 stays current', async () => {
    h.setHandler(() => recordedJson('world-bank', 'empty-no-data.json'));
    try {
      const log = await failingRun(SOURCE, /empty and would remove all 20 current rows/);
      assert.equal(log?.errorClass, 'SuspiciousSnapshot');
    } finally {
      h.setHandler(null);
    }
    assert.deepEqual(await currentLines(SOURCE), revision1);
    const version = await h.db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: SOURCE } } });
    assert.equal(
      await h.db.prisma.datasetRevision.count({ where: { datasetVersionId: version.id } }),
      1,
      'no revision 2',
    );
  });
});

describe('openstreetmap: real Overpass answers (overpass-api-python-wrapper, python-overpy)', () => {
  const SOURCE = 'openstreetmap';
  let served = 'cafes-brasilia-trimmed.json';

  before(async () => {
    h.mount(SOURCE, (req) =>
      req.method === 'POST' && req.path === '/interpreter'
        ? recordedJson('overpass', served)
        : jsonResponse({ error: 'not found' }, 404),
    );
    // The recorded answer is Brasília's cafés: one 0.5° tile over them, the one selector it answers.
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: {
        params: {
          bbox: { south: -15.9, west: -48.0, north: -15.7, east: -47.8 },
          tileSize: 0.5,
          selectors: ['node["amenity"="cafe"]'],
        },
      },
    });
  });

  test('a real `[out:json]` answer of 12 tagged nodes becomes revision 1, UTF-8 names intact', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 12);
    assert.equal(result.recordsRejected, 0);
    const [log] = await logsOf(h, SOURCE);
    // "timestamp_osm_base": "2021-09-06T06:22:14Z"
    assert.equal(log?.probeToken, '2021-09-06T06:22:14Z');
    assert.deepEqual(await currentAttributes(SOURCE, 'osm|node/2691239509'), {
      kind: 'amenity',
      // "addr:place": "Asa Sul", "addr:street": "Cls 410", "amenity": "cafe", "cuisine": "pizza", "name": "Gentil"
      tags: { 'addr:place': 'Asa Sul', 'addr:street': 'Cls 410', amenity: 'cafe', name: 'Gentil' },
      // "lat": -15.8268000, "lon": -47.9062800
      geometry: { type: 'Point', coordinates: [-47.90628, -15.8268] },
    });
    assert.deepEqual((await currentAttributes(SOURCE, 'osm|node/3051977281'))?.tags, {
      amenity: 'cafe',
      name: 'Amor à Torta',
    });
    assert.deepEqual((await currentAttributes(SOURCE, 'osm|node/3139274344'))?.tags, { amenity: 'cafe' });
  });

  test('the same answer again: the unchanged timestamp_osm_base is a no_change run', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
  });

  test('a real "runtime error: Query timed out" remark fails the run (PartialResult); revision 1 stays', async () => {
    served = 'remark-runtime-error-01.json';
    try {
      const log = await failingRun(SOURCE, /runtime error: Query timed out in \\"query\\" at line 4 after 2 seconds\./);
      assert.equal(log?.errorClass, 'PartialResult');
    } finally {
      served = 'cafes-brasilia-trimmed.json';
    }
    assert.equal((await currentLines(SOURCE)).length, 12);
  });
});

describe('un_comtrade: real Comtrade answers (comtradr httptest2 mocks)', () => {
  const SOURCE = 'un_comtrade';
  let checksum = 'recorded-test-1';
  let data = 'get-C-A-HS-chn-2010-total.json';
  const paths: string[] = [];

  before(async () => {
    h.mount(SOURCE, (req) => {
      paths.push(req.path);
      if (req.path === '/public/v1/getDa/C/A/HS') {
        // Written here, not recorded: no real getDa body was found (README, Sources).
        return jsonResponse({
          elapsedTime: '0.01 secs',
          count: 1,
          data: [{ period: '2010', datasetChecksum: checksum, lastReleased: '2021-01-01T00:00:00' }],
          error: '',
        });
      }
      if (req.path === '/public/v1/preview/C/A/HS') return recordedJson('comtrade', data);
      return jsonResponse({ statusCode: 404, message: 'Resource not found' }, 404);
    });
    // The recorded answer: China (156), 2010, imports and exports with Argentina and Germany, TOTAL.
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: { params: { reporterCode: '156', periods: ['2010'], flowCodes: ['M', 'X'] } },
    });
  });

  test('a real data answer (4 TOTAL rows) becomes revision 1 with the values the body holds', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 4);
    assert.deepEqual(paths, ['/public/v1/getDa/C/A/HS', '/public/v1/preview/C/A/HS']);
    assert.deepEqual(await currentLines(SOURCE), [
      // "flowCode": "M", "partnerCode": 276, "primaryValue": 74251272075.0
      'comtrade|156|M|276|TOTAL 2010 74251272075',
      // "flowCode": "M", "partnerCode": 32, "primaryValue": 6804128143.0
      'comtrade|156|M|32|TOTAL 2010 6804128143',
      // "flowCode": "X", "partnerCode": 276, "primaryValue": 68047133397.0
      'comtrade|156|X|276|TOTAL 2010 68047133397',
      // "flowCode": "X", "partnerCode": 32, "primaryValue": 6115764185.0
      'comtrade|156|X|32|TOTAL 2010 6115764185',
    ]);
    const attributes = await currentAttributes(SOURCE, 'comtrade|156|X|32|TOTAL');
    assert.equal(attributes?.cmdDesc, 'All Commodities');
    assert.equal(attributes?.flowDesc, 'Export');
  });

  // needs the snapshot guard
  test('a real empty answer (count 0) is refused as SuspiciousSnapshot; revision 1 stays current', async () => {
    checksum = 'recorded-test-2';
    data = 'bulk-get-C-A-HS-empty.json';
    try {
      const log = await failingRun(SOURCE, /empty and would remove all 4 current rows/);
      assert.equal(log?.errorClass, 'SuspiciousSnapshot');
    } finally {
      data = 'get-C-A-HS-chn-2010-total.json';
    }
    assert.equal((await currentLines(SOURCE)).length, 4);
  });
});

describe('unido: real legacy INDSTAT answers (dimant/unidostat sample data)', () => {
  const SOURCE = 'unido';
  const ACCOUNT = { username: 'recorded-test', password: 'not-a-real-password' };
  const byCountry: Record<string, string> = {
    '804': 'dbdata-ukraine-output.json',
    '300': 'dbdata-greece-output.json',
  };
  const forms: URLSearchParams[] = [];

  before(async () => {
    const handler: FixtureHandler = (req) => {
      const form = new URLSearchParams(req.body);
      forms.push(form);
      const file = byCountry[form.get('cc') ?? ''];
      if (req.method !== 'POST' || req.path !== '/rest/dbdata' || !file) {
        return jsonResponse({ 'api.responseStatus': 404, 'api.responseText': 'Not Found' }, 404);
      }
      return recordedJson('unido', file);
    };
    h.mount(SOURCE, handler);
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: {
        isActive: true,
        params: {
          mode: 'legacy_api',
          db: 'INDSTAT 2 2015, ISIC Revision 3',
          countries: ['804', '300'],
          variables: ['14'],
          startYear: 1963,
          endYear: 2012,
        },
      },
    });
    await h.db.prisma.dataSourceConfig.updateMany({
      where: { dataSource: { name: SOURCE } },
      data: { username: ACCOUNT.username, apiKeyEncrypted: encryptSecret(ACCOUNT.password, TEST_SECRET_KEY) },
    });
  });

  test('two real dbdata answers (Ukraine 21 years, Greece 46 years) become revision 1', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 21 + 46);
    assert.equal(result.recordsRejected, 0);
    assert.deepEqual(
      forms.map((f) => `${f.get('cc')} ${f.get('variable')} ${f.get('start')}-${f.get('end')}`),
      ['804 14 1963-2012', '300 14 1963-2012'],
    );
    const lines = await currentLines(SOURCE);
    // Ukraine: "year": 2007, "value": "104982712871"; the first year is 1992 ("value": "88392727273").
    assert.ok(lines.includes('unido|804|D|Output 2007 104982712871'));
    assert.ok(lines.includes('unido|804|D|Output 1992 88392727273'));
    // Greece: "year": 1963, "value": "1464965187" … "year": 2012, "value": "67589625514"; 1999-2002 are absent.
    assert.ok(lines.includes('unido|300|D|Output 1963 1464965187'));
    assert.ok(lines.includes('unido|300|D|Output 2012 67589625514'));
    assert.deepEqual(
      lines.filter((l) => / (1999|2000|2001|2002) /.test(l) && l.startsWith('unido|300|')),
      [],
    );
  });

  test('the same answers again: no change signal, the unchanged content makes no revision', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
  });
});

describe('ilostat: real rplumber answers (cyanheads/ilostat-mcp-server recorded fixtures)', () => {
  const SOURCE = 'ilostat';
  const ID = 'UNE_DEAP_SEX_AGE_RT_A';
  // The recorded table of contents is JSON (format=.json); the connector reads the CSV one, so this TOC is
  // written here from the recorded entries' `id` and `last.update`, nothing else.
  const recordedToc = JSON.parse(recordedText('ilostat', 'toc-indicator.json')) as Record<string, unknown>[];
  let stamps = new Map(recordedToc.map((e) => [String(e.id), String(e['last.update'])]));
  const tocCsv = () => `"id","last.update"\n${[...stamps].map(([id, stamp]) => `"${id}","${stamp}"`).join('\n')}\n`;
  let byArea: Record<string, string> = {
    KEN: 'une-deap-sex-age-rt-a-ken.csv',
    USA: 'une-deap-sex-age-rt-a-usa.csv',
  };
  const requests: string[] = [];
  // rplumber sends every body as an attachment (application/octet-stream).
  const csvBody = (body: string | Buffer): FixtureResponse => ({
    status: 200,
    headers: { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment; filename=response.csv' },
    body,
  });

  before(async () => {
    h.mount(SOURCE, (req) => {
      requests.push(`${req.path}?${req.query}`);
      if (req.path === '/metadata/toc/indicator/') return csvBody(tocCsv());
      const file = byArea[req.query.get('ref_area') ?? ''];
      if (req.path === '/data/indicator/' && req.query.get('id') === ID && file)
        return csvBody(recorded('ilostat', file));
      return jsonResponse({ error: 'deprecated or invalid dataset id' }, 400);
    });
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: { params: { indicators: [ID], refAreas: ['KEN', 'USA'] } },
    });
  });

  test('two real /data/indicator CSV answers (Kenya 6 rows, USA 18 rows) become revision 1', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 6 + 18);
    assert.equal(result.recordsRejected, 0);
    assert.deepEqual(requests, [
      '/metadata/toc/indicator/?lang=en&format=.csv',
      `/data/indicator/?id=${ID}&ref_area=KEN&format=.csv`,
      `/data/indicator/?id=${ID}&ref_area=USA&format=.csv`,
    ]);
    // toc-indicator.json: "id": "UNE_DEAP_SEX_AGE_RT_A", … "last.update": "24/09/2026 07:10:19"
    assert.equal((await logsOf(h, SOURCE))[0]?.probeToken, `${ID}=2026-09-24T07:10:19`);
    const lines = await currentLines(SOURCE);
    assert.equal(lines.length, 24);
    const ken = 'UNE_DEAP_SEX_AGE_RT|KEN|SEX_T|AGE_YTHADULT_YGE15';
    // ken.csv line 2: …,"2021",5.585,,,,"R1:3513"; line 5: …,"2009",9.6,,,, (no note at all)
    assert.ok(lines.includes(`${ken} 2021 5.585`));
    assert.ok(lines.includes(`${ken} 2009 9.6`));
    assert.ok(lines.includes(`${ken} 1999 10.004`));
    // usa.csv line 7: "USA","BA:453",…,"SEX_F","AGE_YTHADULT_Y15-24","2025",9.002,"B","C6:1058","I11:264","R1:3513_R1:2803_T2:85"
    const usaYouthWomen = 'UNE_DEAP_SEX_AGE_RT|USA|SEX_F|AGE_YTHADULT_Y15-24';
    assert.ok(lines.includes(`${usaYouthWomen} 2025 9.002`));
    // usa.csv line 16: …,"SEX_M","AGE_YTHADULT_YGE15","2023",3.8,,,,"R1:3513_T2:85"
    assert.ok(lines.includes('UNE_DEAP_SEX_AGE_RT|USA|SEX_M|AGE_YTHADULT_YGE15 2023 3.8'));
    const attributesOf = async (key: string, period: string) => {
      const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE), { seriesKey: key });
      return rows.find((r) => r.period === period)?.attributes;
    };
    assert.deepEqual(await attributesOf(usaYouthWomen, '2025'), {
      source: 'BA:453',
      obs_status: 'B',
      note_classif: 'C6:1058',
      note_indicator: 'I11:264',
      note_source: 'R1:3513_R1:2803_T2:85',
    });
    // ken.csv line 5: "KEN","AA:1311",…,"2009",9.6,,,, — the blank cells are not stored as empty attributes.
    assert.deepEqual(await attributesOf(ken, '2009'), { source: 'AA:1311' });
  });

  test('the same last.update again is a no_change run', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
  });

  // needs the snapshot guard
  test('the real header-only answer for both areas is refused as SuspiciousSnapshot; revision 1 stays', async () => {
    // A later stamp (written here) so that the run fetches; both areas answer the recorded header-only body.
    stamps = new Map([[ID, '25/09/2026 07:10:19']]);
    byArea = { KEN: 'header-only.csv', USA: 'header-only.csv' };
    const log = await failingRun(SOURCE, /empty and would remove all 24 current rows/);
    assert.equal(log?.errorClass, 'SuspiciousSnapshot');
    assert.equal((await currentLines(SOURCE)).length, 24);
  });
});

describe('faostat: the real bulk catalogue (hwam91/open-ag-library) and a quoted QCL CSV excerpt', () => {
  const SOURCE = 'faostat';
  const requests: string[] = [];

  before(async () => {
    // The zip container is written here: no recorded zip was found, only the first line of the CSV inside it.
    const zip = await zipBuffer([
      {
        name: 'Production_Crops_Livestock_E_All_Data_(Normalized).csv',
        data: recorded('faostat', 'qcl-normalized-first-row.csv'),
      },
    ]);
    h.mount(SOURCE, (req) => {
      requests.push(req.path);
      if (req.path === '/bulk/datasets_E.json') return recordedJson('faostat', 'datasets_E-AE-QCL.json');
      if (req.path === '/bulk/qcl.zip')
        return { status: 200, headers: { 'content-type': 'application/zip' }, body: zip };
      return {
        status: 403,
        headers: { 'content-type': 'application/xml' },
        body: '<Error><Code>AccessDenied</Code></Error>',
      };
    });
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: {
        params: {
          route: 'bulk',
          datasetCode: 'QCL',
          areas: ['2'],
          bulkCatalogUrl: 'bulk/datasets_E.json',
          zipUrl: 'bulk/qcl.zip',
        },
      },
    });
  });

  test("the catalogue's QCL entry is the probe; the recorded CSV row is stored with the canonical value", async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 1);
    assert.deepEqual(requests, ['/bulk/datasets_E.json', '/bulk/datasets_E.json', '/bulk/qcl.zip']);
    // datasets_E-AE-QCL.json, the QCL entry: "DateUpdate":"2025-12-31T00:00:00", "FileSize":"33127KB", "FileRows":4209110
    assert.equal((await logsOf(h, SOURCE))[0]?.probeToken, '2025-12-31T00:00:00|4209110|33127KB');
    // qcl-normalized-first-row.csv line 2:
    // "2","'004","Afghanistan","221","'01371","Almonds, in shell","5312","Area harvested","1961","1961","ha","0.000000","A",
    assert.deepEqual(await currentLines(SOURCE), ['QCL|2|221|5312 1961 0']);
    assert.deepEqual(await currentAttributes(SOURCE, 'QCL|2|221|5312'), {
      area: 'Afghanistan',
      item: 'Almonds, in shell',
      element: 'Area harvested',
      flag: 'A',
    });
  });

  test('the same catalogue again: the unchanged DateUpdate|FileRows|FileSize is a no_change run', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
  });
});

describe('ilo_sdmx: a real ILO SDMX-CSV answer and dataflow structure (cyanheads/ilostat-mcp-server fixtures)', () => {
  const SOURCE = 'ilo_sdmx';
  const requests: string[] = [];

  before(async () => {
    h.mount(SOURCE, (req) => {
      requests.push(`${req.path}${req.query.size > 0 ? `?${req.query}` : ''}`);
      if (req.path === '/dataflow/ILO/DF_UNE_DEAP_SEX_AGE_RT/1.0') {
        return recordedBody('sdmx', 'ilo/structure-UNE_DEAP_SEX_AGE_RT.json', SDMX_CONTENT_TYPES.iloStructure);
      }
      if (req.path === '/data/ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0/ABW....') {
        return recordedBody('sdmx', 'ilo/probe-UNE_DEAP_SEX_AGE_RT.csv', SDMX_CONTENT_TYPES.iloCsv);
      }
      // Written here: ILO's answer to a query without data, as PROVENANCE.md quotes it.
      return {
        status: 404,
        headers: { 'content-type': 'text/plain' },
        body: 'No data is found. Please adjust your query parameters and try again.',
      };
    });
    // The recorded answer is Aruba's (key ABW....); the catalog asks for Benin (BEN....), which has no recording.
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: { params: { agency: 'ILO', dataflow: 'DF_UNE_DEAP_SEX_AGE_RT', version: '1.0', key: 'ABW....' } },
    });
  });

  test('the real SDMX-CSV answer (2 rows) becomes revision 1; the dataflow LAST_UPDATE is the probe token', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 2);
    assert.equal(result.recordsRejected, 0);
    assert.deepEqual(requests, [
      '/dataflow/ILO/DF_UNE_DEAP_SEX_AGE_RT/1.0',
      '/data/ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0/ABW....',
    ]);
    // structure-UNE_DEAP_SEX_AGE_RT.json: "title": "20/09/2026 07:33:33", "type": "LAST_UPDATE"
    assert.equal(
      (await logsOf(h, SOURCE))[0]?.probeToken,
      '2026-09-20T07:33:33|data/ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0/ABW....|csv-1.0.0',
    );
    assert.deepEqual(await currentLines(SOURCE), [
      // line 3: ILO:DF_UNE_DEAP_SEX_AGE_RT(1.0),ABW,A,UNE_DEAP_RT,SEX_M,AGE_YTHADULT_YGE15,2011,8.6,,RT,PT,0,…
      'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_M.AGE_YTHADULT_YGE15 2011 8.6',
      // line 2: …,ABW,A,UNE_DEAP_RT,SEX_T,AGE_YTHADULT_YGE15,2011,8.9,,RT,PT,0,LFS - Labour Force Survey,,,,1,,
      'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_T.AGE_YTHADULT_YGE15 2011 8.9',
    ]);
    const [row] = await observationsAsOf(h.db.pool, await h.versionId(SOURCE), {
      seriesKey: 'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_T.AGE_YTHADULT_YGE15',
    });
    assert.equal(row?.unit, 'PT');
    assert.deepEqual(row?.attributes, {
      UNIT_MEASURE_TYPE: 'RT',
      UNIT_MULT: '0',
      SOURCE: 'LFS - Labour Force Survey',
      DECIMALS: '1',
    });
  });

  test('the same LAST_UPDATE again is a no_change run without a data request', async () => {
    requests.length = 0;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
    assert.deepEqual(requests, ['/dataflow/ILO/DF_UNE_DEAP_SEX_AGE_RT/1.0']);
  });

  // needs the snapshot guard
  test('ILO\'s 404 "No data is found" for another key is an empty snapshot: refused with the params hint', async () => {
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: { params: { agency: 'ILO', dataflow: 'DF_UNE_DEAP_SEX_AGE_RT', version: '1.0', key: 'BEN....' } },
    });
    try {
      const log = await failingRun(
        SOURCE,
        /empty and would remove all 2 current rows; the current revision is kept\. ILO DF_UNE_DEAP_SEX_AGE_RT key BEN\.\.\.\. has no data .*check params\.key/,
      );
      assert.equal(log?.errorClass, 'SuspiciousSnapshot');
    } finally {
      await h.db.prisma.dataSource.update({
        where: { name: SOURCE },
        data: { params: { agency: 'ILO', dataflow: 'DF_UNE_DEAP_SEX_AGE_RT', version: '1.0', key: 'ABW....' } },
      });
    }
    assert.equal((await currentLines(SOURCE)).length, 2);
  });
});

describe('ecb_sdmx: a real ECB csvdata answer (Analyse-Pro cache) and EXR structure (pandaSDMX specimen)', () => {
  const SOURCE = 'ecb_sdmx';
  const requests: string[] = [];

  before(async () => {
    h.mount(SOURCE, (req) => {
      requests.push(`${req.path}${req.query.size > 0 ? `?${req.query}` : ''}`);
      if (req.path === '/dataflow/ECB/EXR/latest') {
        return recordedBody(
          'sdmx',
          'ecb/dataflow-exr-references-all.structure-2.1.xml',
          SDMX_CONTENT_TYPES.ecbStructure,
        );
      }
      if (req.path === '/data/ECB,EXR/D.USD.EUR.SP00.A' && req.query.get('format') === 'csvdata') {
        return recordedBody('sdmx', 'ecb/exr-d-usd-eur-sp00-a-last720.csvdata.csv', SDMX_CONTENT_TYPES.ecbCsv);
      }
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'No results found.' };
    });
    // The recorded answer is the daily series (D.USD.EUR.SP00.A); the catalog asks for the monthly one.
    await h.db.prisma.dataSource.update({
      where: { name: SOURCE },
      data: { params: { agency: 'ECB', dataflow: 'EXR', key: 'D.USD.EUR.SP00.A', flavour: 'ecb' } },
    });
  });

  test('the real csvdata answer (720 business days) becomes revision 1; no LAST_UPDATE, so no probe token', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 720);
    assert.equal(result.recordsRejected, 0);
    assert.deepEqual(requests, ['/dataflow/ECB/EXR/latest', '/data/ECB,EXR/D.USD.EUR.SP00.A?format=csvdata']);
    assert.equal((await logsOf(h, SOURCE))[0]?.probeToken, null);
    const lines = await currentLines(SOURCE);
    assert.equal(lines.length, 720);
    // line 2: EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2023-01-04,1.0599,…; line 721: …,2025-10-28,1.163,…
    assert.ok(lines.includes('EXR|D.USD.EUR.SP00.A 2023-01-04 1.0599'));
    assert.ok(lines.includes('EXR|D.USD.EUR.SP00.A 2025-10-28 1.163'));
    // line 510: …,2024-12-31,1.0389,…
    assert.ok(lines.includes('EXR|D.USD.EUR.SP00.A 2024-12-31 1.0389'));
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE), { seriesKey: 'EXR|D.USD.EUR.SP00.A' });
    assert.equal(rows[0]?.unit, 'USD');
    assert.equal(rows[0]?.attributes?.TITLE_COMPL, 'ECB reference exchange rate, US dollar/Euro, 2.15 pm (C.E.T.)');
    assert.equal(rows[0]?.attributes?.UNIT_MULT, '0');
  });

  test('the same answer again: every check fetches, the unchanged content makes no revision', async () => {
    requests.length = 0;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
    assert.deepEqual(requests, ['/dataflow/ECB/EXR/latest', '/data/ECB,EXR/D.USD.EUR.SP00.A?format=csvdata']);
  });
});
