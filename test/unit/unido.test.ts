// UNIDO INDSTAT connector: file imports (path and URL, the export shapes users get) and the legacy
// REST API over real loopback HTTP.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import type { Credentials, EventInput } from '../../sources/kit/types';
import { RowRejected } from '../../sources/kit/types';
import {
  canonicalVariable,
  layoutOf,
  parseValue,
  sniffDelimiter,
  transformUnidoRecord,
  UNIDO_IMPORT_HELP,
  UnidoParamsSchema,
  type UnidoRaw,
  unidoConnector,
} from '../../sources/specs/unido';
import { type FixtureHandler, type FixtureServer, startFixtureServer, textResponse } from '../fixtures/fixture-server';
import { UNIDO_SAMPLE_CSV, UNIDO_SAMPLE_NULLS, UNIDO_SAMPLE_ROWS, UnidoLegacyFixture } from '../fixtures/unido';
import { assertFailure, collect } from '../helpers/assertions';
import { testSourceContext } from '../helpers/source-context';

const ACCOUNT = { username: 'analyst@example.org', password: 'S3cret-pa55word' };
const DB = 'INDSTAT 2 2015, ISIC Revision 3';

let server: FixtureServer;
let handler: FixtureHandler;
let legacy: UnidoLegacyFixture;
let dir: string;

before(async () => {
  server = await startFixtureServer((req) => handler(req));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unido-test-'));
});
after(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  legacy = new UnidoLegacyFixture(ACCOUNT, DB);
  handler = legacy.handler;
  server.requests.length = 0;
  server.faults.clear();
});

function ctx(opts: { params?: Record<string, unknown>; event?: EventInput; credentials?: Credentials } = {}) {
  return testSourceContext(unidoConnector, {
    baseUrl: server.url,
    params: opts.params ?? {},
    event: opts.event,
    credentials: opts.credentials,
  });
}
const fileCtx = (location: string, params: Record<string, unknown> = {}) => ctx({ event: { location }, params });
const legacyCtx = (params: Record<string, unknown> = {}, account = ACCOUNT) =>
  ctx({
    params: { db: DB, startYear: 2010, endYear: 2012, variables: ['20', '04'], ...params },
    credentials: { username: account.username, apiKey: account.password },
  });

function writeFile(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const transformAll = (records: unknown[]) => records.flatMap((r) => transformUnidoRecord(r));

function rejection(raw: unknown): string {
  try {
    transformUnidoRecord(raw);
  } catch (err) {
    assert.ok(err instanceof RowRejected, String(err));
    return err.message;
  }
  return assert.fail('expected a RowRejected');
}

describe('UNIDO params and vocabulary', () => {
  test('defaults and errors naming the field', () => {
    assert.deepEqual(UnidoParamsSchema.parse({}), {
      mode: 'auto',
      encoding: 'utf8',
      countries: ['204'],
      variables: ['01', '04', '05', '14', '20'],
      startYear: 2000,
    });
    const issues = (p: unknown) =>
      UnidoParamsSchema.safeParse(p)
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ');
    assert.match(String(issues({ mode: 'api' })), /mode: mode must be "auto", "file" or "legacy_api"/);
    assert.match(String(issues({ startYear: 2015, endYear: 2010 })), /endYear: endYear is before startYear/);
    assert.match(String(issues({ variables: ['Value added'] })), /variables\.0: .*such as "20"/);
    assert.match(String(issues({ url: 'x' })), /unknown parameter url/);
  });

  test('variables: codes and names meet on one label; values: INDSTAT nulls and grouped digits', () => {
    assert.equal(canonicalVariable('20'), 'Value added');
    assert.equal(canonicalVariable('4'), 'Employees');
    assert.equal(canonicalVariable(' VALUE ADDED '), 'Value added');
    assert.equal(canonicalVariable('Hours worked'), 'Hours worked');
    assert.equal(parseValue('...'), null);
    assert.equal(parseValue(' '), null);
    assert.equal(parseValue('..'), null);
    assert.equal(parseValue('1,234,567.50'), '1234567.5');
    assert.equal(parseValue('1.2E3'), '1200');
    assert.equal(parseValue('12,5'), undefined, 'a decimal comma is ambiguous: rejected, not guessed');
    assert.equal(parseValue('n/a'), undefined);
  });

  test('delimiter sniffing ignores quoted text', () => {
    assert.equal(sniffDelimiter('"a;b;c",x,y'), ',');
    assert.equal(sniffDelimiter('Country;ISIC;Variable;2019'), ';');
    assert.equal(sniffDelimiter('Country\tISIC\tVariable'), '\t');
    assert.equal(sniffDelimiter('single'), ',');
  });
});

describe('UNIDO file import', () => {
  test('the portal export (long CSV, BOM, CRLF, quotes, "..." and empty cells) stages one record per row', async () => {
    const c = fileCtx(UNIDO_SAMPLE_CSV);
    const records = (await collect(unidoConnector.fetch(c))) as UnidoRaw[];
    assert.equal(records.length, UNIDO_SAMPLE_ROWS);
    assert.deepEqual(records[0], {
      row: 1,
      countryCode: '204',
      countryName: 'Benin',
      isic: '10',
      isicDesc: 'Manufacture of food products',
      variable: 'Value added',
      unit: 'Current USD',
      values: { 2019: '212345678.5' },
    });
    assert.equal(records[9]?.isicDesc, 'Manufacture of beverages, incl. bottled water');
    assert.ok(c.logs.includes('UNIDO file read'));

    const rows = transformAll(records);
    assert.equal(rows.length, UNIDO_SAMPLE_ROWS);
    assert.equal(rows.filter((r) => r.value === null).length, UNIDO_SAMPLE_NULLS);
    assert.deepEqual(rows[0], {
      seriesKey: 'unido|204|10|Value added',
      dimensions: { country: '204', isic: '10', variable: 'Value added' },
      period: '2019',
      value: '212345678.5',
      unit: 'Current USD',
      attributes: { isicDesc: 'Manufacture of food products', countryName: 'Benin' },
    });
    assert.equal(
      rows.find((r) => r.seriesKey === 'unido|204|11|Value added' && r.period === '2020')?.value,
      '81354321',
    );
    assert.equal(
      new Set(rows.map((r) => `${r.seriesKey} ${r.period}`)).size,
      rows.length,
      'one row per series and year',
    );
  });

  test('probe: the file checksum, so the same file twice is no change and an edit is', async () => {
    const first = await unidoConnector.probe(fileCtx(UNIDO_SAMPLE_CSV));
    assert.match(String(first.token), /^sha256:[0-9a-f]{64} utf8$/);
    assert.match(String(first.note), /^unido-indstat-benin\.csv sha256 [0-9a-f]{12}$/);
    const copy = writeFile('copy.csv', fs.readFileSync(UNIDO_SAMPLE_CSV, 'utf8'));
    assert.equal((await unidoConnector.probe(fileCtx(copy))).token, first.token);
    const edited = writeFile('edited.csv', fs.readFileSync(UNIDO_SAMPLE_CSV, 'utf8').replace('15230', '15231'));
    assert.notEqual((await unidoConnector.probe(fileCtx(edited))).token, first.token);
  });

  test('a URL location and a configured feedUrl are read over HTTP; the event wins over feedUrl', async () => {
    const csv = fs.readFileSync(UNIDO_SAMPLE_CSV);
    handler = (req) =>
      req.path === '/exports/indstat.csv'
        ? { body: csv, headers: { 'content-type': 'text/csv' } }
        : textResponse('no', 404);
    const url = `${server.url}/exports/indstat.csv?token=abc`;
    assert.equal((await collect(unidoConnector.fetch(fileCtx(url)))).length, UNIDO_SAMPLE_ROWS);
    const probe = await unidoConnector.probe(ctx({ params: { feedUrl: url } }));
    assert.equal(probe.token, (await unidoConnector.probe(fileCtx(UNIDO_SAMPLE_CSV))).token);
    assert.ok(!String(probe.note).includes('abc'), 'query secrets are redacted from the note');
    server.requests.length = 0;
    await collect(unidoConnector.fetch(ctx({ params: { feedUrl: url }, event: { location: UNIDO_SAMPLE_CSV } })));
    assert.equal(server.requests.length, 0, 'the operator file was read, not the feed');
  });

  test('a wide export (one column per year, semicolons) gives one observation per year', async () => {
    const file = writeFile(
      'wide.csv',
      'Country;ISIC Rev. 4;Description;Indicator;Unit;2019;2020;2021\n' +
        'Benin;10;Food products;Output;Current USD;1 234 567;1300000;...\n' +
        'Benin;C;Total manufacturing;Output;Current USD;9000000;9100000.5;9200000\n',
    );
    const records = await collect(unidoConnector.fetch(fileCtx(file)));
    assert.equal(records.length, 2);
    const rows = transformAll(records);
    assert.equal(rows.length, 6);
    assert.deepEqual(
      rows.slice(0, 3).map((r) => [r.seriesKey, r.period, r.value]),
      [
        ['unido|BENIN|10|Output', '2019', '1234567'],
        ['unido|BENIN|10|Output', '2020', '1300000'],
        ['unido|BENIN|10|Output', '2021', null],
      ],
    );
    assert.deepEqual(rows[0]?.attributes, { isicDesc: 'Food products', countryName: 'Benin' });
  });

  test('the headerless INDSTAT bulk CSV: its first line is data; table codes become variable names', async () => {
    const file = writeFile(
      'inst2.csv',
      '20,204,2015,15,,123456.7,02,,2019-01-10,$\n' +
        '04,204,2015,15,,8520,01,,2019-01-10,#\n' +
        '20,204,2016,15,,...,02,,2019-01-10,$\n',
    );
    const rows = transformAll(await collect(unidoConnector.fetch(fileCtx(file))));
    assert.deepEqual(
      rows.map((r) => [r.seriesKey, r.period, r.value, r.unit, r.attributes]),
      [
        ['unido|204|15|Value added', '2015', '123456.7', '$', null],
        ['unido|204|15|Employees', '2015', '8520', '#', null],
        ['unido|204|15|Value added', '2016', null, '$', null],
      ],
    );
  });

  test('a file that is not an INDSTAT export is InvalidPayload naming the missing columns', async () => {
    const file = writeFile('other.csv', 'Region,Crop,Year,Production\nZou,maize,2020,12\n');
    await assertFailure(collect(unidoConnector.fetch(fileCtx(file))), FailureType.InvalidPayload, (f) => {
      assert.match(
        f.message,
        /UNIDO file other\.csv: not an INDSTAT export: no column for country .*; ISIC code \(isic, isiccode/,
      );
      assert.match(f.message, /variable \(variable, variablename/);
      assert.match(f.message, /value \(value, values/);
      assert.match(f.message, /The header has: Region, Crop, Year, Production\./);
    });
    assert.throws(
      () => layoutOf(['Country', 'ISIC', 'Variable'], 'x.csv'),
      /no column for year \(year, years, period, time, or one column per year/,
    );
  });

  test('empty files, header-only files and missing files fail clearly', async () => {
    await assertFailure(
      collect(unidoConnector.fetch(fileCtx(writeFile('empty.csv', '')))),
      FailureType.InvalidPayload,
      (f) => assert.match(f.message, /UNIDO file empty\.csv is empty/),
    );
    const headerOnly = writeFile('header.csv', 'Country Code,Year,ISIC,Variable,Value\n');
    await assertFailure(collect(unidoConnector.fetch(fileCtx(headerOnly))), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /has a header but no data rows/),
    );
    await assertFailure(
      unidoConnector.probe(fileCtx(path.join(dir, 'missing.csv'))),
      // The import's own file: this run's input, not the source's configuration.
      FailureType.BadRunInput,
      (f) => assert.match(f.message, /file not found: .*missing\.csv/),
    );
  });

  test('bad rows are rejected with their row number and reason', async () => {
    const file = writeFile(
      'bad.csv',
      'Country Code,Year,ISIC,Variable,Value\n204,2019,10,Output,100\n204,2019,10,Employees,abc\n204,20x9,10,Output,5\n204,2020,,Output,5\n,2020,10,Output,5\n',
    );
    const records = await collect(unidoConnector.fetch(fileCtx(file)));
    assert.equal(transformUnidoRecord(records[0]).length, 1);
    assert.equal(rejection(records[1]), 'UNIDO row 2 (204 10 Employees): value "abc" for 2019 is not a number');
    assert.equal(rejection(records[2]), 'UNIDO row 3 (204 10 Output): year "20x9" is not a year');
    assert.match(rejection(records[3]), /^UNIDO row 4 \(204 Output\): isic: /);
    assert.match(rejection(records[4]), /^UNIDO row 5 \(10 Output\): countryCode: the country is empty/);
    assert.match(rejection('just text'), /^UNIDO record "just text": \(root\)/);
  });

  test('with no file, no feed and no account: a ConfigurationError saying how to import', async () => {
    for (const params of [{}, { mode: 'file' }]) {
      await assertFailure(unidoConnector.probe(ctx({ params })), FailureType.ConfigurationError, (f) => {
        assert.ok(f.message.includes(UNIDO_IMPORT_HELP));
        assert.match(f.message, /"event":\{"location":"\/path\/to\/indstat\.csv"\}/);
      });
    }
  });
});

describe('UNIDO legacy API', () => {
  test('used with an account: one POST per country and variable, Username/Password headers, form body', async () => {
    const c = legacyCtx();
    const records = await collect(unidoConnector.fetch(c));
    assert.equal(records.length, 18);
    assert.deepEqual(
      legacy.queries.map((q) => Object.fromEntries(q)),
      [
        { db: DB, cc: '204', variable: '20', start: '2010', end: '2012' },
        { db: DB, cc: '204', variable: '04', start: '2010', end: '2012' },
      ],
    );
    assert.equal(server.requests[0]?.headers.username, ACCOUNT.username);
    assert.equal(server.requests[0]?.headers.password, ACCOUNT.password);
    assert.match(String(server.requests[0]?.headers['content-type']), /application\/x-www-form-urlencoded/);
    const rows = transformAll(records);
    assert.deepEqual(rows[0], {
      seriesKey: 'unido|204|15|Value added',
      dimensions: { country: '204', isic: '15', variable: 'Value added' },
      period: '2010',
      value: '95000049',
      unit: null,
      attributes: null,
    });
    assert.equal(rows.filter((r) => r.value === null).length, 2, '"..." is null');
    const probe = await unidoConnector.probe(c);
    assert.equal(probe.token, null, 'no change signal: the content checksum decides');
  });

  test('an operator file wins over the API', async () => {
    const c = ctx({
      params: { mode: 'legacy_api', db: DB },
      event: { location: UNIDO_SAMPLE_CSV },
      credentials: { username: 'u', apiKey: 'p' },
    });
    assert.equal((await collect(unidoConnector.fetch(c))).length, UNIDO_SAMPLE_ROWS);
    assert.equal(legacy.queries.length, 0);
  });

  test('configuration gaps are ConfigurationErrors', async () => {
    await assertFailure(
      collect(unidoConnector.fetch(ctx({ params: { mode: 'legacy_api', db: DB } }))),
      FailureType.ConfigurationError,
      (f) => assert.match(f.message, /needs the UNIDO account/),
    );
    await assertFailure(
      collect(unidoConnector.fetch(legacyCtx({ db: undefined }))),
      FailureType.ConfigurationError,
      (f) => assert.match(f.message, /needs params\.db/),
    );
  });

  test('refusals are SourceRejected and never quote the password', async () => {
    await assertFailure(
      collect(unidoConnector.fetch(legacyCtx({}, { ...ACCOUNT, password: 'wrong' }))),
      FailureType.SourceRejected,
      (f) => assert.match(f.message, /HTTP 401/),
    );
    handler = () => textResponse(`password ${ACCOUNT.password} is not valid for this account`, 403);
    await assertFailure(collect(unidoConnector.fetch(legacyCtx())), FailureType.SourceRejected, (f) => {
      assert.match(f.message, /password \*\*\* is not valid/);
      assert.ok(!f.message.includes(ACCOUNT.password) && !String(f.stack).includes(ACCOUNT.password));
    });
    handler = legacy.handler;
    await assertFailure(
      collect(unidoConnector.fetch(legacyCtx({ db: 'INDSTAT 4' }))),
      FailureType.SourceRejected,
      (f) =>
        assert.match(
          f.message,
          /UNIDO legacy API \(db INDSTAT 4, country 204, variable 20\) refused: 400 Unknown database INDSTAT 4/,
        ),
    );
  });

  test('throttling, malformed and empty answers', async () => {
    server.faults.failNext(1, 429, { retryAfter: 3 });
    await assertFailure(collect(unidoConnector.fetch(legacyCtx())), FailureType.RateLimited, (f) =>
      assert.equal(f.nextRetryDelay, 3000),
    );
    handler = () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"api.responseStatus":200,"dat',
    });
    await assertFailure(collect(unidoConnector.fetch(legacyCtx())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /did not return JSON/),
    );
    handler = () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"api.responseStatus":200,"api.responseText":"OK"}',
    });
    await assertFailure(collect(unidoConnector.fetch(legacyCtx())), FailureType.InvalidPayload, (f) =>
      assert.match(f.message, /variable 20\): no "data" array in the answer/),
    );
    handler = legacy.handler;
    await assertFailure(
      collect(unidoConnector.fetch(legacyCtx({ countries: ['999'] }))),
      FailureType.SourceRejected,
      (f) => assert.match(f.message, /no data for countries 999, variables 20, 04, 2010-2012/),
    );
  });
});
