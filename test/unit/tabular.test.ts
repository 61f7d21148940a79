// The tabular_file connector without servers: params, row schema, the CSV / JSON / XLSX readers over real
// files (XLSX written here with exceljs), URL feeds over loopback HTTP, and the import command's arguments.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import ExcelJS from 'exceljs';
import { catalog } from '../../catalog/load';
import { FailureType } from '../../lib/failures';
import { UsageError } from '../../scripts/cli/errors';
import { importArgs, temporalStartHint } from '../../scripts/cli/import';
import { RowRejected } from '../../sources/kit/types';
import { formatIssues } from '../../sources/kit/zod-issues';
import { type TabularParams, type TabularRecord, tabularConnector } from '../../sources/specs/tabular';
import { TABULAR_CATALOG_PARAMS, tabularCatalogParams } from '../../sources/specs/tabular/catalog-params';
import { TabularParamsSchema } from '../../sources/specs/tabular/params';
import { type FixtureServer, startFixtureServer, textResponse } from '../fixtures/fixture-server';
import { testSourceContext } from '../helpers/source-context';

const FILES = path.join(__dirname, '../fixtures/files');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-tabular-unit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes a file under the test's temporary folder and returns its path. */
function tmpFile(name: string, content: string | Buffer): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
}

// The cadastre's catalog mapping: one row per parcel, its area as the value.
const { columns, rowSchema } = tabularCatalogParams('cadastre');
const PARCELS = { columns, rowSchema };

function context(params: unknown, location?: string, baseUrl = 'http://127.0.0.1:9') {
  return testSourceContext(tabularConnector, { baseUrl, params, event: location ? { location } : undefined });
}

async function read(params: unknown, location: string): Promise<TabularRecord[]> {
  const records: TabularRecord[] = [];
  for await (const record of tabularConnector.fetch(context(params, location))) records.push(record);
  return records;
}

/** Each record's observation, or its rejection reason. */
function transformAll(params: unknown, records: TabularRecord[]) {
  const parsed = TabularParamsSchema.parse(params) as TabularParams;
  return records.map((r) => {
    try {
      return tabularConnector.transform(r, parsed)[0];
    } catch (err) {
      assert.ok(err instanceof RowRejected, String(err));
      return err.message;
    }
  });
}

async function assertFailure(work: Promise<unknown>, type: FailureType, message: RegExp): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    assert.match(err.message, message);
    return true;
  });
}

function paramsError(params: unknown): string {
  const result = TabularParamsSchema.safeParse(params);
  assert.equal(result.success, false, 'params should be invalid');
  return formatIssues(result.error!, 20);
}

describe('tabular params', () => {
  test('every catalog default parses, and the catalog entries use them', () => {
    for (const [source, params] of Object.entries(TABULAR_CATALOG_PARAMS)) {
      const result = TabularParamsSchema.safeParse(params);
      assert.ok(result.success, `${source}: ${result.success ? '' : formatIssues(result.error)}`);
    }
    const entries = catalog({ worldBankBaseUrl: 'unused', worldBankCountries: ['BJ'] }).filter(
      (e) => e.connector === 'tabular_file',
    );
    assert.deepEqual(entries.map((e) => e.name).sort(), Object.keys(TABULAR_CATALOG_PARAMS).sort());
    for (const e of entries) {
      assert.equal(e.implemented, true, e.name);
      if (e.frequency === 'on_event') {
        assert.notEqual(e.active, false, `${e.name} takes imports, so it is active`);
      } else {
        assert.equal(e.active, false, `${e.name} has no feedUrl, so it is created inactive`);
        assert.match(e.note ?? '', /params\.feedUrl.*is_active = true/);
      }
    }
  });

  test('defaults: decimal point, no attributes', () => {
    const p = TabularParamsSchema.parse({
      columns: { seriesKey: ['a'], period: 'p' },
      rowSchema: { a: 'string', p: 'string' },
    });
    assert.equal(p.decimalSeparator, '.');
    assert.deepEqual(p.columns.attributes, []);
    assert.equal(TabularParamsSchema.parse({ ...PARCELS, encoding: 'ISO-8859-1' }).encoding, 'latin1');
  });

  test('errors name the field and the fix', () => {
    assert.match(paramsError({ rowSchema: PARCELS.rowSchema }), /columns: columns is required: map the file's columns/);
    assert.match(paramsError({ columns: PARCELS.columns }), /rowSchema: rowSchema is required/);
    assert.match(
      paramsError({ ...PARCELS, rowSchema: { ...PARCELS.rowSchema, area_m2: 'float' } }),
      /rowSchema\.area_m2: use string, number, integer, date, boolean, with "\?" for a column that may be empty/,
    );
    assert.match(
      paramsError({ ...PARCELS, columns: { ...PARCELS.columns, period: 'year' } }),
      /columns\.period: "year" is not in rowSchema: declare its type there/,
    );
    assert.match(
      paramsError({ ...PARCELS, rowSchema: { ...PARCELS.rowSchema, parcel_id: 'string?' } }),
      /columns\.seriesKey\[0\]: "parcel_id" is optional in rowSchema, but every row needs its series key/,
    );
    assert.match(
      paramsError({ ...PARCELS, columns: { ...PARCELS.columns, value: 'commune' } }),
      /columns\.value: "commune" is declared "string"; a value column is "number" or "integer"/,
    );
    assert.match(
      paramsError({ ...PARCELS, sheets: 'x' }),
      /unknown parameter sheets: the tabular_file connector takes/,
    );
    assert.match(paramsError({ ...PARCELS, format: 'csv', sheet: 'Parcels' }), /sheet: sheet applies to xlsx files/);
    assert.match(paramsError({ ...PARCELS, format: 'xls' }), /format: format must be "csv", "json" or "xlsx"/);
    assert.match(paramsError({ ...PARCELS, delimiter: ';;' }), /delimiter: delimiter is one character/);
    assert.match(
      paramsError({ ...PARCELS, encoding: 'ebcdic' }),
      /encoding: encoding must be one of utf-8, latin1, windows-1252/,
    );
    assert.equal(TabularParamsSchema.parse({ ...PARCELS, encoding: 'CP1252' }).encoding, 'windows-1252');
    assert.match(
      paramsError({ ...PARCELS, feedUrl: 'ftp://x/y.csv' }),
      /feedUrl: feedUrl must be an http\(s\):\/\/ or file:\/\//,
    );
    assert.match(
      paramsError({ ...PARCELS, columns: { ...PARCELS.columns, unit: { value: 'm2' } } }),
      /columns\.unit: unit is a column name such as "unit", or a constant/,
    );
  });
});

describe('tabular row schema and transform', () => {
  const params = TabularParamsSchema.parse(PARCELS) as TabularParams;
  const row = (values: Record<string, string | number | null>, n = 1) => ({ row: n, values });
  const good = {
    parcel_id: ' BJ-1 ',
    commune: 'Cotonou',
    area_m2: '0120.50',
    registered_on: '2021-03-14',
    land_use: null,
    title_type: 'TF',
  };

  test('maps a row: series key, period, canonical value, constant unit, declared non-empty attributes only', () => {
    assert.deepEqual(tabularConnector.transform(row(good), params), [
      {
        seriesKey: 'BJ-1',
        dimensions: { parcel_id: 'BJ-1' },
        period: '2021-03-14',
        value: '120.5',
        unit: 'm2',
        attributes: { commune: 'Cotonou', title_type: 'TF' },
      },
    ]);
    const multi = TabularParamsSchema.parse({
      columns: { seriesKey: ['indicator', 'commune'], period: 'year', value: 'value', unit: 'unit' },
      rowSchema: { indicator: 'string', commune: 'string', year: 'integer', value: 'number?', unit: 'string?' },
    }) as TabularParams;
    assert.deepEqual(
      tabularConnector.transform(
        row({ indicator: 'area_ha', commune: 'Abomey', year: 2023, value: null, unit: 'ha' }),
        multi,
      ),
      [
        {
          seriesKey: 'area_ha|Abomey',
          dimensions: { indicator: 'area_ha', commune: 'Abomey' },
          period: '2023',
          value: null,
          unit: 'ha',
          attributes: null,
        },
      ],
    );
  });

  test('a bad row → RowRejected naming the row, the column and the value', () => {
    const reason = (values: Record<string, string | number | null>) => {
      try {
        tabularConnector.transform(row(values, 7), params);
      } catch (err) {
        assert.ok(err instanceof RowRejected);
        return err.message;
      }
      assert.fail('expected a rejection');
    };
    assert.equal(reason({ ...good, area_m2: 'abc' }), 'row 7: column "area_m2": expected a number, got "abc"');
    assert.equal(
      reason({ ...good, registered_on: '2023-02-30' }),
      'row 7: column "registered_on": expected a date written YYYY-MM-DD, got "2023-02-30"',
    );
    assert.match(reason({ ...good, parcel_id: '  ' }), /^row 7: column "parcel_id": missing value/);
    assert.equal(
      reason({ ...good, area_m2: '1,5', registered_on: '14/03/2021' }),
      'row 7: column "area_m2": expected a number, got "1,5"; column "registered_on": expected a date written YYYY-MM-DD, got "14/03/2021"',
    );
    const years = TabularParamsSchema.parse({
      columns: { seriesKey: ['a'], period: 'y' },
      rowSchema: { a: 'string', y: 'integer' },
    });
    assert.throws(
      () => tabularConnector.transform(row({ a: 'x', y: '2023.5' }), years as TabularParams),
      /row 1: column "y": expected a whole number, got "2023.5"/,
    );
  });

  test('number cells take the one canonical spelling (sources/kit/decimal.ts), its bound included', () => {
    const value = (area_m2: string | number) => tabularConnector.transform(row({ ...good, area_m2 }), params)[0]?.value;
    assert.equal(value('+007.50'), '7.5');
    assert.equal(value('1.5E-3'), '0.0015');
    assert.equal(value(1e21), '1000000000000000000000');
    assert.equal(value('-0.0'), '0');
    assert.throws(
      () => tabularConnector.transform(row({ ...good, area_m2: '1e999999999' }, 7), params),
      (err: unknown) =>
        err instanceof RowRejected &&
        /^row 7: column "area_m2": "1e999999999" is out of range: .* more than 1000$/.test(err.message),
    );
  });
});

describe('CSV files', () => {
  test('quoted fields (delimiter, quotes, newline inside), BOM and CRLF', async () => {
    const params = TABULAR_CATALOG_PARAMS.agriculture_local_surveys;
    const records = await read(params, path.join(FILES, 'agriculture-survey.csv'));
    assert.equal(records.length, 12);
    assert.deepEqual(records[0], {
      row: 1,
      values: {
        indicator: 'production_t',
        commune: 'Bohicon',
        crop: 'maize',
        campaign: '2023-2024',
        value: '1250.5',
        unit: 't',
        department: 'Zou',
        survey: 'Enquête "campagne" 2024',
      },
    });
    assert.equal(records[6] && 'values' in records[6] && records[6].values.survey, 'Relevé, parcelles\nsuivies');
    const rows = transformAll(params, records);
    assert.deepEqual(rows[9], {
      seriesKey: 'area_ha|Abomey|cassava',
      dimensions: { indicator: 'area_ha', commune: 'Abomey', crop: 'cassava' },
      period: '2023-2024',
      value: null,
      unit: 'ha',
      attributes: { department: 'Zou' },
    });
  });

  test('semicolons, latin1 and decimal commas; bad rows are rejected with row and reason', async () => {
    const params = { ...PARCELS, delimiter: ';', encoding: 'latin1', decimalSeparator: ',' };
    const records = await read(params, path.join(FILES, 'cadastre-latin1.csv'));
    assert.equal(records.length, 5);
    const rows = transformAll(params, records);
    assert.deepEqual(rows[0], {
      seriesKey: 'BJ-LIT-0001',
      dimensions: { parcel_id: 'BJ-LIT-0001' },
      period: '2021-03-14',
      value: '512.75',
      unit: 'm2',
      attributes: { commune: 'Cotonou', land_use: 'résidentiel', title_type: 'titre foncier' },
    });
    assert.equal(rows[2] && typeof rows[2] === 'object' && rows[2].value, '300.5');
    assert.equal(rows[3], 'row 4: column "area_m2": expected a number with a decimal comma (e.g. 12,5), got "abc"');
    assert.equal(rows[4], 'row 5: column "registered_on": expected a date written YYYY-MM-DD, got "2023-02-30"');
  });

  test('a header without a declared column fails once, with the fix for a wrong delimiter', async () => {
    await assertFailure(
      read({ ...PARCELS, encoding: 'latin1' }, path.join(FILES, 'cadastre-latin1.csv')),
      FailureType.InvalidPayload,
      /cadastre-latin1\.csv: the file has no column "parcel_id", .* its header is: parcel_id;commune;.*set params\.delimiter to ";"/,
    );
  });

  test('encoding: BOM-less UTF-8 is detected; a latin1 file without the encoding param fails at its byte offset', async () => {
    const labels = ["Côte d'Ivoire", 'Curaçao', 'Türkiye', 'São Tomé'];
    const csv = `parcel_id,commune,area_m2,registered_on,land_use,title_type\n${labels
      .map((l, i) => `P${i},"${l}",10,2020-01-01,${l},TF`)
      .join('\n')}\n`;
    const communes = async (params: Record<string, unknown>, file: string) =>
      transformAll(params, await read(params, file)).map((r) => (typeof r === 'string' ? r : r?.attributes?.commune));
    assert.deepEqual(await communes(PARCELS, tmpFile('utf8.csv', Buffer.from(csv, 'utf8'))), labels);
    assert.deepEqual(
      await communes({ ...PARCELS, encoding: 'latin1' }, tmpFile('utf8-said-latin1.csv', Buffer.from(csv, 'utf8'))),
      labels,
      'valid UTF-8 is UTF-8 even when the params say latin1',
    );
    const latin1 = tmpFile('latin1.csv', Buffer.from(csv, 'latin1'));
    assert.deepEqual(await communes({ ...PARCELS, encoding: 'latin1' }, latin1), labels);
    assert.deepEqual(await communes({ ...PARCELS, encoding: 'windows-1252' }, latin1), labels);
    await assertFailure(
      read(PARCELS, latin1),
      FailureType.InvalidPayload,
      /latin1\.csv: not valid UTF-8 at byte 65 \(0xF4 0x74\)\. .*set the encoding parameter/,
    );
  });

  test('lines of empty cells are no rows; a file with a header only is an empty snapshot, with a hint', async () => {
    const file = tmpFile(
      'blank-lines.csv',
      'parcel_id,commune,area_m2,registered_on,land_use,title_type\nP1,Kandi,10,2020-01-01,,\n,,,,,\n\n',
    );
    assert.equal((await read(PARCELS, file)).length, 1);
    // The snapshot guard (activities/store/snapshot-guard.ts) refuses it; the connector only explains it.
    const headerOnly = tmpFile('header-only.csv', 'parcel_id,commune,area_m2,registered_on,land_use,title_type\n');
    assert.equal((await read(PARCELS, headerOnly)).length, 0);
    assert.match(
      tabularConnector.snapshot?.emptyHint?.(TabularParamsSchema.parse({ ...PARCELS, format: 'csv' })) ?? '',
      /no data rows \(it has no data rows after the header\)/,
    );
  });

  test('a malformed CSV is an InvalidPayload that says how far it got', async () => {
    const file = tmpFile(
      'unclosed.csv',
      'parcel_id,commune,area_m2,registered_on,land_use,title_type\nP1,Kandi,10,2020-01-01,,\n"P2,Kandi,10\n',
    );
    await assertFailure(
      read(PARCELS, file),
      FailureType.InvalidPayload,
      /unclosed\.csv is not a readable CSV file \(after 1 rows\)/,
    );
  });

  test('a missing imported file (or none) is bad run input; unknown format, mismatch, .xls, a missing feed are configuration', async () => {
    // The import's own file: this run's input (BadRunInput, not counted toward the breaker).
    await assertFailure(read(PARCELS, path.join(tmp, 'nope.csv')), FailureType.BadRunInput, /file not found/);
    // The source's configured feed: its configuration.
    const feed = `file://${path.join(tmp, 'no-feed.csv')}`;
    await assertFailure(
      (async () => {
        for await (const _ of tabularConnector.fetch(context({ ...PARCELS, feedUrl: feed }))) break;
      })(),
      FailureType.ConfigurationError,
      /file not found: .*no-feed\.csv\. Fix params\.feedUrl/,
    );
    await assertFailure(
      read(PARCELS, tmpFile('parcels.dat', 'x')),
      FailureType.ConfigurationError,
      /set params\.format/,
    );
    await assertFailure(
      read({ ...PARCELS, format: 'json' }, path.join(FILES, 'agriculture-survey.csv')),
      FailureType.ConfigurationError,
      /looks like CSV but the source's params\.format is "json"/,
    );
    await assertFailure(
      read(PARCELS, tmpFile('old.xls', 'x')),
      FailureType.ConfigurationError,
      /save it as \.xlsx or \.csv/,
    );
    await assertFailure(read(PARCELS, ''), FailureType.BadRunInput, /needs a file or URL/);
  });

  test('probe: the sha256 of the file, the same for the same bytes', async () => {
    const file = path.join(FILES, 'cadastre-latin1.csv');
    const copy = tmpFile('copy.csv', fs.readFileSync(file));
    const a = await tabularConnector.probe(context(PARCELS, file));
    const b = await tabularConnector.probe(context(PARCELS, copy));
    assert.match(a.token ?? '', /^[0-9a-f]{64}$/);
    assert.equal(a.token, b.token);
    assert.match(a.note ?? '', /^sha256 [0-9a-f]{12} of cadastre-latin1\.csv$/);
    const changed = await tabularConnector.probe(
      context(PARCELS, tmpFile('changed.csv', `${fs.readFileSync(file, 'latin1')}x`)),
    );
    assert.notEqual(changed.token, a.token);
  });
});

describe('JSON files', () => {
  const params = { ...TABULAR_CATALOG_PARAMS.property_listings, jsonPath: 'data' };

  test('streams the array at jsonPath; numbers keep their digits; only declared columns are kept', async () => {
    const records = await read(params, path.join(FILES, 'property-listings.json'));
    assert.equal(records.length, 4);
    assert.deepEqual(records[0], {
      row: 1,
      values: {
        listing_id: 'L-1001',
        listed_on: '2024-05-27',
        commune: 'Cotonou',
        property_type: 'house',
        transaction: 'sale',
        price: '85000000',
        currency: 'XOF',
        surface_m2: '240.5',
        bedrooms: '4',
      },
    });
    const rows = transformAll(params, records);
    assert.deepEqual(rows[1], {
      seriesKey: 'L-1002',
      dimensions: { listing_id: 'L-1002' },
      period: '2024-05-28',
      value: '350000',
      unit: 'XOF',
      attributes: { commune: 'Cotonou', property_type: 'apartment', transaction: 'rent', bedrooms: 2 },
    });
    assert.equal(
      rows[3],
      'row 4: column "listed_on": expected a date written YYYY-MM-DD, got "29/05/2024"; column "price": expected a number, got "on request"',
    );
  });

  test('a top-level array by default; a scalar element is a rejected row; latin1 text', async () => {
    const simple = {
      columns: { seriesKey: ['k'], period: 'p', value: 'v' },
      rowSchema: { k: 'string', p: 'string', v: 'number?' },
    };
    const text = '[{"k":"Sèmè","p":"2024","v":0.1},42,{"k":"b","p":"2024","v":1E2}]';
    const records = await read({ ...simple, encoding: 'latin1' }, tmpFile('rows.json', Buffer.from(text, 'latin1')));
    assert.deepEqual(transformAll(simple, records), [
      { seriesKey: 'Sèmè', dimensions: { k: 'Sèmè' }, period: '2024', value: '0.1', unit: null, attributes: null },
      'row 2: expected an object of columns, got the value 42',
      { seriesKey: 'b', dimensions: { k: 'b' }, period: '2024', value: '100', unit: null, attributes: null },
    ]);
  });

  test('rows under a key without jsonPath and broken JSON are InvalidPayloads; a wrong jsonPath finds no rows', async () => {
    const file = path.join(FILES, 'property-listings.json');
    await assertFailure(
      read({ ...params, jsonPath: undefined }, file),
      FailureType.InvalidPayload,
      /expected an array of rows at the top level, found an object: set params\.jsonPath/,
    );
    // A jsonPath that finds no rows is an empty snapshot: the store guard refuses it with this hint.
    assert.equal((await read({ ...params, jsonPath: 'items' }, file)).length, 0);
    assert.match(
      tabularConnector.snapshot?.emptyHint?.(TabularParamsSchema.parse({ ...params, jsonPath: 'items' })) ?? '',
      /check params\.jsonPath/,
    );
    await assertFailure(
      read(params, tmpFile('broken.json', '{"data":[{"listing_id":"L-1",')),
      FailureType.InvalidPayload,
      /broken\.json is not a readable JSON file/,
    );
  });
});

describe('XLSX files', () => {
  const params = TABULAR_CATALOG_PARAMS.land_values;
  let book: string;

  before(async () => {
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Notes').addRow(['Valeurs vénales, arrêté 2024']);
    const ws = wb.addWorksheet('Values');
    ws.addRow([]);
    ws.addRow(['commune', 'zone', 'year', 'value_per_m2', 'land_use']);
    ws.addRow(['Cotonou', 'A', 2024, 150000, 'residential']);
    ws.addRow(['Cotonou', 'B', 2024, { formula: 'D3/2', result: 75000 }, null]);
    ws.addRow([]);
    ws.addRow([{ richText: [{ text: 'Porto' }, { text: '-Novo' }] }, 1, '2024', '42000.50', 'mixed']);
    ws.addRow(['Ouidah', 'A', 2024, { error: '#N/A' }, null]);
    book = path.join(tmp, 'land-values.xlsx');
    await wb.xlsx.writeFile(book);
  });

  test('reads the named sheet: header after blank rows, formulas, rich text, numbers as text', async () => {
    const records = await read({ ...params, sheet: 'Values' }, book);
    assert.equal(records.length, 4);
    assert.deepEqual(transformAll(params, records), [
      {
        seriesKey: 'Cotonou|A',
        dimensions: { commune: 'Cotonou', zone: 'A' },
        period: '2024',
        value: '150000',
        unit: 'XOF/m2',
        attributes: { land_use: 'residential' },
      },
      {
        seriesKey: 'Cotonou|B',
        dimensions: { commune: 'Cotonou', zone: 'B' },
        period: '2024',
        value: '75000',
        unit: 'XOF/m2',
        attributes: null,
      },
      {
        seriesKey: 'Porto-Novo|1',
        dimensions: { commune: 'Porto-Novo', zone: '1' },
        period: '2024',
        value: '42000.5',
        unit: 'XOF/m2',
        attributes: { land_use: 'mixed' },
      },
      'row 4: column "value_per_m2": expected a number, got "#N/A"',
    ]);
    assert.equal((await read({ ...params, sheet: 2 }, book)).length, 4, 'the same sheet by position');
  });

  test('date cells become YYYY-MM-DD', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Parcels');
    ws.addRow(Object.keys(PARCELS.rowSchema));
    ws.addRow(['P-1', 'Kandi', 320.5, new Date(Date.UTC(2023, 0, 15)), null, null]);
    const file = path.join(tmp, 'parcels.xlsx');
    await wb.xlsx.writeFile(file);
    const [row] = transformAll(PARCELS, await read(PARCELS, file));
    assert.deepEqual(row, {
      seriesKey: 'P-1',
      dimensions: { parcel_id: 'P-1' },
      period: '2023-01-15',
      value: '320.5',
      unit: 'm2',
      attributes: { commune: 'Kandi' },
    });
  });

  test('a missing sheet names the sheets there are; the first sheet is the default', async () => {
    await assertFailure(
      read({ ...params, sheet: 'Valeurs' }, book),
      FailureType.ConfigurationError,
      /no sheet "Valeurs"; its sheets are: Notes, Values/,
    );
    await assertFailure(
      read(params, book),
      FailureType.InvalidPayload,
      /no column "commune".*its header is: Valeurs vénales/,
    );
  });

  test('a file that is no workbook is an InvalidPayload', async () => {
    await assertFailure(
      read(params, tmpFile('fake.xlsx', 'commune,zone\nA,B\n')),
      FailureType.InvalidPayload,
      /fake\.xlsx is not a readable XLSX file/,
    );
  });
});

describe('feeds over loopback HTTP', () => {
  let fixture: FixtureServer;
  let cutting: Server;
  let cutUrl: string;
  const csv = fs.readFileSync(path.join(FILES, 'agriculture-survey.csv'));
  const params = TABULAR_CATALOG_PARAMS.agriculture_local_surveys;

  before(async () => {
    fixture = await startFixtureServer((req) =>
      req.path === '/export'
        ? { headers: { 'content-type': 'text/csv; charset=utf-8' }, body: csv }
        : textResponse('not found', 404),
    );
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Survey').addRows(
      csv
        .toString('utf8')
        .replace(/^\uFEFF/, '')
        .split('\r\n')
        .map((l) => l.split(',')),
    );
    const bodies: Record<string, Buffer> = { '/rows.csv': csv, '/rows.xlsx': Buffer.from(await wb.xlsx.writeBuffer()) };
    // Sends half a body, then drops the connection: a read failure in the middle of the file.
    cutting = createServer((req, res) => {
      const body = bodies[req.url ?? ''] ?? Buffer.alloc(0);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
      res.write(body.subarray(0, body.length / 2));
      setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve));
    cutUrl = `http://127.0.0.1:${(cutting.address() as AddressInfo).port}`;
  });
  after(async () => {
    await fixture.close();
    cutting.closeAllConnections();
    await new Promise((resolve) => cutting.close(resolve));
  });

  test('feedUrl without an extension: the format comes from the content-type; probe = sha256 of the body', async () => {
    const ctx = context({ ...params, feedUrl: `${fixture.url}/export` });
    const records: TabularRecord[] = [];
    for await (const r of tabularConnector.fetch(ctx)) records.push(r);
    assert.equal(records.length, 12);
    const probe = await tabularConnector.probe(ctx);
    const local = await tabularConnector.probe(context(params, path.join(FILES, 'agriculture-survey.csv')));
    assert.equal(probe.token, local.token, 'the same bytes, the same token');
  });

  test('an event location overrides the feed; HTTP errors keep their type', async () => {
    const ctx = context({ ...params, feedUrl: `${fixture.url}/export` }, `${fixture.url}/missing.csv`);
    await assertFailure(tabularConnector.probe(ctx), FailureType.SourceRejected, /HTTP 404/);
    fixture.faults.failNext(1, 503);
    await assertFailure(
      (async () => {
        for await (const _ of tabularConnector.fetch(context({ ...params, feedUrl: `${fixture.url}/export` }))) {
        }
      })(),
      FailureType.SourceUnavailable,
      /HTTP 503/,
    );
  });

  test('a connection cut mid-body is a retryable SourceUnavailable, not a parse error (CSV and XLSX)', async () => {
    for (const file of ['rows.csv', 'rows.xlsx']) {
      await assertFailure(
        read(params, `${cutUrl}/${file}`),
        FailureType.SourceUnavailable,
        // HttpClient types the cut itself ("while reading the body"); ByteSource keeps that failure as it is.
        new RegExp(`${cutUrl}/${file.replace('.', '\\.')}.*(failed after \\d+ bytes|while reading the body)`),
      );
    }
  });
});

describe('tedi import: arguments', () => {
  const file = path.join(FILES, 'agriculture-survey.csv');

  test('a local file becomes an absolute path; options are read', () => {
    assert.deepEqual(importArgs({ source: 'agriculture_local_surveys', fileOrUrl: 'agriculture-survey.csv' }, FILES), {
      source: 'agriculture_local_surveys',
      fileOrUrl: file,
      version: 'current',
      force: false,
      acceptRemovals: false,
      wait: true,
      json: false,
    });
    const parsed = importArgs({
      source: 'cadastre',
      fileOrUrl: 'https://example.org/parcels.csv',
      version: '2024',
      wait: false,
      force: true,
      acceptRemovals: true,
    });
    assert.deepEqual(parsed, {
      source: 'cadastre',
      fileOrUrl: 'https://example.org/parcels.csv',
      version: '2024',
      force: true,
      acceptRemovals: true,
      wait: false,
      json: false,
    });
  });

  test('clear errors, naming the argument, before anything starts', () => {
    const usage = (raw: Record<string, unknown>) => {
      try {
        importArgs(raw, FILES);
      } catch (err) {
        assert.ok(err instanceof UsageError, String(err));
        return err.message;
      }
      assert.fail(`expected a usage error for ${JSON.stringify(raw)}`);
    };
    assert.match(usage({}), /<source>: missing/);
    assert.match(usage({ source: 'cadastre' }), /<file-or-url>: missing/);
    assert.match(
      usage({ source: 'cadastre', fileOrUrl: 'nope.csv' }),
      new RegExp(`<file-or-url>: no such file: ${path.join(FILES, 'nope.csv')}`),
    );
    assert.match(usage({ source: 'cadastre', fileOrUrl: '.' }), /not a file/);
    assert.match(
      usage({ source: 'cadastre', fileOrUrl: 's3://bucket/x.csv' }),
      /only local files and http\(s\):\/\/ URLs/,
    );
    assert.match(usage({ source: 'Cadastre!', fileOrUrl: file }), /<source>: must be a catalog name/);
  });

  test('--help shows the equivalent temporal workflow start', () => {
    const text = temporalStartHint({ source: 'cadastre', location: 'x.csv', taskQueue: 'realestate', cwd: '/data' });
    assert.match(text, /temporal workflow start --type ingestDatasetVersion/);
    assert.match(text, /--task-queue realestate/);
    assert.match(
      text,
      /--input '\{"source":"cadastre","version":"current","trigger":"event","event":\{"location":"\/data\/x\.csv"\}\}'/,
    );
  });

  test('the command itself exits 2 on a missing file, without connecting anywhere', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/tedi.ts', 'import', 'cadastre', 'no/such/file.csv'],
      {
        cwd: path.join(__dirname, '../..'),
        env: { ...process.env, INIT_CWD: tmp },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`no such file: ${path.join(tmp, 'no/such/file.csv')}`));
  });
});
