// File and feed sources through the real ingestion workflow: Temporal dev server, PostgreSQL, workers,
// and the tabular_file connector reading files from disk or a feed served by the fixture server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import ExcelJS from 'exceljs';
import { observationsAsOf } from '../../activities/store/as-of';
import { startManualIngestion } from '../../operations/temporal/start-ingestion';
import { TABULAR_CATALOG_PARAMS } from '../../sources/specs/tabular/catalog-params';
import { textResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness } from '../helpers/harness';
import { logsOf, runIngestion, versionOf } from '../helpers/ingest';

const SURVEY = 'agriculture_local_surveys';
const FIXTURE = path.join(__dirname, '../fixtures/files/agriculture-survey.csv');

let h: Harness;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-tabular-wf-'));
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// The fixture separates records with CRLF; its one quoted line break is a bare LF, so CRLF splits records.
const [HEADER = '', ...BASE_ROWS] = fs.readFileSync(FIXTURE, 'utf8').split('\r\n').filter(Boolean);
let fileCount = 0;

/** Writes a survey CSV with the fixture's header and these rows; returns its path. */
function surveyFile(rows: string[]): string {
  const file = path.join(tmp, `survey-${++fileCount}.csv`);
  fs.writeFileSync(file, `${[HEADER, ...rows].join('\r\n')}\r\n`);
  return file;
}

/** Sets the value (6th field; the fields before it never hold a comma) of a survey row. */
const withValue = (row: string, value: string) => {
  const fields = row.split(',');
  fields[5] = value;
  return fields.join(',');
};

const importFile = (source: string, location: string) =>
  runIngestion(h, source, { trigger: 'event', event: { location } });

describe('on-event file imports (agriculture_local_surveys)', () => {
  let rev2Rows: string[] = [];
  let rev3Rows: string[] = [];

  test('an operator import (startManualIngestion, trigger event) loads the file as revision 1', async () => {
    const handle = await startManualIngestion(h.env.client, h.db, {
      source: SURVEY,
      trigger: 'event',
      event: { location: FIXTURE },
    });
    const result = await handle.result();
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 12);
    assert.equal(result.recordsUpdated, 0);
    assert.equal(result.recordsRemoved, 0);
    assert.equal(result.recordsRejected, 0);

    const version = await versionOf(h, SURVEY);
    assert.equal(version.currentRevision, 1);
    const rows = await observationsAsOf(h.db.pool, version.id);
    assert.equal(rows.length, 12);
    assert.deepEqual(
      rows.find((r) => r.seriesKey === 'production_t|Bohicon|maize'),
      {
        seriesKey: 'production_t|Bohicon|maize',
        period: '2023-2024',
        value: '1250.5',
        unit: 't',
        attributes: { department: 'Zou', survey: 'Enquête "campagne" 2024' },
      },
    );
    assert.equal(rows.find((r) => r.seriesKey === 'area_ha|Abomey|cassava')?.value, null);
    const [log] = await logsOf(h, SURVEY);
    assert.equal(log?.trigger, 'event');
    assert.match(String(log?.probeToken), /^[0-9a-f]{64}$/);
  });

  test('the same file again (even under another name) is no_change: no new revision', async () => {
    const copy = path.join(tmp, 'same-bytes.csv');
    fs.copyFileSync(FIXTURE, copy);
    const result = await importFile(SURVEY, copy);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
    assert.match(String(result.reason), /probe unchanged \(sha256 [0-9a-f]{12} of same-bytes\.csv\)/);
    assert.equal((await versionOf(h, SURVEY)).currentRevision, 1);
    assert.equal(
      await h.db.prisma.datasetRevision.count({ where: { datasetVersion: { dataSource: { name: SURVEY } } } }),
      1,
    );
  });

  test('a changed file makes revision 2 with exact added / updated / removed counts', async () => {
    rev2Rows = BASE_ROWS.map((r) => (r.startsWith('production_t,Zou,Bohicon,maize,') ? withValue(r, '1300') : r))
      .map((r) => (r.startsWith('area_ha,Zou,Abomey,cassava,') ? withValue(r, '655') : r))
      .filter((r) => !r.startsWith('area_ha,Borgou,Parakou,yam,'))
      .concat([
        'yield_t_ha,Zou,Bohicon,maize,2023-2024,1.52,t/ha,',
        'yield_t_ha,Zou,Abomey,maize,2023-2024,1.40,t/ha,',
        'yield_t_ha,Borgou,Parakou,maize,2023-2024,1.54,t/ha,',
      ]);
    const result = await importFile(SURVEY, surveyFile(rev2Rows));
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 2);
    assert.equal(result.recordsAdded, 3);
    assert.equal(result.recordsUpdated, 2);
    assert.equal(result.recordsRemoved, 1);
    assert.equal(result.recordsSkipped, 9);

    const id = await h.versionId(SURVEY);
    assert.equal((await observationsAsOf(h.db.pool, id, { revision: 1 })).length, 12, 'revision 1 stays queryable');
    const now = await observationsAsOf(h.db.pool, id);
    assert.equal(now.length, 14);
    assert.equal(now.find((r) => r.seriesKey === 'yield_t_ha|Abomey|maize')?.value, '1.4');
  });

  test('a few bad rows: success, the rows rejected into the log, their last good values kept current', async () => {
    const bad = rev2Rows.findIndex((r) => r.startsWith('production_t,Borgou,Parakou,maize,'));
    const households = ['Zou,Bohicon,maize', 'Zou,Bohicon,cassava', 'Zou,Abomey,maize', 'Zou,Abomey,cassava']
      .concat(['Borgou,Parakou,maize', 'Borgou,Parakou,yam'])
      .map((where, i) => `households_n,${where},2023-2024,${120 + i},households,`);
    rev3Rows = rev2Rows.map((r, i) => (i === bad ? withValue(r, 'n/a') : r)).concat(households);
    const result = await importFile(SURVEY, surveyFile(rev3Rows));
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 3);
    assert.equal(result.recordsRejected, 1);
    assert.equal(result.recordsAdded, 6);
    assert.equal(result.recordsUpdated, 0);
    assert.equal(result.recordsRemoved, 0, 'a rejected row is never removed');
    assert.equal(result.recordsSkipped, 13);
    const id = await h.versionId(SURVEY);
    const current = await observationsAsOf(h.db.pool, id);
    assert.equal(current.length, 20, '14 of revision 2 (the rejected one kept) + 6 new');
    const lastGood = (await observationsAsOf(h.db.pool, id, { revision: 2 })).find(
      (r) => r.seriesKey === 'production_t|Parakou|maize',
    );
    assert.ok(lastGood?.value, 'revision 2 had a value for the row rejected now');
    assert.deepEqual(
      current.find((r) => r.seriesKey === 'production_t|Parakou|maize'),
      lastGood,
      'the rejected row keeps its last good value',
    );
    const log = (await logsOf(h, SURVEY)).at(-1);
    assert.equal(log?.recordsRejected, 1);
    assert.equal(log?.recordsKept, 1);
    assert.match(log?.errorMessage ?? '', /1 current rows absent from a snapshot with rejected rows were kept/);
    assert.deepEqual(log?.rejects, [
      { row: bad + 1, reason: `row ${bad + 1}: column "value": expected a number, got "n/a"` },
    ]);
  });

  test('mostly bad rows: failed with TooManyRejects, the current version intact', async () => {
    const id = await h.versionId(SURVEY);
    const before = await observationsAsOf(h.db.pool, id);
    const rows = rev3Rows.map((r, i) => withValue(r, i < 5 ? String(10 + i) : 'abc'));
    await assert.rejects(importFile(SURVEY, surveyFile(rows)), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String(err.cause?.message), /failed during fetch: .*15 of 20 records failed validation/);
      return true;
    });
    const log = (await logsOf(h, SURVEY)).at(-1);
    assert.equal(log?.status, 'failed');
    assert.equal(log?.errorClass, 'TooManyRejects');
    assert.equal(log?.recordsRejected, 15);
    const rejects = log?.rejects as Array<{ row: number; reason: string }>;
    assert.equal(rejects.length, 15);
    assert.deepEqual(rejects[0], { row: 6, reason: 'row 6: column "value": expected a number, got "abc"' });
    assert.deepEqual(await observationsAsOf(h.db.pool, id), before);
    assert.equal((await versionOf(h, SURVEY)).currentRevision, 3);
  });

  test('an XLSX import into a feed source not yet activated (land_values) runs: a file is an explicit request', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('2024');
    ws.addRow(['commune', 'zone', 'year', 'value_per_m2', 'land_use']);
    ws.addRows([
      ['Cotonou', 'A', 2024, 150000, 'residential'],
      ['Cotonou', 'B', 2024, 75000, null],
      ['Ouidah', 'A', 2024, 30000.5, 'mixed'],
    ]);
    const file = path.join(tmp, 'land-values-2024.xlsx');
    await wb.xlsx.writeFile(file);
    const result = await importFile('land_values', file);
    assert.equal(result.status, 'success');
    assert.equal(result.recordsAdded, 3);
    const rows = await observationsAsOf(h.db.pool, await h.versionId('land_values'));
    assert.deepEqual(rows[2], {
      seriesKey: 'Ouidah|A',
      period: '2024',
      value: '30000.5',
      unit: 'XOF/m2',
      attributes: { land_use: 'mixed' },
    });
  });
});

describe('text encoding of imported files (employment_local_surveys)', () => {
  const SOURCE = 'employment_local_surveys';
  const communes = ["Côte d'Ivoire", 'Curaçao', 'Türkiye', 'São Tomé'];
  const csv = `indicator,commune,sector,sex,period,value,unit,survey\n${communes
    .map((c, i) => `employed_persons,${c},pêche,F,2024-Q1,${100 + i}.50,persons,Enquête emploi`)
    .join('\n')}\n`;

  test('a BOM-less UTF-8 file: non-ASCII labels round-trip into the store', async () => {
    const file = path.join(tmp, 'emploi-utf8.csv');
    fs.writeFileSync(file, Buffer.from(csv, 'utf8'));
    const result = await importFile(SOURCE, file);
    assert.equal(result.status, 'success');
    assert.equal(result.recordsAdded, 4);
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.deepEqual(
      rows.map((r) => [r.seriesKey, r.value]),
      communes.map((c, i) => [`employed_persons|${c}|pêche|F`, `${100 + i}.5`]).sort(),
    );
  });

  test('the same text in latin1 without the encoding param fails at the first non-UTF-8 byte; nothing changes', async () => {
    const id = await h.versionId(SOURCE);
    const before = await observationsAsOf(h.db.pool, id);
    const bytes = Buffer.from(csv, 'latin1');
    const file = path.join(tmp, 'emploi-latin1.csv');
    fs.writeFileSync(file, bytes);
    const offset = bytes.findIndex((b) => b >= 0x80);
    await assert.rejects(importFile(SOURCE, file), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String(err.cause?.message), new RegExp(`emploi-latin1\\.csv: not valid UTF-8 at byte ${offset} `));
      return true;
    });
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.errorClass, 'InvalidPayload');
    assert.match(String(log?.errorMessage), /set the encoding parameter/);
    assert.deepEqual(await observationsAsOf(h.db.pool, id), before);
  });
});

describe('a scheduled feed (cadastre)', () => {
  const parcels = (areas: number[]) =>
    ['parcel_id,commune,area_m2,registered_on,land_use,title_type']
      .concat(areas.map((a, i) => `BJ-${i + 1},Cotonou,${a},2022-0${i + 1}-15,residential,TF`))
      .join('\n');
  let served = parcels([300, 450.5, 512, 610, 1200]);

  test('without a feedUrl the catalog leaves it inactive: a scheduled check is skipped', async () => {
    const source = await h.db.prisma.dataSource.findUniqueOrThrow({ where: { name: 'cadastre' } });
    assert.equal(source.isActive, false);
    const result = await runIngestion(h, 'cadastre', { trigger: 'schedule' });
    assert.equal(result.status, 'skipped');
    assert.match(String(result.reason), /inactive/);
  });

  test('with params.feedUrl and is_active set, a scheduled check ingests the feed; an unchanged feed is no_change', async () => {
    h.mount('cadastre', (req) =>
      req.path === '/parcels.csv' ? { headers: { 'content-type': 'text/csv' }, body: served } : textResponse('no', 404),
    );
    await h.db.prisma.dataSource.update({
      where: { name: 'cadastre' },
      data: {
        isActive: true,
        params: { ...TABULAR_CATALOG_PARAMS.cadastre, feedUrl: `${h.fixture.url}/cadastre/parcels.csv` },
      },
    });
    const first = await runIngestion(h, 'cadastre', { trigger: 'schedule' });
    assert.equal(first.status, 'success');
    assert.equal(first.revision, 1);
    assert.equal(first.recordsAdded, 5);
    const rows = await observationsAsOf(h.db.pool, await h.versionId('cadastre'));
    assert.deepEqual(rows[1], {
      seriesKey: 'BJ-2',
      period: '2022-02-15',
      value: '450.5',
      unit: 'm2',
      attributes: { commune: 'Cotonou', land_use: 'residential', title_type: 'TF' },
    });

    const before = h.fixture.requests.length;
    const again = await runIngestion(h, 'cadastre', { trigger: 'schedule' });
    assert.equal(again.status, 'no_change');
    assert.equal(h.fixture.requests.length - before, 1, 'only the probe read the feed');

    served = parcels([300, 450.5, 512, 640]);
    const changed = await runIngestion(h, 'cadastre', { trigger: 'schedule' });
    assert.equal(changed.revision, 2);
    assert.equal(changed.recordsUpdated, 1);
    assert.equal(changed.recordsRemoved, 1);
    assert.equal(changed.recordsSkipped, 3);
  });
});
