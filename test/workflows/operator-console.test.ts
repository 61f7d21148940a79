// The operator console workflow: the updates, signal and query operators use from the Web UI and CLI.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureOperatorConsole } from '../../operations/temporal/operator-console';
import {
  checkNowUpdate,
  operatorStatusQuery,
  requestCheckSignal,
  resetBreakerUpdate,
} from '../../workflows/definitions';
import type { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { OPERATOR_WORKFLOW_ID } from '../../workflows/operator-console';
import { type Harness, startHarness } from '../helpers/harness';
import { versionOf } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

let h: Harness;
before(async () => {
  h = await startHarness();
  await ensureOperatorConsole(h.env.client);
});
after(async () => {
  await h?.stop();
});

const console = () => h.env.client.workflow.getHandle(OPERATOR_WORKFLOW_ID);

test('ensureOperatorConsole is idempotent: one console, whatever the number of starts', async () => {
  const first = await console().describe();
  await ensureOperatorConsole(h.env.client);
  const again = await console().describe();
  assert.equal(again.runId, first.runId);
  assert.equal(again.status.name, 'RUNNING');
});

test('resetBreaker closes an open breaker and makes the version due', async () => {
  await h.db.prisma.datasetVersion.update({
    where: { id: await h.versionId('world_bank_business') },
    data: { consecutiveFailures: 5, breakerOpenedAt: new Date(), nextCheckAt: new Date(Date.now() + 86_400_000) },
  });
  const action = await console().executeUpdate(resetBreakerUpdate, { args: [{ source: 'world_bank_business' }] });
  assert.equal(action.action, 'resetBreaker');
  assert.match(action.result, /breaker closed \(was open after 5 failures\)/);
  const v = await versionOf(h, 'world_bank_business');
  assert.equal(v.breakerOpenedAt, null);
  assert.equal(v.consecutiveFailures, 0);
  assert.ok(v.nextCheckAt && v.nextCheckAt <= new Date(), 'due at once');
});

test('an update naming an unknown source is rejected with the list of sources', async () => {
  await assert.rejects(
    console().executeUpdate(resetBreakerUpdate, { args: [{ source: 'no_such_source' }] }),
    (err: Error) => {
      assert.match(
        String((err.cause as Error | undefined)?.message ?? err.message),
        /No dataset version "current" for source "no_such_source"/,
      );
      return true;
    },
  );
  await assert.rejects(console().executeUpdate(resetBreakerUpdate, { args: [{} as never] }), (err: Error) => {
    assert.match(String((err.cause as Error | undefined)?.message), /input needs "source"/);
    return true;
  });
});

test('checkNow starts an ingestion and returns its id; it runs to completion', async () => {
  const action = await console().executeUpdate(checkNowUpdate, { args: [{ source: 'world_bank_employment' }] });
  assert.match(action.result, /^ingest-world_bank_employment-current-manual-\d{8}T\d{6}Z$/);
  const result = await h.env.client.workflow.getHandle<typeof ingestDatasetVersion>(action.result).result();
  assert.equal(result.status, 'success');
  assert.equal((await versionOf(h, 'world_bank_employment')).currentRevision, 1);
});

test('a bad requestCheck signal is recorded, and the console keeps running', async () => {
  await console().signal(requestCheckSignal, { source: 'nope' });
  const status = await waitFor('the signal to be handled', async () => {
    const s = await console().query(operatorStatusQuery);
    return s.recent[0]?.source === 'nope' ? s : undefined;
  });
  assert.match(status.recent[0]!.result, /^rejected: No dataset version/);
  assert.equal(status.actionsHandled, 3);
  assert.equal((await console().describe()).status.name, 'RUNNING');
});
