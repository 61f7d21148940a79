// OpenStreetMap (Overpass) and ILOSTAT end to end: the ingestion workflow on a real Temporal dev server and
// real PostgreSQL, each source's API played by its fixture at the catalog's base URL.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { observationsAsOf } from '../../activities/store/as-of';
import { createIlostatFixture, type IlostatFixture, TEMPORARY, UNEMPLOYMENT } from '../fixtures/ilostat';
import { building, createOverpassFixture, FIXTURE_BBOX, type OverpassFixture } from '../fixtures/overpass';
import { type Harness, startHarness } from '../helpers/harness';
import { logsOf, runIngestion, stagingTablesLeft, versionOf } from '../helpers/ingest';

let h: Harness;
let osm: OverpassFixture;
let ilo: IlostatFixture;

before(async () => {
  h = await startHarness();
  osm = createOverpassFixture();
  ilo = createIlostatFixture();
  h.mount('openstreetmap', osm.handler);
  h.mount('ilostat', ilo.handler);
  // Four 0.5° tiles over Cotonou instead of Benin's 91; the catalog's ILOSTAT params are used as they are.
  await h.db.prisma.dataSource.update({
    where: { name: 'openstreetmap' },
    data: { params: { bbox: { ...FIXTURE_BBOX }, tileSize: 0.5 } },
  });
});
after(async () => {
  await h?.stop();
});

/** The stored attributes of the current row of one series. */
async function currentAttributes(source: string, seriesKey: string): Promise<Record<string, unknown> | null> {
  const rows = await observationsAsOf(h.db.pool, await h.versionId(source), { seriesKey });
  return rows[0]?.attributes ?? null;
}

describe('openstreetmap (Overpass)', () => {
  const SOURCE = 'openstreetmap';

  test('first ingestion: 6 features (the edge-crossing road once) as revision 1, with GeoJSON', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 6);
    assert.equal(result.recordsRejected, 0);
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.deepEqual(
      rows.map((r) => `${r.seriesKey} ${r.period}`),
      [
        'osm|node/3001 current',
        'osm|way/1001 current',
        'osm|way/1002 current',
        'osm|way/1003 current',
        'osm|way/1004 current',
        'osm|way/2001 current',
      ],
    );
    const road = await currentAttributes(SOURCE, 'osm|way/2001');
    assert.deepEqual(road, {
      kind: 'highway',
      tags: { highway: 'primary', name: 'RNIE 1' },
      geometry: {
        type: 'LineString',
        coordinates: [
          [2.45, 6.35],
          [2.5, 6.36],
          [2.55, 6.37],
        ],
      },
    });
    const house = await currentAttributes(SOURCE, 'osm|way/1001');
    assert.equal((house?.geometry as { type?: string } | undefined)?.type, 'Polygon');
    const [log] = await logsOf(h, SOURCE);
    assert.equal(log?.probeToken, '2024-05-30T12:00:00Z');
    assert.ok(Number(log?.bytesFetched) > 0);
    assert.equal(await stagingTablesLeft(h.db.pool), 0, 'staging is cleaned up');
  });

  test('an unchanged timestamp_osm_base is a no_change run: only the probe query is sent', async () => {
    const before = osm.queries.length;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 1);
    assert.equal(osm.queries.length - before, 1);
  });

  test('edited, new and deleted features make revision 2 with exact counts; revision 1 stays readable', async () => {
    osm.setTimestamp('2024-05-31T08:00:00Z');
    osm.upsert(building(1002, 6.3, 2.7, { name: 'Marché Dantokpa', 'building:levels': '3' }));
    osm.upsert(building(1005, 6.31, 2.71, { building: 'commercial' }));
    osm.remove('way', 1003);
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 2);
    assert.equal(result.recordsAdded, 1);
    assert.equal(result.recordsUpdated, 1);
    assert.equal(result.recordsRemoved, 1);
    assert.equal(result.recordsSkipped, 4);
    const id = await h.versionId(SOURCE);
    assert.equal((await observationsAsOf(h.db.pool, id, { revision: 1 })).length, 6);
    assert.equal((await observationsAsOf(h.db.pool, id, { revision: 2 })).length, 6);
    assert.deepEqual((await currentAttributes(SOURCE, 'osm|way/1002'))?.tags, {
      building: 'yes',
      name: 'Marché Dantokpa',
      'building:levels': '3',
    });
  });

  test('a remark (partial result) fails the fetch, which is retried and succeeds once the server completes', async () => {
    osm.setTimestamp('2024-05-31T20:00:00Z');
    osm.upsert(building(1006, 6.81, 2.31));
    osm.remarkNext(1);
    const before = osm.queries.length;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 3);
    // Exactly one new feature: nothing of the failed attempt's partial tile was loaded twice or kept.
    assert.equal(result.recordsAdded, 1);
    assert.equal(result.recordsUpdated, 0);
    assert.equal(result.recordsSkipped, 6);
    assert.equal(osm.queries.length - before, 1 + 1 + 4, 'probe, the partial tile, then all four tiles again');
    assert.equal((await versionOf(h, SOURCE)).consecutiveFailures, 0);
  });

  test('a new monthly snapshot with no edits makes no revision: unchanged features are never copied', async () => {
    const id = await h.versionId(SOURCE);
    const stored = await h.db.prisma.observation.count({ where: { datasetVersionId: id } });
    osm.setTimestamp('2024-06-01T00:05:00Z');
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(result.revision, 3);
    assert.equal(await h.db.prisma.observation.count({ where: { datasetVersionId: id } }), stored);
    assert.deepEqual([...new Set((await observationsAsOf(h.db.pool, id)).map((r) => r.period))], ['current']);
  });
});

describe('ilostat', () => {
  const SOURCE = 'ilostat';
  const SERIES = 'UNE_DEAP_SEX_AGE_RT|BEN|SEX_T|AGE_YTHADULT_YGE15';

  test('first ingestion: both catalog datasets for Benin as revision 1', async () => {
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'success');
    assert.equal(result.revision, 1);
    assert.equal(result.recordsAdded, 8 + 4);
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.equal(rows.length, 12);
    assert.deepEqual(
      rows.filter((r) => r.seriesKey === SERIES).map(({ attributes, ...r }) => r),
      [
        { seriesKey: SERIES, period: '2018', value: '1.5', unit: null },
        { seriesKey: SERIES, period: '2022', value: '1.6', unit: null },
      ],
    );
    assert.equal(
      rows.find((r) => r.seriesKey.endsWith('SEX_F|AGE_YTHADULT_Y15-24') && r.period === '2018')?.value,
      null,
    );
    assert.deepEqual(await currentAttributes(SOURCE, `${SERIES}`), {
      source: 'BA:1234 - Enquête Régionale Intégrée sur l’Emploi et le Secteur Informel',
      note_source: 'R1:3902 - Break in series',
    });
    const [log] = await logsOf(h, SOURCE);
    assert.equal(log?.probeToken, `${TEMPORARY}=2024-04-02T08:15:00;${UNEMPLOYMENT}=2024-05-30T12:00:00`);
  });

  test('an unchanged table of contents is a no_change run: only the TOC is read', async () => {
    const before = ilo.requests.length;
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.status, 'no_change');
    assert.equal(ilo.requests.length - before, 1);
    assert.match(String(ilo.requests.at(-1)?.path), /^\/metadata\/toc\/indicator\/?$/);
  });

  test('a new last.update with a revised value and a new year makes revision 2', async () => {
    ilo.setLastUpdate(UNEMPLOYMENT, '15/11/2024 09:30:00');
    ilo.setValue(UNEMPLOYMENT, { sex: 'SEX_T', classif1: 'AGE_YTHADULT_YGE15', time: '2022' }, 1.75);
    ilo.addRow(UNEMPLOYMENT, {
      ref_area: 'BEN',
      source: 'BA:1234',
      sex: 'SEX_T',
      classif1: 'AGE_YTHADULT_YGE15',
      time: '2024',
      obs_value: 1.8,
    });
    const result = await runIngestion(h, SOURCE);
    assert.equal(result.revision, 2);
    assert.equal(result.recordsAdded, 1);
    assert.equal(result.recordsUpdated, 1);
    assert.equal(result.recordsSkipped, 11);
    const id = await h.versionId(SOURCE);
    assert.deepEqual(
      (await observationsAsOf(h.db.pool, id, { seriesKey: SERIES })).map((r) => [r.period, r.value]),
      [
        ['2018', '1.5'],
        ['2022', '1.75'],
        ['2024', '1.8'],
      ],
    );
    assert.equal((await observationsAsOf(h.db.pool, id, { revision: 1, seriesKey: SERIES })).length, 2);
  });

  test('HTTP 413 fails at once (not retried), logs why, and keeps the current revision', async () => {
    ilo.setLastUpdate(TEMPORARY, '01/12/2024 00:00:00');
    ilo.tooLarge = true;
    const before = ilo.requests.length;
    try {
      await assert.rejects(runIngestion(h, SOURCE, { retry: { initialIntervalMs: 50, maximumAttempts: 4 } }), (err) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String(err.cause?.message), /failed during fetch: .*HTTP 413.*Narrow it/);
        return true;
      });
    } finally {
      ilo.tooLarge = false;
    }
    assert.equal(ilo.requests.length - before, 2, 'the TOC, then one data request: a 413 is not retried');
    const log = (await logsOf(h, SOURCE)).at(-1);
    assert.equal(log?.status, 'failed');
    assert.equal(log?.errorClass, 'SourceRejected');
    assert.equal((await versionOf(h, SOURCE)).currentRevision, 2);
  });
});
