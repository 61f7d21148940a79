// Root causes everywhere, on the real stack (PostgreSQL, the Temporal dev server, TEDI's workers): a World
// Bank source pointed at a host under `.invalid` (RFC 2606: it never resolves, no network needed) fails
// with `host not found (ENOTFOUND …)`, and that cause reaches the log row, the run's memo (with the
// attempt count, breaker state and next check), the search attributes (error class, trigger), the
// worker's JSON log lines (the error with its cause chain, no task token), `tedi logs`, and `tedi
// trigger`'s progress (attempt n of N, the next attempt's time, the last failure) and result. Plus the
// schedules' notes and run summaries, and the static summary of a run started by hand or by the operator console.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { SerializedError } from '../../lib/log';
import { installRuntime } from '../../lib/logging';
import { ErrorClassKey, OutcomeKey, TriggerKey } from '../../lib/search-attributes';
import { ensureOperatorConsole } from '../../operations/temporal/operator-console';
import { desiredSchedules, ensureSchedule, scheduleNotes } from '../../operations/temporal/schedules';
import { rootMessage } from '../../scripts/cli/errors';
import { sourceRetry } from '../../workflows/activity-options';
import { checkNowUpdate } from '../../workflows/definitions';
import { type FailureMemo, NEXT_TICK } from '../../workflows/failure-memo';
import { CLEANUP_SCHEDULE_ID } from '../../workflows/ids';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { OPERATOR_WORKFLOW_ID } from '../../workflows/operator-console';
import { textResponse } from '../fixtures/fixture-server';
import { runTedi } from '../helpers/cli';
import { type Harness, harnessCliEnv, startHarness } from '../helpers/harness';
import { logsOf, versionOf } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

// Installed before the harness installs its own (the first install wins): every line the SDK and TEDI log
// in this process, workers included, lands here as JSON.
const logLines: string[] = [];
installRuntime({ logLevel: 'info', destination: { write: (line: string) => void logLines.push(line) } });

const UNRESOLVABLE = 'api.tedi-test.invalid';
const ROOT = path.resolve(__dirname, '../..');
let h: Harness;
let cliEnv: NodeJS.ProcessEnv;

async function pointAt(source: string, baseUrl: string): Promise<void> {
  await h.db.prisma.dataSourceConfig.updateMany({ where: { dataSource: { name: source } }, data: { baseUrl } });
}

before(async () => {
  h = await startHarness();
  await pointAt('world_bank_agriculture', `http://${UNRESOLVABLE}/v2`);
  await pointAt('world_bank_business', `http://${UNRESOLVABLE}/v2`);
  await pointAt('world_bank_employment', `${h.fixture.url}/gone/v2`);
  h.mount('gone', () => textResponse('{"message":"this API was retired on 2026-06-30"}', 404, 'application/json'));
  cliEnv = harnessCliEnv(h);
});

after(async () => {
  await h?.stop();
});

test('an unreachable host: the cause in the failure, the log row, the memo, the search attributes and the logs', async () => {
  const datasetVersionId = await h.versionId('world_bank_agriculture');
  const retry = { initialIntervalMs: 50, maximumAttempts: 2 };
  const handle = await h.env.client.workflow.start(ingestDatasetVersion, {
    taskQueue: 'agriculture',
    workflowId: `root-cause-${randomUUID()}`,
    args: [{ datasetVersionId, trigger: 'manual', retry }],
  });
  const err = await handle.result().then(
    () => assert.fail('the ingestion succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  const cause = `host not found (ENOTFOUND ${UNRESOLVABLE})`;
  assert.ok(rootMessage(err).endsWith(cause), rootMessage(err));

  const [log] = await logsOf(h, 'world_bank_agriculture');
  assert.equal(log?.status, 'failed');
  assert.equal(log?.errorClass, 'SourceUnavailable');
  assert.match(
    log?.errorMessage ?? '',
    new RegExp(
      `^probe: world_bank_agriculture GET http://${UNRESOLVABLE.replace(/\./g, '\\.')}/v2/\\S+: host not found`,
    ),
  );
  assert.ok(log?.errorMessage?.endsWith(cause));

  const described = await handle.describe();
  const memo = described.memo as unknown as FailureMemo;
  const failureKeys = ['error', 'errorClass', 'errorCode', 'errorHost', 'httpStatus', 'attempts', 'maximumAttempts'];
  const failurePart = Object.fromEntries(
    Object.entries(memo).filter(([k]) =>
      [...failureKeys, 'breakerOpen', 'consecutiveFailures', 'nextCheck'].includes(k),
    ),
  );
  const version = await versionOf(h, 'world_bank_agriculture');
  assert.deepEqual(failurePart, {
    error: log?.errorMessage,
    errorClass: 'SourceUnavailable',
    errorCode: 'ENOTFOUND',
    errorHost: UNRESOLVABLE,
    attempts: 2,
    maximumAttempts: 2,
    breakerOpen: version.breakerOpenedAt !== null,
    consecutiveFailures: version.consecutiveFailures,
    nextCheck: version.nextCheckAt?.toISOString() ?? NEXT_TICK,
  });
  assert.equal(memo.consecutiveFailures, 1);
  assert.equal(described.typedSearchAttributes.get(ErrorClassKey), 'SourceUnavailable');
  assert.equal(described.typedSearchAttributes.get(TriggerKey), 'manual');
  assert.equal(described.typedSearchAttributes.get(OutcomeKey), 'failed');
  // Searchable: visibility catches up within a second or two.
  await waitFor('the run listed by TediErrorClass', async () => {
    for await (const run of h.env.client.workflow.list({
      query: `TediErrorClass = 'SourceUnavailable' AND TediTrigger = 'manual' AND WorkflowId = '${handle.workflowId}'`,
    })) {
      return run.workflowId === handle.workflowId;
    }
    return false;
  });

  // The worker's log: each failed attempt as one JSON line with the error and its causes, never a task token.
  const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const failed = entries.filter((e) => e.msg === 'Activity failed' && e.workflowId === handle.workflowId);
  assert.equal(failed.length, 2, 'one "Activity failed" line per attempt');
  const error = failed[1]!.error as SerializedError;
  assert.equal(failed[1]!.level, 'warn');
  assert.equal(failed[1]!.attempt, 2);
  assert.equal(error.type, 'ApplicationFailure');
  assert.equal(error.failureType, 'SourceUnavailable');
  assert.ok(String(error.message).endsWith(cause));
  assert.equal(error.cause?.type, 'TypeError');
  assert.equal(error.cause?.message, 'fetch failed');
  assert.equal(error.cause?.cause?.code, 'ENOTFOUND');
  assert.match(String(error.cause?.cause?.message), new RegExp(`getaddrinfo ENOTFOUND ${UNRESOLVABLE}`));
  assert.ok(entries.length > failed.length);
  for (const line of logLines) assert.doesNotMatch(line, /taskToken/, `a task token was logged: ${line.slice(0, 200)}`);
  assert.ok(entries.every((e) => typeof e.ts === 'string' && typeof e.level === 'string' && typeof e.msg === 'string'));

  // `tedi logs`: the ERROR column ends with the cause (the request URL shortened to its host).
  const logs = await runTedi(['logs', '--source', 'world_bank_agriculture'], { env: cliEnv });
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(
    logs.stdout,
    new RegExp(
      `SourceUnavailable: probe: world_bank_agriculture GET ${UNRESOLVABLE.replace(/\./g, '\\.')}: host not found \\(ENOTFOUND`,
    ),
  );
});

test('tedi trigger: a failure that is not retried prints the status and the body', async () => {
  const run = await runTedi(['trigger', 'world_bank_employment'], { env: cliEnv });
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /failed: Ingestion of world_bank_employment\/current failed during probe: world_bank_employment GET http:\/\/127\.0\.0\.1:\d+\/gone\/v2\/\S+ answered HTTP 404: \{"message":"this API was retired on 2026-06-30"\}/,
  );
});

test('tedi trigger while a stage is retried: attempt n of N, the next attempt, the last failure', async () => {
  const policy = sourceRetry();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/tedi.ts', 'trigger', 'world_bank_business'], {
    cwd: ROOT,
    env: cliEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const retrying = new RegExp(
    `progress: probe, attempt 2 of ${policy.maximumAttempts}, next at (\\d\\d:\\d\\d:\\d\\d)Z, last failure: ` +
      `SourceUnavailable: world_bank_business GET ${UNRESOLVABLE.replace(/\./g, '\\.')}: host not found \\(ENOTFOUND`,
  );
  let seenAt = 0;
  const line = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no retry progress within 60 s:\n${stderr}`)), 60_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const m = retrying.exec(stderr);
      if (m) {
        seenAt = Date.now();
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', () => reject(new Error(`tedi trigger ended before retrying:\n${stderr}`)));
  });
  child.kill('SIGKILL');
  // The next attempt is the first backoff (10 s) after the failure, which was just before this line.
  const [hh, mm, ss] = line[1]!.split(':').map(Number) as [number, number, number];
  const next = new Date(seenAt);
  next.setUTCHours(hh, mm, ss, 0);
  const initialMs = 10_000;
  assert.equal(policy.initialInterval, initialMs);
  const ahead = next.getTime() - seenAt;
  assert.ok(ahead > -2_000 && ahead <= initialMs, `the next attempt is ${ahead} ms away`);

  const workflowId = /started (\S+)/.exec(stderr)?.[1];
  assert.ok(workflowId, stderr);
  const handle = h.env.client.workflow.getHandle(workflowId);
  const described = await handle.describe();
  assert.equal(await described.staticSummary(), 'Ingest world_bank_business/current (manual)');
  assert.equal(described.typedSearchAttributes.get(TriggerKey), 'manual');
  await handle.terminate('test done');
});

test('schedules: a note saying what each does and a summary for its runs; a paused one keeps the operator’s note', async () => {
  const settings = { masterInterval: '3650d', logRetentionDays: 90, maxChildrenInFlight: 20 };
  const cleanupOf = (s: typeof settings) => desiredSchedules(s).find((d) => d.scheduleId === CLEANUP_SCHEDULE_ID)!;
  assert.equal(await ensureSchedule(h.env.client, cleanupOf(settings)), 'created');
  const handle = h.env.client.schedule.getHandle(CLEANUP_SCHEDULE_ID);
  try {
    let d = await handle.describe();
    assert.equal(d.state.note, 'TEDI daily cleanup: deletes ingestion logs older than 90 days.');
    assert.equal(d.action.type === 'startWorkflow' && d.action.staticSummary, 'Delete old ingestion logs');

    await handle.pause('paused by ops: log table being archived');
    assert.equal(await ensureSchedule(h.env.client, cleanupOf({ ...settings, logRetentionDays: 30 })), 'updated');
    d = await handle.describe();
    assert.equal(d.state.paused, true, 'an update unpaused the schedule');
    assert.equal(d.state.note, 'paused by ops: log table being archived');

    await handle.unpause();
    await ensureSchedule(h.env.client, cleanupOf({ ...settings, logRetentionDays: 30 }));
    d = await handle.describe();
    assert.equal(d.state.note, scheduleNotes({ ...settings, logRetentionDays: 30 })[CLEANUP_SCHEDULE_ID]);
    assert.match(d.state.note ?? '', /older than 30 days/);
  } finally {
    await handle.delete();
  }
});

test('a check started from the operator console: its summary and trigger', async () => {
  await ensureOperatorConsole(h.env.client);
  const action = await h.env.client.workflow
    .getHandle(OPERATOR_WORKFLOW_ID)
    .executeUpdate(checkNowUpdate, { args: [{ source: 'world_bank_agriculture' }] });
  const child = h.env.client.workflow.getHandle(action.result);
  try {
    const described = await child.describe();
    assert.equal(await described.staticSummary(), 'Ingest world_bank_agriculture/current (manual)');
    assert.equal(described.typedSearchAttributes.get(TriggerKey), 'manual');
  } finally {
    await child.terminate('test done');
  }
});
