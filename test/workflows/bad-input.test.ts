// Bad input loses nothing and costs one row, not the run: cells PostgreSQL cannot store become rejected
// rows with their reason; a body no parser can read is one non-retried InvalidPayload, never five
// attempts of an untyped Error.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { observationsAsOf } from '../../activities/store/as-of';
import { FailureType } from '../../lib/failures';
import { FaostatParamsSchema } from '../../sources/specs/faostat';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { CATALOGUE_PATH, createFaostatFixture } from '../fixtures/faostat';
import { textResponse } from '../fixtures/fixture-server';
import { createIlostatFixture } from '../fixtures/ilostat';
import { type Harness, startHarness } from '../helpers/harness';
import { logsOf, runIngestion } from '../helpers/ingest';

let h: Harness;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-bad-input-'));
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const SURVEY = 'agriculture_local_surveys';
const HEADER = 'indicator,department,commune,crop,campaign,value,unit,survey';

/** Attempts of each activity type, as the history records them (the started event carries the attempt). */
async function attemptsOf(workflowId: string): Promise<Record<string, number>> {
  const history = await h.env.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>();
  const attempts: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const type = scheduled.get(String(started.scheduledEventId)) ?? '?';
      attempts[type] = Math.max(attempts[type] ?? 0, started.attempt ?? 1);
    }
  }
  return attempts;
}

/** Runs an ingestion that must fail, allowing five attempts; returns its failure and workflow id. */
async function failedRun(source: string) {
  const v = await h.db.prisma.datasetVersion.findFirstOrThrow({
    where: { dataSource: { name: source } },
    include: { dataSource: true },
  });
  const workflowId = `bad-input-${source}-${randomUUID()}`;
  const err = await h.env.client.workflow
    .execute(ingestDatasetVersion, {
      taskQueue: v.dataSource.vertical,
      workflowId,
      args: [{ datasetVersionId: v.id, trigger: 'manual', retry: { initialIntervalMs: 50, maximumAttempts: 5 } }],
    })
    .then(
      () => assert.fail('expected the ingestion to fail'),
      (e: unknown) => e,
    );
  assert.ok(err instanceof WorkflowFailedError, String(err));
  return { err, workflowId };
}

describe('cells PostgreSQL cannot store', () => {
  test('a NUL byte, 1e999999999, 1e200000 and a 30 MB key cell are four rejected rows, the rest loads', async () => {
    const good = Array.from({ length: 60 }, (_, i) => `production_t,Zou,C${i},maize,2023-2024,${i + 1},t,ok`);
    const bad = [
      'production_t,Zou,Nul\u0000Town,maize,2023-2024,5,t,ok',
      'production_t,Zou,Huge,maize,2023-2024,1e999999999,t,ok',
      'production_t,Zou,Large,maize,2023-2024,1e200000,t,ok',
      `production_t,Zou,${'x'.repeat(30_000_000)},maize,2023-2024,5,t,ok`,
    ];
    const file = path.join(tmp, 'survey.csv');
    fs.writeFileSync(file, `${[HEADER, ...good.slice(0, 30), ...bad, ...good.slice(30)].join('\n')}\n`);
    const result = await runIngestion(h, SURVEY, { trigger: 'event', event: { location: file } });
    assert.equal(result.status, 'success', result.reason);
    assert.equal(result.recordsAdded, 60);
    assert.equal(result.recordsRejected, 4);

    const log = (await logsOf(h, SURVEY)).at(-1);
    const rejects = log?.rejects as Array<{ row: number; reason: string }>;
    assert.deepEqual(
      rejects.map((r) => r.row),
      [31, 32, 33, 34],
      'each bad row by its number',
    );
    assert.match(rejects[0]!.reason, /NUL byte/);
    assert.match(rejects[1]!.reason, /1e999999999.*out of range/);
    assert.match(rejects[2]!.reason, /1e200000.*out of range/);
    assert.match(rejects[3]!.reason, /the series key is \d{8} characters long \(at most 2048\)/);
    assert.ok(
      rejects.every((r) => r.reason.length <= 300),
      'reasons stay short (no 30 MB cell in the log)',
    );
    const stored = await observationsAsOf(h.db.pool, await h.versionId(SURVEY));
    assert.equal(stored.length, 60);
    assert.equal(stored.find((r) => r.seriesKey === 'production_t|C7|maize')?.value, '8');
  });
});

describe('bodies no parser can read', () => {
  test('an ILOSTAT CSV that breaks csv-parse is one InvalidPayload, not retried', async () => {
    const ilo = createIlostatFixture();
    h.mount('ilostat', (req) =>
      req.path.startsWith('/data/indicator')
        ? textResponse('ref_area,source,indicator,time,obs_value\nBEN,"unclosed,UNE,2024,1.5\n', 200, 'text/csv')
        : ilo.handler(req),
    );
    const { err, workflowId } = await failedRun('ilostat');
    assert.equal((err.cause as { type?: string }).type, FailureType.InvalidPayload);
    assert.match(String(err.cause?.message), /failed during fetch: .*not a well-formed CSV.*Quote Not Closed/);
    const attempts = await attemptsOf(workflowId);
    assert.equal(attempts.stageSnapshot, 1, 'a broken body is not fetched five times');
    assert.equal((await logsOf(h, 'ilostat')).at(-1)?.errorClass, FailureType.InvalidPayload);
  });

  test('a FAOSTAT bulk file that is not a zip is one InvalidPayload, not retried', async () => {
    const fao = createFaostatFixture();
    fao.publicUrl = `${h.fixture.url}/faostat`;
    fao.zipOverride = Buffer.from('PK\u0003\u0004 not really a zip');
    h.mount('faostat', fao.handler);
    // The catalog's bulk catalogue URL is the real host's; a relative one is read under the fixture.
    await h.db.prisma.dataSource.update({
      where: { name: 'faostat' },
      data: { params: { ...FaostatParamsSchema.parse({}), bulkCatalogUrl: CATALOGUE_PATH.slice(1) } },
    });
    const { err, workflowId } = await failedRun('faostat');
    assert.equal((err.cause as { type?: string }).type, FailureType.InvalidPayload, err.cause?.message);
    assert.match(String(err.cause?.message), /failed during fetch: /);
    const attempts = await attemptsOf(workflowId);
    assert.equal(attempts.stageSnapshot, 1, 'a broken archive is not downloaded five times');
  });
});
