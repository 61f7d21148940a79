// The ILOSTAT connector over real loopback HTTP against a fixture that writes rplumber's CSV.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { RowRejected } from '../../sources/kit/types';
import {
  dataUrl,
  IlostatParamsSchema,
  ilostatConnector,
  isoLastUpdate,
  transformIlostatRow,
} from '../../sources/specs/ilostat';
import { type FixtureHandler, type FixtureServer, startFixtureServer, textResponse } from '../fixtures/fixture-server';
import {
  BY_OCCUPATION,
  createIlostatFixture,
  csvLine,
  type IlostatFixture,
  TEMPORARY,
  UNEMPLOYMENT,
} from '../fixtures/ilostat';
import { assertFailure, collect } from '../helpers/assertions';
import { testSourceContext } from '../helpers/source-context';

describe('ILOSTAT params', () => {
  test('refAreas defaults to Benin and is upper-cased', () => {
    assert.deepEqual(IlostatParamsSchema.parse({ indicators: [UNEMPLOYMENT] }).refAreas, ['BEN']);
    assert.deepEqual(IlostatParamsSchema.parse({ indicators: [UNEMPLOYMENT], refAreas: ['tgo'] }).refAreas, ['TGO']);
  });

  test('errors name the field', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /indicators is required/],
      [{ indicators: [] }, /indicators is empty/],
      [{ indicators: ['UNE_DEAP_SEX_AGE_RT'] }, /indicator and its frequency/],
      [{ indicators: [UNEMPLOYMENT, UNEMPLOYMENT] }, /indicators lists an id twice/],
      [{ indicators: [UNEMPLOYMENT], refAreas: ['BJ'] }, /refAreas: use ISO 3166 alpha-3/],
      [{ indicators: [UNEMPLOYMENT], countries: ['BEN'] }, /unknown parameter countries/],
    ];
    for (const [params, message] of cases) {
      const result = IlostatParamsSchema.safeParse(params);
      assert.equal(result.success, false, JSON.stringify(params));
      assert.match(result.error!.issues.map((i) => i.message).join('; '), message, JSON.stringify(params));
    }
  });

  test('last.update dd/mm/YYYY HH:MM:SS → ISO', () => {
    assert.equal(isoLastUpdate('30/05/2024 12:00:00'), '2024-05-30T12:00:00');
    assert.equal(isoLastUpdate('2024-05-30'), undefined);
  });
});

describe('ILOSTAT connector over HTTP', () => {
  let server: FixtureServer;
  let ilo: IlostatFixture;
  /** Replaces the fixture for one test (a body the real fixture never writes). */
  let override: FixtureHandler | null = null;

  before(async () => {
    server = await startFixtureServer((req) => (override ?? ilo.handler)(req));
  });
  beforeEach(() => {
    ilo = createIlostatFixture();
    override = null;
    server.faults.clear();
    server.requests.length = 0;
  });
  after(() => server.close());

  const context = (params: unknown = { indicators: [UNEMPLOYMENT, TEMPORARY] }) =>
    testSourceContext(ilostatConnector, { baseUrl: server.url, params });

  test('probe: the TOC last.update of each configured id, sorted by id whatever the params order', async () => {
    const a = await ilostatConnector.probe(context({ indicators: [UNEMPLOYMENT, TEMPORARY] }));
    const b = await ilostatConnector.probe(context({ indicators: [TEMPORARY, UNEMPLOYMENT] }));
    assert.deepEqual(a, {
      token: [`${TEMPORARY}=2024-04-02T08:15:00`, `${UNEMPLOYMENT}=2024-05-30T12:00:00`].join(';'),
      note: 'last.update 2024-05-30T12:00:00',
    });
    assert.deepEqual(b, a);
    assert.equal(server.requests[0]?.url, '/metadata/toc/indicator/?lang=en&format=.csv');
  });

  test('probe: an id the TOC does not list is a ConfigurationError naming it', async () => {
    await assertFailure(
      ilostatConnector.probe(context({ indicators: [UNEMPLOYMENT, 'UNE_NOPE_SEX_RT_A'] })),
      FailureType.ConfigurationError,
      (f) => {
        assert.equal(f.nonRetryable, true);
        assert.match(f.message, /no dataset UNE_NOPE_SEX_RT_A/);
      },
    );
  });

  test('probe: a TOC without last.update, or with an unreadable one, is an InvalidPayload naming it', async () => {
    override = () =>
      textResponse(`${csvLine(['id', 'indicator', 'lastupdate'])}\n${csvLine([UNEMPLOYMENT, 'x', 'y'])}\n`);
    await assertFailure(ilostatConnector.probe(context()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /table of contents: the CSV header lacks column last\.update/),
    );
    ilo.setLastUpdate(UNEMPLOYMENT, '2024-05-30');
    override = null;
    await assertFailure(ilostatConnector.probe(context()), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /UNE_DEAP_SEX_AGE_RT_A has last\.update "2024-05-30", expected dd\/mm\/YYYY/),
    );
  });

  test('fetch: one CSV per id and area, rows as the CSV has them, a heartbeat per request', async () => {
    const ctx = context({ indicators: [UNEMPLOYMENT, TEMPORARY], refAreas: ['BEN'] });
    const rows = await collect(ilostatConnector.fetch(ctx));
    assert.deepEqual(
      server.requests.map((r) => r.url),
      [dataUrl('', UNEMPLOYMENT, 'BEN'), dataUrl('', TEMPORARY, 'BEN')],
    );
    assert.equal(rows.length, 8 + 4, 'the TGO row is filtered out by the server');
    assert.deepEqual(rows[0], {
      ref_area: 'BEN',
      source: 'BA:1234 - Enquête Régionale Intégrée sur l’Emploi et le Secteur Informel',
      indicator: 'UNE_DEAP_SEX_AGE_RT',
      sex: 'SEX_T',
      classif1: 'AGE_YTHADULT_YGE15',
      time: '2018',
      obs_value: '1.5',
      obs_status: '',
      note_classif: '',
      note_indicator: '',
      note_source: 'R1:3902 - Break in series',
    });
    assert.deepEqual(ctx.heartbeats, [
      { indicator: UNEMPLOYMENT, refArea: 'BEN', rows: 8 },
      { indicator: TEMPORARY, refArea: 'BEN', rows: 4 },
    ]);
  });

  test('fetch + transform: a dataset with classif2 keys its rows by both classifications', async () => {
    const ctx = context({ indicators: [BY_OCCUPATION] });
    const observations = (await collect(ilostatConnector.fetch(ctx))).flatMap((r) =>
      ilostatConnector.transform(r, ctx.params),
    );
    assert.deepEqual(
      observations.map((o) => [o.seriesKey, o.period, o.value, o.attributes?.note_classif ?? null]),
      [
        ['EMP_TEMP_SEX_ECO_OCU_NB|BEN|SEX_T|ECO_SECTOR_AGR|OCU_SKILL_L1', '2022', '310', null],
        [
          'EMP_TEMP_SEX_ECO_OCU_NB|BEN|SEX_T|ECO_SECTOR_AGR|OCU_SKILL_L2',
          '2022',
          '311',
          'C6:1234 - Skill levels 2 and 3 combined',
        ],
      ],
    );
  });

  test('fetch: a header-only CSV is zero rows, logged', async () => {
    const ctx = context({ indicators: [UNEMPLOYMENT], refAreas: ['NER'] });
    assert.deepEqual(await collect(ilostatConnector.fetch(ctx)), []);
    assert.deepEqual(ctx.logs, ['ILOSTAT returned no rows']);
  });

  test('fetch: a wrong header is an InvalidPayload naming the missing column, with or without rows', async () => {
    const sdmx = csvLine(['DATAFLOW', 'REF_AREA', 'FREQ', 'MEASURE', 'TIME_PERIOD', 'OBS_VALUE']);
    for (const body of [`${sdmx}\n`, `${sdmx}\n${csvLine(['ILO:DF_X(1.0)', 'BEN', 'A', 'X', '2020', 1])}\n`]) {
      override = () => textResponse(body, 200, 'text/csv');
      await assertFailure(collect(ilostatConnector.fetch(context())), FailureType.InvalidPayload, (f) => {
        assert.match(
          f.message,
          /UNE_DEAP_SEX_AGE_RT_A for BEN: the CSV header lacks columns ref_area, indicator, time, obs_value/,
        );
        assert.equal(f.nonRetryable, true);
      });
    }
  });

  test('fetch: a body cut off mid-row or mid-quote is an InvalidPayload', async () => {
    const full = ilo.handler({
      method: 'GET',
      path: '/data/indicator/',
      query: new URLSearchParams(dataUrl('', UNEMPLOYMENT, 'BEN').split('?')[1]),
      headers: {},
      body: '',
    });
    const text = String((await full).body);
    const midRow = text.slice(0, text.indexOf('"SEX_F"') + 8);
    const midQuote = text.slice(0, text.indexOf('"SEX_F"') + 3);
    for (const [body, message] of [
      [midRow, /row \d+ has \d+ of 11 columns \(body cut off\?\)/],
      [midQuote, /not a well-formed CSV after \d+ rows: Quote Not Closed/],
    ] as const) {
      override = () => textResponse(body, 200, 'text/csv');
      await assertFailure(collect(ilostatConnector.fetch(context())), FailureType.InvalidPayload, (f) =>
        assert.match(f.message, message),
      );
    }
  });

  test('fetch: rows for another area mean the filter was ignored: InvalidPayload', async () => {
    override = (req) => ilo.handler({ ...req, query: new URLSearchParams({ id: UNEMPLOYMENT, format: '.csv' }) });
    await assertFailure(collect(ilostatConnector.fetch(context())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /ref_area "TGO"; the ref_area filter was not applied/),
    );
  });

  test('413 → non-retryable SourceRejected advising to narrow the query', async () => {
    ilo.tooLarge = true;
    await assertFailure(collect(ilostatConnector.fetch(context())), FailureType.SourceRejected, (f) => {
      assert.equal(f.nonRetryable, true);
      assert.match(f.message, /too large \(HTTP 413\)\. Narrow it: fewer params\.refAreas or params\.indicators/);
    });
  });

  test('429 with Retry-After → RateLimited after that delay; 500 → retryable SourceUnavailable', async () => {
    server.faults.failNext(1, 429, { retryAfter: 3 });
    await assertFailure(ilostatConnector.probe(context()), FailureType.RateLimited, (f) =>
      assert.equal(f.nextRetryDelay, 3000),
    );
    server.faults.failNext(1, 500, { body: '{"error":"internal error"}' });
    await assertFailure(collect(ilostatConnector.fetch(context())), FailureType.SourceUnavailable, (f) =>
      assert.equal(f.nonRetryable, false),
    );
  });
});

describe('ILOSTAT transform', () => {
  const params = IlostatParamsSchema.parse({ indicators: [UNEMPLOYMENT] });
  const transform = (raw: unknown) => ilostatConnector.transform(raw, params);
  const row = (overrides: Record<string, string> = {}) => ({
    ref_area: 'BEN',
    source: 'BA:1234 - ERI-ESI',
    indicator: 'UNE_DEAP_SEX_AGE_RT',
    sex: 'SEX_T',
    classif1: 'AGE_YTHADULT_YGE15',
    time: '2022',
    obs_value: '1.6',
    obs_status: '',
    note_classif: '',
    note_indicator: '',
    note_source: 'R1:3902 - Break in series',
    ...overrides,
  });

  test('a row is one observation keyed indicator|area|sex|classif1; empty notes dropped', () => {
    assert.deepEqual(transform(row()), [
      {
        seriesKey: 'UNE_DEAP_SEX_AGE_RT|BEN|SEX_T|AGE_YTHADULT_YGE15',
        period: '2022',
        value: '1.6',
        unit: null,
        attributes: { source: 'BA:1234 - ERI-ESI', note_source: 'R1:3902 - Break in series' },
        dimensions: { indicator: 'UNE_DEAP_SEX_AGE_RT', ref_area: 'BEN', sex: 'SEX_T', classif1: 'AGE_YTHADULT_YGE15' },
      },
    ]);
  });

  test('classif2 extends the key; a dataset without sex leaves it out', () => {
    assert.equal(
      transform(row({ classif2: 'OCU_SKILL_L1' }))[0]?.seriesKey,
      'UNE_DEAP_SEX_AGE_RT|BEN|SEX_T|AGE_YTHADULT_YGE15|OCU_SKILL_L1',
    );
    const { sex: _sex, classif1: _classif1, ...noBreakdown } = row();
    assert.equal(transform(noBreakdown)[0]?.seriesKey, 'UNE_DEAP_SEX_AGE_RT|BEN');
  });

  test('a blank value is null with its status kept; exponents become plain decimals; periods Q and M pass', () => {
    const [blank] = transform(row({ obs_value: '', obs_status: 'U', note_source: '', source: '' }));
    assert.equal(blank?.value, null);
    assert.deepEqual(blank?.attributes, { obs_status: 'U' });
    assert.equal(transform(row({ obs_value: '1.5e3' }))[0]?.value, '1500');
    assert.equal(transform(row({ time: '2023Q4' }))[0]?.period, '2023Q4');
    assert.equal(transform(row({ time: '2023M07' }))[0]?.period, '2023M07');
    assert.equal(transform(row({ obs_value: '', obs_status: '', note_source: '', source: '' }))[0]?.attributes, null);
  });

  test('a bad row is a RowRejected naming the row and the field', () => {
    const cases: [unknown, RegExp][] = [
      [
        row({ obs_value: 'n/a' }),
        /UNE_DEAP_SEX_AGE_RT BEN SEX_T AGE_YTHADULT_YGE15 2022: obs_value: expected a number or a blank/,
      ],
      [row({ time: '2022-01' }), /time: expected a period/],
      [row({ ref_area: '' }), /ref_area: expected a 3-letter area code/],
      [{ ...row(), indicator: undefined }, /indicator/],
      [null, /ILOSTAT row null/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(
        () => transformIlostatRow(raw),
        (err: unknown) => err instanceof RowRejected && message.test(err.message),
        JSON.stringify(raw),
      );
    }
  });
});
