// End to end: the application exactly as `npm start` wires it (migrations, catalog, search attributes,
// schedules, workers on all five queues) on the Temporal dev server, PostgreSQL and a loopback server
// speaking the World Bank API. The real `tedi-master` schedule runs once when it is created; the test checks the database.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type DevServer, temporalCliPath } from '../../lib/infra/temporal-server';
import { installRuntime } from '../../lib/logging';
import type { Application } from '../../workers/application';
import { MASTER_SCHEDULE_ID } from '../../workflows/ids';
import { createWorldBankFixture } from '../fixtures/world-bank';
import { catalogIndicatorCount, catalogWorldBankData, YEARS } from '../fixtures/world-bank-catalog';
import { type RunningApplication, startTestApplication } from '../helpers/application';
import { waitFor } from '../helpers/wait';

installRuntime({ logLevel: process.env.LOG_LEVEL ?? 'warn' });
let running: RunningApplication;
let app: Application;
let temporal: DevServer;

before(async () => {
  running = await startTestApplication({ handler: createWorldBankFixture(catalogWorldBankData()).handler });
  ({ app, temporal } = running);
});

after(async () => {
  await running?.stop();
});

test('the tedi-master schedule ingests every due World Bank source into versioned storage', async () => {
  const schedule = app.client.schedule.getHandle(MASTER_SCHEDULE_ID);
  const described = await schedule.describe();
  assert.equal(described.policies.overlap, 'SKIP');
  assert.equal(described.policies.catchupWindow, 3_600_000);
  assert.equal(described.action.type, 'startWorkflow');

  // No trigger: the schedule's first run started when `npm start` created it (triggerImmediately), not an
  // interval later. It is the only master run of this test.
  const master = await waitFor('the master run started when the schedule was created to complete', async () => {
    for await (const wf of app.client.workflow.list({
      query: `WorkflowType = 'masterScheduler' AND ExecutionStatus = 'Completed'`,
    })) {
      return wf;
    }
    return undefined;
  });
  const result = await app.client.workflow.getHandle(master.workflowId, master.runId).result();
  assert.deepEqual(result, { checked: 3, scheduled: 3, skipped: 0, errors: 0, changed: 3, unchanged: 0 });

  const perSource = (catalogIndicatorCount() / 3) * YEARS;
  for (const source of ['world_bank_agriculture', 'world_bank_employment', 'world_bank_business']) {
    const version = await app.db.prisma.datasetVersion.findFirstOrThrow({
      where: { dataSource: { name: source } },
      include: { revisions: true, logs: true },
    });
    assert.equal(version.currentRevision, 1, source);
    assert.equal(version.revisions.length, 1);
    assert.equal(version.revisions[0]?.recordCount, perSource);
    assert.equal(await app.db.prisma.observation.count({ where: { datasetVersionId: version.id } }), perSource);
    assert.equal(version.logs.length, 1);
    const [log] = version.logs;
    assert.equal(log?.status, 'success');
    assert.equal(log?.recordsAdded, perSource);
    assert.equal(log?.trigger, 'schedule');
    assert.match(String(log?.workflowId), new RegExp(`^ingest-${source}-current-\\d{8}T\\d{6}Z$`));
    assert.ok(Number(log?.bytesFetched) > 0);
  }
  // Sources without a connector are catalogued but never scheduled.
  assert.equal(await app.db.prisma.ingestionLog.count(), 3);

  const children = [];
  for await (const wf of app.client.workflow.list({ query: `TediVertical = 'employment'` })) children.push(wf);
  assert.equal(children.length, 1);
  const child = await app.client.workflow.getHandle(children[0]!.workflowId).describe();
  assert.equal(child.memo?.revision, 1);
  assert.equal(child.memo?.recordsAdded, perSource);

  if (process.env.RECORD_HISTORIES === '1') {
    // The CLI's JSON is the format `temporal workflow show --output json` gives operators, too.
    const dir = path.join(__dirname, '..', 'histories');
    fs.mkdirSync(dir, { recursive: true });
    const record = (workflowId: string, runId: string | undefined, file: string) => {
      const args = ['workflow', 'show', '--address', temporal.address, '--workflow-id', workflowId, '--output', 'json'];
      if (runId) args.push('--run-id', runId);
      fs.writeFileSync(path.join(dir, file), execFileSync(temporalCliPath(), args));
    };
    record(master.workflowId, master.runId, 'masterScheduler.json');
    record(children[0]!.workflowId, undefined, 'ingestDatasetVersion.json');
  }
});
