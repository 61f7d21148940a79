// A retried stage resumes from its last checkpoint (activities/ingestion/stage-resume.ts): a failure on a
// late page costs that page, not the pages before it. Real Temporal dev server, real PostgreSQL, the World
// Bank fixture over loopback HTTP; the harness sends each request once (max_retries 0), so a 503 fails the
// stage attempt and Temporal retries the activity.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { observationsAsOf } from '../../activities/store/as-of';
import { textResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness } from '../helpers/harness';
import { runIngestion } from '../helpers/ingest';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

const SOURCE = 'world_bank_agriculture';
const PER_PAGE = 3;

/** Data requests (not the probe's one-record pages) as "indicator page". */
function dataRequests(): string[] {
  return h.fixture.requests
    .filter((r) => r.query.get('per_page') === String(PER_PAGE))
    .map((r) => `${decodeURIComponent(r.path.split('/').at(-1) ?? '')} ${r.query.get('page')}`);
}

describe('a retried stage resumes from its last checkpoint', () => {
  test('a 503 on a late page of the second indicator re-reads only that page; the revision is exact', async () => {
    const source = await h.db.prisma.dataSource.findUniqueOrThrow({ where: { name: SOURCE } });
    // Two indicators the fixture serves, 20 years each: seven pages of three per indicator.
    const params = {
      ...(source.params as object),
      indicators: ['AG.PRD.CROP.XD', 'SL.UEM.TOTL.ZS'],
      perPage: PER_PAGE,
    };
    await h.db.prisma.dataSource.update({ where: { id: source.id }, data: { params } });
    const second = params.indicators[1]!;
    let failed = 0;
    h.setHandler((req) => {
      const indicator = decodeURIComponent(req.path.split('/').at(-1) ?? '');
      if (indicator === second && req.query.get('page') === '3' && req.query.get('per_page') === String(PER_PAGE)) {
        if (failed++ === 0) return textResponse('upstream hiccup', 503);
      }
      return h.worldBank.handler(req);
    });
    const result = await runIngestion(h, SOURCE, { retry: { initialIntervalMs: 50, maximumAttempts: 3 } });
    assert.equal(result.status, 'success');
    assert.equal(failed, 2, 'page 3 of the second indicator was asked twice: the failure and the resumed read');

    // The harness's server is fresh for this file: every data request so far is this run's.
    const counts = new Map<string, number>();
    for (const r of dataRequests()) counts.set(r, (counts.get(r) ?? 0) + 1);
    for (const [request, n] of counts) {
      assert.equal(n, request === `${second} 3` ? 2 : 1, `${request} was requested ${n} times`);
    }
    assert.ok(counts.has(`${params.indicators[0]} 1`) && counts.has(`${second} 1`), 'both indicators were read');

    // Exactly the rows a clean read gives: none lost at the checkpoint, none doubled.
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.equal(rows.length, result.recordsAdded);
    assert.equal(new Set(rows.map((r) => `${r.seriesKey} ${r.period}`)).size, rows.length);
    const log = await h.db.prisma.ingestionLog.findFirstOrThrow({
      where: { datasetVersion: { dataSource: { name: SOURCE } } },
      orderBy: { startedAt: 'desc' },
    });
    assert.equal(log.status, 'success');
    assert.equal(log.recordsAdded, rows.length);
  });

  test('a checkpoint that no longer fits the requests (params edited between attempts) reads everything afresh', async () => {
    const source = await h.db.prisma.dataSource.findUniqueOrThrow({ where: { name: SOURCE } });
    const params = source.params as { indicators: string[] };
    const third = 'IC.BUS.NREG';
    h.fixture.requests.length = 0;
    let failed = 0;
    h.setHandler(async (req) => {
      const indicator = decodeURIComponent(req.path.split('/').at(-1) ?? '');
      if (indicator === params.indicators[1] && req.query.get('page') === '3' && failed++ === 0) {
        // While the first attempt fails, an operator adds an indicator in front: the next attempt's partitions
        // differ, and counting partitions read would skip the new one.
        const indicators = [third, ...params.indicators];
        await h.db.prisma.dataSource.update({ where: { id: source.id }, data: { params: { ...params, indicators } } });
        return textResponse('upstream hiccup', 503);
      }
      return h.worldBank.handler(req);
    });
    const result = await runIngestion(h, SOURCE, {
      force: true,
      retry: { initialIntervalMs: 200, maximumAttempts: 3 },
    });
    assert.equal(result.status, 'success');
    const firstPages = dataRequests().filter((r) => r === `${params.indicators[0]} 1`);
    assert.equal(firstPages.length, 2, 'the first indicator was read again from its first page');
    const rows = await observationsAsOf(h.db.pool, await h.versionId(SOURCE));
    assert.equal(new Set(rows.map((r) => `${r.seriesKey} ${r.period}`)).size, rows.length, 'no row doubled');
    assert.ok(
      rows.some((r) => r.seriesKey.startsWith(`${third}|`)),
      'the added indicator is loaded',
    );
    assert.equal(rows.filter((r) => r.seriesKey.startsWith(`${params.indicators[0]}|`)).length, 20);
  });
});
