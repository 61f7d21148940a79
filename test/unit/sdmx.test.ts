// The SDMX connector over real loopback HTTP. The fixture server answers with the bodies ILO and the ECB sent
// (test/fixtures/recorded/sdmx/, see its PROVENANCE.md) byte for byte; only the choice of body is the test's.
// Every expected value was read by hand off the recorded body; the comments quote where. Where no recorded
// body exists (ILO's plain-text refusals, an answer with a missing value, an SDMX-CSV 2.0 answer with a time
// dimension), the test writes that one body and says so.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { type ObservationRow, RowRejected } from '../../sources/kit/types';
import { type SdmxParams, SdmxParamsSchema, sdmxConnector, transformSdmxRecord } from '../../sources/specs/sdmx';
import { isoLastUpdate } from '../../sources/specs/sdmx/structure';
import { dataUrl, structureUrl } from '../../sources/specs/sdmx/urls';
import { type FixtureHandler, type FixtureServer, startFixtureServer, textResponse } from '../fixtures/fixture-server';
import { recordedBody, recordedText, SDMX_CONTENT_TYPES } from '../fixtures/recorded';
import { assertFailure, collect } from '../helpers/assertions';
import { testSourceContext } from '../helpers/source-context';

const text = (name: string) => recordedText('sdmx', name);
const { iloCsv: ILO_CSV, iloStructure: ILO_STRUCTURE } = SDMX_CONTENT_TYPES;
const body = (name: string, contentType: string, status = 200) => recordedBody('sdmx', name, contentType, status);

const UNE = { agency: 'ILO', dataflow: 'DF_UNE_DEAP_SEX_AGE_RT', version: '1.0' };
const EAP = {
  agency: 'ILO',
  dataflow: 'DF_EAP_DWAP_SEX_AGE_RT',
  version: '1.0',
  // The recorded query (PROVENANCE.md): SEX_O is asked for, the answer has no SEX_O data.
  key: 'CHL.A..SEX_O+SEX_F+SEX_M+SEX_T.AGE_YTHADULT_YGE15',
  startPeriod: '2010',
  endPeriod: '2022',
  format: 'json',
};
const EXR_DAILY = { agency: 'ECB', dataflow: 'EXR', key: 'D.USD.EUR.SP00.A', flavour: 'ecb' };

const params = (p: unknown): SdmxParams => SdmxParamsSchema.parse(p);
const rowsOf = (records: unknown[], p: SdmxParams): ObservationRow[] =>
  records.flatMap((r) => sdmxConnector.transform(r, p));
const lines = (rows: ObservationRow[]) => rows.map((r) => `${r.seriesKey} ${r.period} ${r.value}`);
/** Spool folders of this process left by the JSON reader (it must remove them however it ends). */
const spoolDirs = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`tedi-spool-${process.pid}-sdmx-json-`));

describe('SDMX params', () => {
  test('defaults: latest version, every series, SDMX-CSV 1.0, standard content negotiation', () => {
    assert.deepEqual(params({ agency: 'ECB', dataflow: 'EXR' }), {
      agency: 'ECB',
      dataflow: 'EXR',
      version: 'latest',
      key: 'all',
      format: 'csv',
      formatVersion: '1.0.0',
      flavour: 'standard',
    });
    assert.equal(params({ agency: 'ECB', dataflow: 'EXR', key: '' }).key, 'all');
  });

  test('every error names the field and the fix', () => {
    const cases: [unknown, RegExp][] = [
      [{ dataflow: 'EXR' }, /agency is required: the id of the agency/],
      [{ agency: 'ECB' }, /dataflow is required: the dataflow id, e.g. "DF_UNE_DEAP_SEX_AGE_RT"/],
      [{ agency: 'ECB', dataflow: 'EXR', version: 'newest' }, /version must be "latest" or a version such as "1.0"/],
      [
        { agency: 'ECB', dataflow: 'EXR', key: 'M/USD' },
        /key: the SDMX key is one position per dimension in DSD order/,
      ],
      [{ agency: 'ECB', dataflow: 'EXR', startPeriod: '2020-13-45x' }, /startPeriod must be a period such as "2010"/],
      [
        { agency: 'ECB', dataflow: 'EXR', startPeriod: '2023', endPeriod: '2010' },
        /endPeriod 2010 is before startPeriod 2023/,
      ],
      [{ agency: 'ECB', dataflow: 'EXR', format: 'xml' }, /format must be "csv" \(SDMX-CSV\) or "json" \(SDMX-JSON\)/],
      [{ agency: 'ECB', dataflow: 'EXR', flavour: 'ecb', formatVersion: '2.0.0' }, /formatVersion: the "ecb" flavour/],
      [
        { agency: 'ECB', dataflow: 'EXR', dimensions: {} },
        /unknown parameter dimensions: the SDMX connector takes agency/,
      ],
    ];
    for (const [p, message] of cases) {
      const result = SdmxParamsSchema.safeParse(p);
      assert.equal(result.success, false, JSON.stringify(p));
      assert.match(result.error!.issues.map((i) => i.message).join('; '), message, JSON.stringify(p));
    }
  });
});

describe('SDMX requests', () => {
  test('the recorded ILO and ECB requests are the ones the connector sends', () => {
    // PROVENANCE.md: GET https://sdmx.ilo.org/rest/data/ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0/ABW....?lastNObservations=1
    assert.equal(
      dataUrl('https://sdmx.ilo.org/rest', params({ ...UNE, key: 'ABW....' })),
      'https://sdmx.ilo.org/rest/data/ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0/ABW....',
    );
    // GET https://data-api.ecb.europa.eu/service/data/EXR/D.USD.EUR.SP00.A?lastNObservations=720&format=csvdata
    // (the ECB help: a flowRef of agency and id takes the latest version, as the id alone does)
    assert.equal(
      dataUrl('https://data-api.ecb.europa.eu/service/', params(EXR_DAILY)),
      'https://data-api.ecb.europa.eu/service/data/ECB,EXR/D.USD.EUR.SP00.A?format=csvdata',
    );
    assert.equal(
      dataUrl('https://www.ilo.org/sdmx/rest', params(EAP)),
      'https://www.ilo.org/sdmx/rest/data/ILO,DF_EAP_DWAP_SEX_AGE_RT,1.0/CHL.A..SEX_O+SEX_F+SEX_M+SEX_T.AGE_YTHADULT_YGE15?startPeriod=2010&endPeriod=2022',
    );
    assert.equal(
      structureUrl('https://sdmx.ilo.org/rest', params(UNE)),
      'https://sdmx.ilo.org/rest/dataflow/ILO/DF_UNE_DEAP_SEX_AGE_RT/1.0',
    );
  });
});

describe('SDMX LAST_UPDATE', () => {
  test('both spellings ILO writes become ISO dates', () => {
    // structure-UNE_DEAP_SEX_AGE_RT.json line 11: "title": "20/09/2026 07:33:33" (dd/MM/yyyy HH:mm:ss)
    assert.equal(isoLastUpdate('20/09/2026 07:33:33'), '2026-09-20T07:33:33');
    // The 2023 data message, data.structure.annotations[0]: {"title":"7/13/2023 10:46:21 PM","type":"LAST_UPDATE"}
    const message = JSON.parse(text('ilo/eap-dwap-sex-age-rt-chl-2010-2022.sdmx-json-1.0.json'));
    const annotation = message.data.structure.annotations.find((a: { type: string }) => a.type === 'LAST_UPDATE');
    assert.equal(annotation.title, '7/13/2023 10:46:21 PM');
    assert.equal(isoLastUpdate(annotation.title), '2023-07-13T22:46:21');
    // 12 AM/PM, ISO as it is, and dates that do not exist.
    assert.equal(isoLastUpdate('1/2/2024 12:05:00 AM'), '2024-01-02T00:05:00');
    assert.equal(isoLastUpdate('1/2/2024 12:05:00 PM'), '2024-01-02T12:05:00');
    assert.equal(isoLastUpdate('2024-01-02T12:05:00Z'), '2024-01-02T12:05:00');
    for (const bad of ['31/02/2026 07:33:33', '13/13/2026 10:00:00 PM', '20/09/2026 25:00:00', 'yesterday']) {
      assert.equal(isoLastUpdate(bad), undefined, bad);
    }
  });
});

describe('SDMX transform', () => {
  const p = params({ ...UNE, key: 'ABW....' });
  // probe-UNE_DEAP_SEX_AGE_RT.csv line 2 as the CSV reader hands it over.
  const base = {
    dimensions: [
      ['REF_AREA', 'ABW'],
      ['FREQ', 'A'],
      ['MEASURE', 'UNE_DEAP_RT'],
      ['SEX', 'SEX_T'],
      ['AGE', 'AGE_YTHADULT_YGE15'],
    ],
    period: '2011',
    value: '8.9',
    attributes: { UNIT_MEASURE: 'PT', UNIT_MULT: '0', SOURCE: 'LFS - Labour Force Survey' },
  };

  test('missing values are null, never 0: a blank cell, JSON null, "NaN"; 0 stays 0', () => {
    for (const missing of ['', '  ', null, 'NaN']) {
      assert.equal(transformSdmxRecord({ ...base, value: missing }, p)[0]?.value, null, JSON.stringify(missing));
    }
    assert.equal(transformSdmxRecord({ ...base, value: '0.000' }, p)[0]?.value, '0');
    assert.equal(transformSdmxRecord({ ...base, value: '1.25E1' }, p)[0]?.value, '12.5');
  });

  test('a bad row is a RowRejected naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { value: 'n/a' },
        /ABW\.A\.UNE_DEAP_RT\.SEX_T\.AGE_YTHADULT_YGE15 2011: OBS_VALUE: expected a number, a blank or NaN/,
      ],
      [{ value: '1e5000' }, /OBS_VALUE: "1e5000" is out of range/],
      [{ period: '' }, /TIME_PERIOD: empty/],
      [{ period: 'last year' }, /TIME_PERIOD: expected an SDMX time period/],
      [{ dimensions: [['REF_AREA', ''], ...base.dimensions.slice(1)] }, /REF_AREA: empty dimension value/],
      [
        { dimensions: [['REF_AREA', 'A.B'], ...base.dimensions.slice(1)] },
        /REF_AREA: a dimension value cannot contain "\."/,
      ],
    ];
    for (const [change, message] of cases) {
      assert.throws(
        () => transformSdmxRecord({ ...base, ...change }, p),
        (err: unknown) => err instanceof RowRejected && message.test(err.message),
        JSON.stringify(change),
      );
    }
  });
});

describe('SDMX connector over HTTP, recorded bodies', () => {
  let server: FixtureServer;
  let handler: FixtureHandler = () => textResponse('no handler', 500);

  before(async () => {
    server = await startFixtureServer((req) => handler(req));
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.faults.clear();
  });
  after(() => server.close());

  const context = (p: unknown) => testSourceContext(sdmxConnector, { baseUrl: server.url, params: p });
  const fetchAll = async (p: unknown) => {
    const ctx = context(p);
    const records = await collect(sdmxConnector.fetch(ctx));
    return { ctx, records, rows: rowsOf(records, ctx.params) };
  };

  // ---------------------------------------------------------------------------------------------
  // SDMX-CSV

  test('ILO SDMX-CSV 1.0 (probe-UNE_DEAP_SEX_AGE_RT.csv): 2 rows, DSD-order keys, unit PT, UNIT_MULT kept', async () => {
    handler = () => body('ilo/probe-UNE_DEAP_SEX_AGE_RT.csv', ILO_CSV);
    const { rows } = await fetchAll({ ...UNE, key: 'ABW....' });
    assert.equal(server.requests[0]?.url, '/data/ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0/ABW....');
    assert.equal(server.requests[0]?.headers.accept, 'application/vnd.sdmx.data+csv;version=1.0.0');
    assert.deepEqual(rows, [
      // line 2: ILO:DF_UNE_DEAP_SEX_AGE_RT(1.0),ABW,A,UNE_DEAP_RT,SEX_T,AGE_YTHADULT_YGE15,2011,8.9,,RT,PT,0,LFS - Labour Force Survey,,,,1,,
      {
        seriesKey: 'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_T.AGE_YTHADULT_YGE15',
        period: '2011',
        value: '8.9',
        unit: 'PT',
        // The empty OBS_STATUS, NOTE_*, UPPER_BOUND and LOWER_BOUND cells leave no attribute behind.
        attributes: { UNIT_MEASURE_TYPE: 'RT', UNIT_MULT: '0', SOURCE: 'LFS - Labour Force Survey', DECIMALS: '1' },
        dimensions: { REF_AREA: 'ABW', FREQ: 'A', MEASURE: 'UNE_DEAP_RT', SEX: 'SEX_T', AGE: 'AGE_YTHADULT_YGE15' },
      },
      // line 3: …,ABW,A,UNE_DEAP_RT,SEX_M,AGE_YTHADULT_YGE15,2011,8.6,,RT,PT,0,…
      {
        seriesKey: 'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_M.AGE_YTHADULT_YGE15',
        period: '2011',
        value: '8.6',
        unit: 'PT',
        attributes: { UNIT_MEASURE_TYPE: 'RT', UNIT_MULT: '0', SOURCE: 'LFS - Labour Force Survey', DECIMALS: '1' },
        dimensions: { REF_AREA: 'ABW', FREQ: 'A', MEASURE: 'UNE_DEAP_RT', SEX: 'SEX_M', AGE: 'AGE_YTHADULT_YGE15' },
      },
    ]);
  });

  test('the other ILO probes: 4, 6 and 3 dimensions, OBS_STATUS M, UNIT_MULT 3 as an attribute', async () => {
    const cases = [
      // probe-LAP_2LID_QTL_RT.csv line 2: ILO:DF_LAP_2LID_QTL_RT(1.0),KEN,A,LAP_2LID_RT,DCL_DECILE_01,2025,0.517,M,RT,PT,0,ILO - Modelled Estimates,,,,1,,
      [
        'probe-LAP_2LID_QTL_RT.csv',
        'DF_LAP_2LID_QTL_RT',
        'KEN...',
        'DF_LAP_2LID_QTL_RT|KEN.A.LAP_2LID_RT.DCL_DECILE_01 2025 0.517',
        'PT',
        { OBS_STATUS: 'M', UNIT_MEASURE_TYPE: 'RT', UNIT_MULT: '0', SOURCE: 'ILO - Modelled Estimates', DECIMALS: '1' },
      ],
      // probe-EMP_TEMP_SEX_INS_DSB_NB.csv line 2: …,KEN,A,EMP_TEMP_NB,SEX_T,INS_SECTOR_TOTAL,DSB_STATUS_TOTAL,2019,18073.2,,NB,PS,3,LFS - Labour Force Survey,,,,1,,
      [
        'probe-EMP_TEMP_SEX_INS_DSB_NB.csv',
        'DF_EMP_TEMP_SEX_INS_DSB_NB',
        'KEN.....',
        'DF_EMP_TEMP_SEX_INS_DSB_NB|KEN.A.EMP_TEMP_NB.SEX_T.INS_SECTOR_TOTAL.DSB_STATUS_TOTAL 2019 18073.2',
        'PS',
        { UNIT_MEASURE_TYPE: 'NB', UNIT_MULT: '3', SOURCE: 'LFS - Labour Force Survey', DECIMALS: '1' },
      ],
      // probe-SDG_0552_NOC_RT.csv line 2: ILO:DF_SDG_0552_NOC_RT(1.0),KEN,A,SDG_0552_RT,2019,37.1,,RT,PT,0,LFS - Labour Force Survey,,,,1,,
      [
        'probe-SDG_0552_NOC_RT.csv',
        'DF_SDG_0552_NOC_RT',
        'KEN..',
        'DF_SDG_0552_NOC_RT|KEN.A.SDG_0552_RT 2019 37.1',
        'PT',
        { UNIT_MEASURE_TYPE: 'RT', UNIT_MULT: '0', SOURCE: 'LFS - Labour Force Survey', DECIMALS: '1' },
      ],
    ] as const;
    for (const [name, dataflow, key, line, unit, attributes] of cases) {
      handler = () => body(`ilo/${name}`, ILO_CSV);
      const { rows } = await fetchAll({ agency: 'ILO', dataflow, version: '1.0', key });
      assert.deepEqual(lines(rows), [line], name);
      assert.equal(rows[0]?.unit, unit, name);
      assert.deepEqual(rows[0]?.attributes, attributes, name);
    }
  });

  test('ECB csvdata (KEY column, CRLF, quoted commas): all 720 rows of EXR D.USD.EUR.SP00.A', async () => {
    handler = () => body('ecb/exr-d-usd-eur-sp00-a-last720.csvdata.csv', 'text/csv; charset=utf-8');
    const { rows } = await fetchAll(EXR_DAILY);
    assert.equal(server.requests[0]?.url, '/data/ECB,EXR/D.USD.EUR.SP00.A?format=csvdata');
    assert.equal(server.requests[0]?.headers.accept, '*/*', 'the ECB flavour asks with format=csvdata, no SDMX Accept');
    assert.equal(rows.length, 720);
    assert.deepEqual(new Set(rows.map((r) => r.seriesKey)), new Set(['EXR|D.USD.EUR.SP00.A']));
    const all = lines(rows);
    // line 2: EXR.D.USD.EUR.SP00.A,D,USD,EUR,SP00,A,2023-01-04,1.0599,A,F,,,P1D,,A,,,,,,,99Q1=100,,,4,,4F0,,US dollar/Euro,"ECB reference exchange rate, US dollar/Euro, 2.15 pm (C.E.T.)",USD,0
    assert.equal(all[0], 'EXR|D.USD.EUR.SP00.A 2023-01-04 1.0599');
    // line 255: …,2024-01-02,1.0956,…; line 510: …,2024-12-31,1.0389,…; line 721 (last): …,2025-10-28,1.163,…
    assert.equal(all[253], 'EXR|D.USD.EUR.SP00.A 2024-01-02 1.0956');
    assert.equal(all[508], 'EXR|D.USD.EUR.SP00.A 2024-12-31 1.0389');
    assert.equal(all[719], 'EXR|D.USD.EUR.SP00.A 2025-10-28 1.163');
    assert.equal(new Set(rows.map((r) => r.period)).size, 720, 'one row per business day, no repeat');
    assert.ok(
      rows.every((r) => r.value !== null),
      'the body has no missing value',
    );
    assert.equal(rows[0]?.unit, 'USD', 'the ECB calls the unit attribute UNIT');
    assert.deepEqual(rows[0]?.attributes, {
      OBS_STATUS: 'A',
      OBS_CONF: 'F',
      TIME_FORMAT: 'P1D',
      COLLECTION: 'A',
      UNIT_INDEX_BASE: '99Q1=100',
      DECIMALS: '4',
      SOURCE_AGENCY: '4F0',
      TITLE: 'US dollar/Euro',
      // Quoted in the body because of its commas; the CRLF after the last column (UNIT_MULT) is no part of it.
      TITLE_COMPL: 'ECB reference exchange rate, US dollar/Euro, 2.15 pm (C.E.T.)',
      UNIT_MULT: '0',
    });
  });

  test('a missing OBS_VALUE is stored as null (written here: the recorded ILO row with its value cell emptied)', async () => {
    // No recorded SDMX-CSV answer has a missing value (PROVENANCE.md, "Looked for and not found").
    const withGap = text('ilo/probe-UNE_DEAP_SEX_AGE_RT.csv').replace(
      ',SEX_M,AGE_YTHADULT_YGE15,2011,8.6,',
      ',SEX_M,AGE_YTHADULT_YGE15,2011,,',
    );
    handler = () => textResponse(withGap, 200, ILO_CSV);
    const { rows } = await fetchAll({ ...UNE, key: 'ABW....' });
    assert.deepEqual(lines(rows), [
      'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_T.AGE_YTHADULT_YGE15 2011 8.9',
      'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_M.AGE_YTHADULT_YGE15 2011 null',
    ]);
  });

  test('SDMX-CSV 2.0 (STRUCTURE, STRUCTURE_ID, ACTION) reads as 1.0 does (written here from the ILO probe)', async () => {
    // No recorded SDMX-CSV 2.0 answer has a TIME_PERIOD; this one is the ILO probe in the 2.0 layout.
    const v2 = text('ilo/probe-UNE_DEAP_SEX_AGE_RT.csv')
      .replace(/^DATAFLOW,/, 'STRUCTURE,STRUCTURE_ID,ACTION,')
      .replace(/^ILO:/gm, 'dataflow,ILO:')
      .replace(/\(1\.0\),/g, '(1.0),I,');
    handler = () => textResponse(v2, 200, 'application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8');
    const { rows } = await fetchAll({ ...UNE, key: 'ABW....', formatVersion: '2.0.0' });
    assert.equal(server.requests[0]?.headers.accept, 'application/vnd.sdmx.data+csv;version=2.0.0');
    assert.deepEqual(lines(rows), [
      'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_T.AGE_YTHADULT_YGE15 2011 8.9',
      'DF_UNE_DEAP_SEX_AGE_RT|ABW.A.UNE_DEAP_RT.SEX_M.AGE_YTHADULT_YGE15 2011 8.6',
    ]);
  });

  test('the sdmx-twg field-guide CSVs have no TIME_PERIOD column: refused, the header named', async () => {
    for (const name of ['sdmx-csv-1.0/example-1-labels-id.csv', 'sdmx-csv-2.0/example-01.csv']) {
      handler = () => body(`sdmx-twg/${name}`, ILO_CSV);
      await assertFailure(
        collect(sdmxConnector.fetch(context({ agency: 'ESTAT', dataflow: 'NA_MAIN' }))),
        FailureType.InvalidPayload,
        (f) =>
          assert.match(
            f.message,
            /the CSV header lacks TIME_PERIOD \(header: (DATAFLOW|STRUCTURE,STRUCTURE_ID,ACTION),DIM_1,DIM_2,DIM_3,OBS_VALUE/,
          ),
      );
    }
  });

  test('an answer for another area or dataflow than asked is an InvalidPayload, never stored', async () => {
    handler = () => body('ilo/probe-UNE_DEAP_SEX_AGE_RT.csv', ILO_CSV);
    await assertFailure(
      collect(sdmxConnector.fetch(context({ ...UNE, key: 'BEN....' }))),
      FailureType.InvalidPayload,
      (f) =>
        assert.match(
          f.message,
          /record 1 has REF_AREA "ABW", but params\.key "BEN\.\.\.\." asks for BEN at position 1: the key was not applied/,
        ),
    );
    await assertFailure(
      collect(sdmxConnector.fetch(context({ ...UNE, key: 'ABW...' }))),
      FailureType.InvalidPayload,
      (f) =>
        assert.match(
          f.message,
          /the answer has 5 dimensions \(REF_AREA, FREQ, MEASURE, SEX, AGE\) but params\.key "ABW\.\.\." has 4 positions/,
        ),
    );
    handler = () => body('ilo/probe-LAP_2LID_QTL_RT.csv', ILO_CSV);
    await assertFailure(
      collect(sdmxConnector.fetch(context({ ...UNE, key: 'KEN...' }))),
      FailureType.InvalidPayload,
      (f) =>
        assert.match(f.message, /row 1 is for ILO:DF_LAP_2LID_QTL_RT\(1\.0\), not ILO:DF_UNE_DEAP_SEX_AGE_RT as asked/),
    );
    handler = () => body('ecb/exr-d-usd-eur-sp00-a-last720.csvdata.csv', 'text/csv');
    await assertFailure(
      collect(sdmxConnector.fetch(context({ ...EXR_DAILY, dataflow: 'EXR2' }))),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /row 1 is for KEY "EXR\.D\.USD\.EUR\.SP00\.A", not ECB:EXR2 as asked/),
    );
  });

  test('a body cut off mid-row is an InvalidPayload, not a shorter snapshot', async () => {
    handler = () => body('ecb/exr-d-usd-eur-sp00-a-last720.csvdata.csv', 'text/csv');
    server.faults.malformedNext(1);
    await assertFailure(collect(sdmxConnector.fetch(context(EXR_DAILY))), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /row \d+ has \d+ of 32 columns \(body cut off\?\)|not a well-formed CSV/),
    );
  });

  // ---------------------------------------------------------------------------------------------
  // SDMX-JSON

  /** The 39 observations of the ILO data message (3 series × 2010…2022), read off its series members. */
  const CHL = 'DF_EAP_DWAP_SEX_AGE_RT|CHL.A.EAP_DWAP_RT';
  const SERIES_DIMENSIONS = {
    REF_AREA: 'CHL',
    FREQ: 'A',
    MEASURE: 'EAP_DWAP_RT',
    SEX: 'SEX_T',
    AGE: 'AGE_YTHADULT_YGE15',
  };
  const YEARS = Array.from({ length: 13 }, (_, i) => String(2010 + i));
  const VALUES: Record<string, string[]> = {
    // "0:0:0:0:0" (SEX_T): {"0":[58.69,…]} at byte 539 of the 1.0 body … {"12":[60.14,…]} at byte 4860
    SEX_T: [
      '58.69',
      '60.02',
      '59.75',
      '59.78',
      '60.01',
      '59.9',
      '59.66',
      '59.94',
      '59.88',
      '59.62',
      '56.36',
      '57.55',
      '60.14',
    ],
    // "0:0:0:1:0" (SEX_M): {"0":[72.34,…]} at byte 654 … {"12":[70.59,…]} at byte 4982
    SEX_M: [
      '72.34',
      '72.94',
      '72.13',
      '72.04',
      '71.84',
      '71.74',
      '71.49',
      '71.5',
      '70.79',
      '70.08',
      '67.66',
      '68.9',
      '70.59',
    ],
    // "0:0:0:2:0" (SEX_F): {"0":[45.53,…]} at byte 769 … {"12":[50.1,…]} at byte 5104
    SEX_F: [
      '45.53',
      '47.55',
      '47.8',
      '47.93',
      '48.59',
      '48.45',
      '48.21',
      '48.73',
      '49.3',
      '49.46',
      '45.53',
      '46.67',
      '50.1',
    ],
  };
  const EXPECTED_39 = Object.entries(VALUES)
    .flatMap(([sex, values]) => values.map((v, i) => `${CHL}.${sex}.AGE_YTHADULT_YGE15 ${YEARS[i]} ${v}`))
    .sort();

  test('the ILO data message repeats each series key 13 times: JSON.parse keeps 3 observations of 39', () => {
    const parsed = JSON.parse(text('ilo/eap-dwap-sex-age-rt-chl-2010-2022.sdmx-json-1.0.json'));
    const series = parsed.data.dataSets[0].series as Record<string, { observations: Record<string, unknown> }>;
    assert.deepEqual(Object.keys(series), ['0:0:0:0:0', '0:0:0:1:0', '0:0:0:2:0']);
    assert.deepEqual(
      Object.values(series).map((s) => Object.keys(s.observations)),
      [['12'], ['12'], ['12']],
      'the last member of each key wins: 2022 only',
    );
    assert.equal(text('ilo/eap-dwap-sex-age-rt-chl-2010-2022.sdmx-json-1.0.json').split('"0:0:0:0:0":').length - 1, 13);
  });

  for (const [version, name] of [
    ['1.0.0', 'ilo/eap-dwap-sex-age-rt-chl-2010-2022.sdmx-json-1.0.json'],
    ['2.0.0', 'ilo/eap-dwap-sex-age-rt-chl-2010-2022.sdmx-json-2.0.json'],
  ] as const) {
    test(`ILO SDMX-JSON ${version} with repeated series keys: all 39 observations, every one kept`, async () => {
      const before = spoolDirs();
      handler = () => body(name, `application/vnd.sdmx.data+json;version=${version}`);
      const { rows } = await fetchAll({ ...EAP, formatVersion: version });
      assert.equal(
        server.requests[0]?.url,
        '/data/ILO,DF_EAP_DWAP_SEX_AGE_RT,1.0/CHL.A..SEX_O+SEX_F+SEX_M+SEX_T.AGE_YTHADULT_YGE15?startPeriod=2010&endPeriod=2022',
      );
      assert.equal(server.requests[0]?.headers.accept, `application/vnd.sdmx.data+json;version=${version}`);
      assert.equal(rows.length, 39);
      assert.deepEqual(lines(rows).sort(), EXPECTED_39);
      // [58.69,0,0,0,0,null,0,null,null]: SOURCE 0, NOTE_SOURCE 0, NOTE_INDICATOR 0, OBS_STATUS 0 (B), DECIMALS 0 ("1")
      assert.deepEqual(rows[0], {
        seriesKey: `${CHL}.SEX_T.AGE_YTHADULT_YGE15`,
        period: '2010',
        value: '58.69',
        // "attributes":[null,null,null]: UNIT_MEASURE_TYPE, UNIT_MEASURE and UNIT_MULT are declared, not referenced.
        unit: null,
        attributes: {
          SOURCE: 'LFS - Encuesta Nacional de Empleo',
          NOTE_SOURCE: 'Repository: ILO-STATISTICS - Micro data processing',
          NOTE_INDICATOR: 'Break in series: Methodology revised',
          OBS_STATUS: 'B',
          DECIMALS: '1',
        },
        dimensions: SERIES_DIMENSIONS,
      });
      // {"1":[60.02,0,0,null,null,null,0,null,null]}: no break flags in 2011.
      assert.deepEqual(rows.find((r) => r.period === '2011' && r.seriesKey.includes('SEX_T'))?.attributes, {
        SOURCE: 'LFS - Encuesta Nacional de Empleo',
        NOTE_SOURCE: 'Repository: ILO-STATISTICS - Micro data processing',
        DECIMALS: '1',
      });
      // Only 2010 and 2020 ({"10":[56.36,0,0,0,0,…]}) carry OBS_STATUS B, in each of the three series.
      assert.deepEqual(
        rows.filter((r) => r.attributes?.OBS_STATUS === 'B').map((r) => r.period),
        ['2010', '2010', '2010', '2020', '2020', '2020'],
      );
      assert.deepEqual(spoolDirs(), before, 'the spooled body is removed');
    });
  }

  test('the sdmx-twg samples in all six layouts give the same 4 observations, keys in DSD order', async () => {
    const expected = [
      // exr-time-series.json: series "0" (NZD) observations {"0":[1.5931,0],"1":[1.5925,0]}, series "1" (RUB) {"0":[40.3426,0],"1":[40.3,0,1]}
      'EXR|D.NZD.EUR.SP00.A 2013-01-18 1.5931',
      'EXR|D.NZD.EUR.SP00.A 2013-01-21 1.5925',
      'EXR|D.RUB.EUR.SP00.A 2013-01-18 40.3426',
      'EXR|D.RUB.EUR.SP00.A 2013-01-21 40.3',
    ];
    for (const name of [
      'sdmx-json-1.0/exr-time-series.json', // pre-1.0 root layout, TIME_PERIOD without keyPosition
      'sdmx-json-1.0/exr-flat.json', // observations "0:0" over CURRENCY:TIME_PERIOD, no series
      'sdmx-json-1.0/exr-cross-section.json', // TIME_PERIOD at series level, CURRENCY at observation level
      'sdmx-json-2.0/exr-time-series.json',
      'sdmx-json-2.0/exr-flat.json',
      'sdmx-json-2.0/exr-cross-section.json',
    ]) {
      handler = () => body(`sdmx-twg/${name}`, 'application/json');
      const { rows } = await fetchAll({ agency: 'ECB', dataflow: 'EXR', format: 'json' });
      assert.deepEqual(lines(rows).sort(), expected, name);
      const rub = rows.find((r) => r.seriesKey === 'EXR|D.RUB.EUR.SP00.A' && r.period === '2013-01-21');
      // TIME_FORMAT P1D (dataset level), TITLE (series or observation level), OBS_STATUS A; the extra index 1
      // of [40.3, 0, 1] points at an annotation, not at an attribute.
      assert.deepEqual(rub?.attributes, { TIME_FORMAT: 'P1D', TITLE: 'Russian rouble (RUB)', OBS_STATUS: 'A' }, name);
    }
  });

  test('a truncated SDMX-JSON body is an InvalidPayload, and its spool file is removed', async () => {
    const before = spoolDirs();
    handler = () => body('ilo/eap-dwap-sex-age-rt-chl-2010-2022.sdmx-json-1.0.json', 'application/json');
    server.faults.malformedNext(1);
    await assertFailure(collect(sdmxConnector.fetch(context(EAP))), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /the body ends before its closing brace \(truncated\)/),
    );
    // A reader abandoned after its first record cleans up too.
    for await (const _ of sdmxConnector.fetch(context(EAP))) break;
    assert.deepEqual(spoolDirs(), before);
  });

  // ---------------------------------------------------------------------------------------------
  // Refusals and empty answers (ILO's plain-text bodies, as PROVENANCE.md quotes them: written here)

  test('ILO\'s 404 "No data is found" is an empty snapshot: no record, and a hint naming the params', async () => {
    handler = () => textResponse('No data is found. Please adjust your query parameters and try again.', 404);
    const ctx = context({ ...UNE, key: 'BEN....' });
    assert.deepEqual(await collect(sdmxConnector.fetch(ctx)), []);
    assert.deepEqual(ctx.logs, ['SDMX: no data for the query (HTTP 404)']);
    const hint = sdmxConnector.snapshot?.emptyHint?.(ctx.params);
    assert.match(
      String(hint),
      /^ILO DF_UNE_DEAP_SEX_AGE_RT key BEN\.\.\.\. has no data .*check params\.key.*params\.dataflow/,
    );
  });

  test('422 (wrong key arity) is SourceRejected with the server words; 500 (ORA-00936) SourceUnavailable', async () => {
    handler = () => textResponse('Not enough key values in query, expecting 5 got 3', 422);
    await assertFailure(
      collect(sdmxConnector.fetch(context({ ...UNE, key: 'BEN..' }))),
      FailureType.SourceRejected,
      (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(
          f.message,
          /answered HTTP 422: Not enough key values in query, expecting 5 got 3\. Check params\.key/,
        );
      },
    );
    handler = () =>
      textResponse('ORA-00936: missing expression\nhttps://docs.oracle.com/error-help/db/ora-00936/', 500);
    await assertFailure(
      collect(sdmxConnector.fetch(context({ ...UNE, key: 'XXX....' }))),
      FailureType.SourceUnavailable,
      (f) => assert.match(f.message, /answered HTTP 500: ORA-00936: missing expression/),
    );
  });

  // ---------------------------------------------------------------------------------------------
  // Probe

  test('probe: the ILO dataflow LAST_UPDATE (dd/MM/yyyy) is the token, with the data query it covers', async () => {
    handler = () => body('ilo/structure-UNE_DEAP_SEX_AGE_RT.json', ILO_STRUCTURE);
    const result = await sdmxConnector.probe(context({ ...UNE, key: 'BEN....' }));
    assert.equal(server.requests[0]?.url, '/dataflow/ILO/DF_UNE_DEAP_SEX_AGE_RT/1.0');
    assert.equal(server.requests[0]?.headers.accept, 'application/vnd.sdmx.structure+json;version=1.0');
    // line 11: "title": "20/09/2026 07:33:33", line 12: "type": "LAST_UPDATE"
    assert.deepEqual(result, {
      token: '2026-09-20T07:33:33|data/ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0/BEN....|csv-1.0.0',
      note: 'LAST_UPDATE 2026-09-20T07:33:33 (SDMX-JSON dataflow annotation)',
    });
    // Another key (or format) under the same LAST_UPDATE is another token: the new query is fetched.
    const other = await sdmxConnector.probe(context({ ...UNE, key: 'TGO....' }));
    assert.notEqual(other.token, result.token);

    handler = () => body('ilo/structure-SDG_0552_NOC_RT.json', ILO_STRUCTURE);
    // structure-SDG_0552_NOC_RT.json line 11: "title": "18/09/2026 07:04:04"
    const sdg = await sdmxConnector.probe(context({ agency: 'ILO', dataflow: 'DF_SDG_0552_NOC_RT', key: 'KEN..' }));
    assert.equal(sdg.token, '2026-09-18T07:04:04|data/ILO,DF_SDG_0552_NOC_RT/KEN..|csv-1.0.0');
  });

  test('probe: a structure message for another dataflow is an InvalidPayload naming what it holds', async () => {
    handler = () => body('ilo/structure-SDG_0552_NOC_RT.json', ILO_STRUCTURE);
    await assertFailure(sdmxConnector.probe(context(UNE)), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /no dataflow ILO:DF_UNE_DEAP_SEX_AGE_RT \(dataflows: ILO:DF_SDG_0552_NOC_RT\)/),
    );
  });

  test('probe: the ECB SDMX-ML structure has no LAST_UPDATE: no token (every check fetches), a header-free sha256 in the note', async () => {
    const xml = text('ecb/dataflow-exr-references-all.structure-2.1.xml');
    handler = () => textResponse(xml, 200, 'application/vnd.sdmx.structure+xml;version=2.1');
    const ctx = context({ agency: 'ECB', dataflow: 'EXR', key: 'M.USD.EUR.SP00.A', flavour: 'ecb' });
    const result = await sdmxConnector.probe(ctx);
    assert.equal(server.requests[0]?.url, '/dataflow/ECB/EXR/latest');
    assert.equal(server.requests[0]?.headers.accept, 'application/vnd.sdmx.structure+xml;version=2.1');
    assert.equal(result.token, null);
    assert.match(
      String(result.note),
      /^no LAST_UPDATE annotation; SDMX-ML structure sha256 [0-9a-f]{16} \(header left out\)/,
    );
    // Every answer has its own message ID and Prepared time (<mes:ID>IDREF282261</mes:ID>,
    // <mes:Prepared>2018-06-01T20:08:17</mes:Prepared>): written here, the same body answered later.
    const later = xml.replace('IDREF282261', 'IDREF999999').replace('2018-06-01T20:08:17', '2018-06-02T08:00:00');
    assert.notEqual(later, xml);
    handler = () => textResponse(later, 200, 'application/vnd.sdmx.structure+xml;version=2.1');
    assert.equal((await sdmxConnector.probe(ctx)).note, result.note);
  });

  test('probe: an unknown dataflow (404 "Could not find requested structures", written here) is a ConfigurationError', async () => {
    handler = () => textResponse('Could not find requested structures', 404);
    await assertFailure(
      sdmxConnector.probe(context({ ...UNE, dataflow: 'DF_NOPE' })),
      FailureType.ConfigurationError,
      (f) =>
        assert.match(
          f.message,
          /no such dataflow \(HTTP 404: Could not find requested structures\)\. Fix params\.agency, params\.dataflow/,
        ),
    );
  });
});
