// The tedi CLI as operators run it: a child process (`node --import tsx scripts/tedi.ts ...`) against the
// real application (migrations, catalog, schedules, workers on all five queues) on PostgreSQL and a Temporal
// dev server started here. The World Bank sources read a loopback fixture; every other source is
// deactivated and pointed at the fixture too, so nothing can reach a real host.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../lib/infra/postgres';
import { installRuntime } from '../../lib/logging';
import { decryptSecret } from '../../lib/secrets';
import { parseIsoTime, sinceTime } from '../../scripts/cli/args';
import { describeProgress, progressBar } from '../../scripts/cli/ingestion';
import type { Application } from '../../workers/application';
import { operatorStatusQuery } from '../../workflows/definitions';
import { CLEANUP_SCHEDULE_ID, MASTER_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID } from '../../workflows/ids';
import { OPERATOR_WORKFLOW_ID } from '../../workflows/operator-console';
import type { FixtureHandler } from '../fixtures/fixture-server';
import { createWorldBankFixture } from '../fixtures/world-bank';
import { catalogWorldBankData } from '../fixtures/world-bank-catalog';
import { type RunningApplication, startTestApplication } from '../helpers/application';
import { type CliRun, runTedi, tediOk } from '../helpers/cli';
import { waitFor } from '../helpers/wait';

installRuntime({ logLevel: process.env.LOG_LEVEL ?? 'warn' });

const ROOT = path.resolve(__dirname, '../..');
const SECRET_KEY = 'c'.repeat(64);
const API_KEY = 'cli-test-api-key-7f3a9c';
const MASTER_INTERVAL = '3650d';

let running: RunningApplication;
let app: Application;
let childEnv: NodeJS.ProcessEnv;
/** How many of the next fixture requests answer slowly, so a poll can see an ingestion between stages. */
let fixtureSlowRequests = 0;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cli-test-'));
/** Everything any CLI run printed: the API key must be in none of it. */
const printed: string[] = [];

before(async () => {
  const worldBank = createWorldBankFixture(catalogWorldBankData()).handler;
  const slowed: FixtureHandler = async (req) => {
    if (fixtureSlowRequests > 0) {
      fixtureSlowRequests--;
      await new Promise((r) => setTimeout(r, 700));
    }
    return worldBank(req);
  };
  running = await startTestApplication({
    handler: slowed,
    env: {
      TEDI_SECRET_KEY: SECRET_KEY,
      TEDI_DATA_DIR: dataDir,
      // A master tick must not fire in the middle of the test: every ten years, aligned on the epoch.
      TEDI_MASTER_INTERVAL: MASTER_INTERVAL,
      // Nor at start-up: these tests count every run themselves.
      TEDI_MASTER_FIRST_RUN: 'next-interval',
    },
  });
  app = running.app;
  childEnv = { ...process.env, ...running.env, LOG_LEVEL: 'warn' };
});

after(async () => {
  await running?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

type Run = CliRun;
type TediOptions = { input?: string; env?: NodeJS.ProcessEnv };
const cliOptions = (opts: TediOptions = {}) => ({
  env: { ...childEnv, ...opts.env },
  input: opts.input,
  timeoutMs: 60_000,
  onOutput: (run: Run) => printed.push(run.stdout, run.stderr),
});
/** Runs the CLI; asynchronous, so this process's workers keep serving the ingestions it starts. */
const tedi = (args: string[], opts?: TediOptions): Promise<Run> => runTedi(args, cliOptions(opts));
const ok = (args: string[], opts?: TediOptions): Promise<Run> => tediOk(args, cliOptions(opts));

async function json<T = unknown>(args: string[]): Promise<T> {
  return JSON.parse((await ok([...args, '--json'])).stdout) as T;
}

/** Runs at most `width` CLI processes at a time: the machine has two cores. */
async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>, width = 3): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

describe('argument parsing (no servers)', () => {
  test('ISO dates and times are UTC unless they carry an offset; impossible dates are refused', () => {
    assert.equal(parseIsoTime('2026-01-31')?.toISOString(), '2026-01-31T00:00:00.000Z');
    assert.equal(parseIsoTime('2026-01-31T06:00')?.toISOString(), '2026-01-31T06:00:00.000Z');
    assert.equal(parseIsoTime('2026-01-31T06:00:00+02:00')?.toISOString(), '2026-01-31T04:00:00.000Z');
    for (const bad of ['2026-02-30', '2026-13-01', '2026-01-31T25:00', 'yesterday', '31/01/2026']) {
      assert.equal(parseIsoTime(bad), null, bad);
    }
  });
  test('--since takes a date or an age', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    assert.equal(sinceTime(now).parse('7d').toISOString(), '2026-03-03T12:00:00.000Z');
    assert.equal(sinceTime(now).parse('30m').toISOString(), '2026-03-10T11:30:00.000Z');
    assert.equal(sinceTime(now).parse('2026-01-01').toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(sinceTime(now).safeParse('soon').success, false);
  });
});

describe('progress display', () => {
  test('a bar and a line per stage', () => {
    const p = {
      source: 'x',
      version: 'current',
      stage: 'load' as const,
      outcome: 'running',
      recordsFetched: 1200,
      rowsTransformed: null,
      revision: null,
    };
    assert.equal(describeProgress(p), 'load, 1,200 records fetched');
    assert.equal(progressBar(p, 10), '[######....] 3/5 load, 1,200 records fetched');
    assert.match(
      progressBar({ ...p, stage: 'done', outcome: 'success', revision: 2 }, 6),
      /^\[######\] 5\/5 done, .*revision 2, success$/,
    );
  });
});

test('--help on every command and group exits 0 with its usage', async () => {
  const commands = [
    [],
    ['sources'],
    ['versions'],
    ['logs'],
    ['data'],
    ['series'],
    ['trigger'],
    ['import'],
    ['reset'],
    ['set-key'],
    ['schedules'],
  ];
  await inParallel(commands, async (command) => {
    const run = await ok([...command, '--help']);
    assert.match(run.stdout, new RegExp(`Usage: tedi ${command.join(' ')}`), command.join(' '));
  });
});

test('bad input exits 2 with a message naming the argument', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['logs', '--limit', 'many', '--status', 'broken', '--since', 'yesterday'],
      // Every bad argument at once, each under its own name.
      /--status: must be one of success, no_change, failed, skipped, running\n--since: "yesterday" is neither a date .*\n--limit: must be a whole number from 1 to 10000, e.g. 50/,
    ],
    [['logs', '--verison'], /unknown option '--verison'/],
    [['trigger', 'no_such_source'], /<source>: no source named "no_such_source". Sources: .*world_bank_agriculture/],
    [
      ['data', 'world_bank_agriculture', '--version', '2019'],
      /--version: source "world_bank_agriculture" has no version "2019"/,
    ],
    [['import', 'cadastre', 'no/such/file.csv'], /<file-or-url>: no such file: .*no\/such\/file\.csv/],
    [['schedules', 'backfill', '--from', '2026-02-01', '--to', '2026-01-01'], /--from: must be before --to/],
    [['schedules', 'pause', '--schedule', 'nope'], /--schedule: no schedule "nope"\. Schedules: .*tedi-master/],
    [['sources'], /Usage: tedi sources/],
  ];
  await inParallel(cases, async ([args, message]) => {
    const run = await tedi(args);
    assert.equal(run.code, 2, `tedi ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stdout, '', 'nothing on stdout when nothing ran');
  });
});

test('an unreachable server is explained and exits 1', async () => {
  const closed = `127.0.0.1:${await freePort()}`;
  const run = await tedi(['trigger', 'world_bank_agriculture'], { env: { TEMPORAL_ADDRESS: closed } });
  assert.equal(run.code, 1);
  assert.match(run.stderr, new RegExp(`Cannot reach Temporal at ${closed}: start TEDI with \`npm start\``));
});

test('sources list --json: the catalog, World Bank active, the rest deactivated', async () => {
  const sources = await json<
    { name: string; active: boolean; implemented: boolean; connector: string; auth: string | null }[]
  >(['sources', 'list']);
  const agriculture = sources.find((s) => s.name === 'world_bank_agriculture');
  assert.deepEqual(agriculture, {
    name: 'world_bank_agriculture',
    vertical: 'agriculture',
    frequency: 'annual',
    active: true,
    connector: 'world-bank',
    implemented: true,
    auth: 'none',
    apiKey: 'not set',
  });
  assert.deepEqual(
    sources.filter((s) => s.auth !== 'none').map((s) => [s.name, s.auth]),
    [
      ['faostat', 'bearer'],
      ['un_comtrade', 'api_key'],
    ],
  );
  assert.ok(sources.length > 10);
  assert.deepEqual(
    sources.filter((s) => s.active).map((s) => s.connector),
    ['world-bank', 'world-bank', 'world-bank'],
  );
  const table = (await ok(['sources', 'list'])).stdout;
  assert.match(table, /^NAME\s+VERTICAL\s+FREQUENCY\s+ACTIVE\s+CONNECTOR\s+IMPLEMENTED\s+AUTH$/m);
  assert.match(table, /^un_comtrade\s+business\s+quarterly\s+no\s+un_comtrade\s+yes\s+api_key$/m);
});

test('sources show: how the source authenticates, its stored note, its datasets by title, its host budget', async () => {
  const comtrade = (await ok(['sources', 'show', 'un_comtrade'])).stdout;
  assert.match(comtrade, /^ {2}auth: +api_key in header Ocp-Apim-Subscription-Key$/m);
  assert.match(comtrade, /^ {2}API key: +not set$/m);
  assert.match(comtrade, /^datasets\n {2}un_comtrade: UN Comtrade trade data$/m);
  assert.match(comtrade, /^ {2}host budget: +none for \S+: held to the rate limit above$/m);
  const faostat = await json<{ config: Record<string, unknown>; datasets: unknown[] }>(['sources', 'show', 'faostat']);
  assert.equal(faostat.config.auth, 'bearer, token from a login at auth/login');
  assert.deepEqual(
    [faostat.config.authType, faostat.config.bearerLoginUrl, faostat.config.apiKeyParam],
    ['bearer', 'auth/login', null],
  );
  assert.deepEqual(faostat.datasets, [{ slug: 'faostat', title: 'FAOSTAT crops and livestock production (QCL)' }]);
  // data_sources.note, as the catalog wrote it.
  const { note } = await app.db.prisma.dataSource.findUniqueOrThrow({ where: { name: 'unido' } });
  const unido = await json<{ note: string | null }>(['sources', 'show', 'unido']);
  assert.ok(note && unido.note === note);
});

test('trigger waits with progress, reports success; versions list then shows the revision, fresh', async () => {
  // Slow answers for the first requests only: long enough for a poll to see the probe and fetch stages.
  fixtureSlowRequests = 3;
  const run = await ok(['trigger', 'world_bank_agriculture']);
  assert.match(run.stderr, /^started ingest-world_bank_agriculture-current-manual-\d{8}T\d{6}Z$/m);
  assert.match(run.stderr, /^progress: (probe|fetch)/m);
  assert.match(run.stdout, /ingest-world_bank_agriculture-current-manual-\S+: success: revision 1; [\d,]+ added/);

  type Version = {
    source: string;
    currentRevision: number;
    lastResult: { status: string } | null;
    freshness: { state: string; dueBy: string };
    breaker: { state: string };
    nextCheckAt: string | null;
  };
  type Data = { revision: number; total: number; observations: { seriesKey: string }[] };
  const [all, overdue, table, data, beyond] = await Promise.all([
    json<Version[]>(['versions', 'list']),
    json(['versions', 'list', '--overdue']),
    ok(['versions', 'list', '--source', 'world_bank_agriculture']),
    json<Data>(['data', 'world_bank_agriculture', '--limit', '5']),
    tedi(['data', 'world_bank_agriculture', '--revision', '2']),
  ]);
  const version = all.find((v) => v.source === 'world_bank_agriculture');
  assert.equal(version?.currentRevision, 1);
  assert.equal(version?.lastResult?.status, 'success');
  assert.equal(version?.freshness.state, 'fresh');
  assert.equal(version?.breaker.state, 'closed');
  // The World Bank's probe is cheap (lastupdated), so it is checked again at the very next master run:
  // its next check is due at once rather than a cadence away (lib/scheduling/probe-interval.ts).
  assert.ok(version?.nextCheckAt && new Date(version.nextCheckAt) <= new Date(), String(version?.nextCheckAt));
  assert.deepEqual(
    all.filter((v) => v.freshness.state === 'never_checked').map((v) => v.source),
    ['world_bank_business', 'world_bank_employment'],
  );
  assert.deepEqual(overdue, []);
  assert.match(
    table.stdout,
    /world_bank_agriculture\/current\s+1\s+annual\s+every master run \(cheap probe\)\s+success /,
  );
  assert.match(table.stdout, /fresh \(due by /);

  assert.equal(data.revision, 1);
  assert.equal(data.observations.length, 5);
  assert.ok(data.total > 5);
  assert.equal(beyond.code, 2);
  assert.match(beyond.stderr, /--revision: world_bank_agriculture\/current has revisions 1 to 1/);
  const series = data.observations[0]!.seriesKey;
  const one = await json<Data>(['data', 'world_bank_agriculture', '--series', series]);
  assert.ok(one.total > 0 && one.total < data.total);
  assert.ok(one.observations.every((o) => o.seriesKey === series));
  // The query layer's columns: attributes and the series' dimensions; a dimension filter in SQL.
  const first = data.observations[0] as { attributes?: unknown; dimensions?: Record<string, string> | null };
  assert.ok('attributes' in first);
  const [dimension, value] = Object.entries(first.dimensions ?? {})[0] ?? [];
  assert.ok(dimension && value, 'World Bank series carry their dimensions');
  const where = await json<Data>(['data', 'world_bank_agriculture', '--where', `${dimension}=${value}`]);
  assert.ok(where.total > 0 && where.total <= data.total);
  const listed = await json<{ series: { dimensions: Record<string, string> }[] }>([
    'series',
    'world_bank_agriculture',
    '--where',
    `${dimension}=${value}`,
  ]);
  assert.ok(listed.series.length > 0 && listed.series.every((s) => s.dimensions[dimension] === value));
});

test('a failed ingestion exits 1 with its failure message', async () => {
  const { prisma } = app.db;
  const source = await prisma.dataSource.findUniqueOrThrow({ where: { name: 'world_bank_business' } });
  await prisma.dataSource.update({ where: { id: source.id }, data: { params: { indicators: 'IC.BUS.NREG' } } });
  try {
    const run = await tedi(['trigger', 'world_bank_business']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /error: ingest-world_bank_business-current-manual-\S+ failed: .*invalid params/);
  } finally {
    await prisma.dataSource.update({ where: { id: source.id }, data: { params: source.params ?? {} } });
  }
});

test('logs filter by source, status and time', async () => {
  type Log = { source: string; status: string; trigger: string; errorMessage: string | null; id: number };
  const [all, agriculture, failed, recent, table] = await Promise.all([
    json<Log[]>(['logs']),
    json<Log[]>(['logs', '--source', 'world_bank_agriculture']),
    json<Log[]>(['logs', '--status', 'failed']),
    json<Log[]>(['logs', '--since', '1h', '--limit', '1']),
    ok(['logs', '--status', 'success']),
  ]);
  assert.deepEqual(
    all.map((l) => `${l.source}:${l.status}`),
    ['world_bank_business:failed', 'world_bank_agriculture:success'],
  );
  assert.deepEqual(
    agriculture.map((l) => [l.status, l.trigger]),
    [['success', 'manual']],
  );
  assert.equal(failed.length, 1);
  assert.match(String(failed[0]?.errorMessage), /invalid params/);
  assert.deepEqual(
    recent.map((l) => l.source),
    ['world_bank_business'],
  );
  assert.match(table.stdout, /^\s*ID\s+STARTED\s+SOURCE\/VERSION/);
  assert.match(table.stdout, /world_bank_agriculture\/current\s+manual\s+success/);
  assert.doesNotMatch(table.stdout, /world_bank_business/);
});

test('import: a file that would remove too many rows exits 1 naming the guard; --accept-removals loads it, recorded', async () => {
  const fixture = path.join(ROOT, 'test/fixtures/files/agriculture-survey.csv');
  const [header = '', ...rows] = fs.readFileSync(fixture, 'utf8').split('\r\n').filter(Boolean);
  const write = (name: string, kept: string[]) => {
    const file = path.join(dataDir, name);
    fs.writeFileSync(file, `${[header, ...kept].join('\r\n')}\r\n`);
    return file;
  };
  await ok(['import', 'agriculture_local_surveys', write('full.csv', rows)]);
  const half = write('half.csv', rows.slice(0, Math.floor(rows.length / 2)));
  const removed = rows.length - Math.floor(rows.length / 2);

  const refused = await tedi(['import', 'agriculture_local_surveys', half]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`would remove ${removed} of ${rows.length} current rows`));
  assert.match(refused.stderr, /--accept-removals/);

  const accepted = await ok(['import', 'agriculture_local_surveys', half, '--accept-removals']);
  assert.match(
    accepted.stdout,
    new RegExp(`success: revision 2; .*${removed} removed.*operator accepted removing ${removed}`),
  );
  const log = await app.db.prisma.ingestionLog.findFirstOrThrow({
    where: { datasetVersion: { dataSource: { name: 'agriculture_local_surveys' } } },
    orderBy: { id: 'desc' },
  });
  assert.match(log.acceptedOverride ?? '', new RegExp(`operator accepted removing ${removed} of ${rows.length}`));
});

test('set-key stores only ciphertext, sources show says set, --clear removes it', async () => {
  const stored = await ok(['set-key', 'un_comtrade', '--username', 'analyst'], { input: `${API_KEY}\n` });
  assert.match(stored.stdout, /un_comtrade: API key stored, encrypted with TEDI_SECRET_KEY; user name analyst/);

  const configOf = () =>
    app.db.prisma.dataSourceConfig.findFirstOrThrow({ where: { dataSource: { name: 'un_comtrade' } } });
  const config = await configOf();
  const sealed = config.apiKeyEncrypted ?? '';
  assert.ok(sealed.startsWith('v1:'));
  assert.ok(!sealed.includes(API_KEY));
  // Compared without printing either value: a failing assertion must not put the key into the test output.
  assert.ok(decryptSecret(sealed, SECRET_KEY) === API_KEY, 'the stored key does not decrypt to the key typed in');
  assert.equal(config.username, 'analyst');

  const [shown, empty] = await Promise.all([
    ok(['sources', 'show', 'un_comtrade']),
    tedi(['set-key', 'un_comtrade'], { input: '\n' }),
  ]);
  assert.match(shown.stdout, /^ {2}API key: +set$/m);
  assert.match(shown.stdout, /^ {2}username: +analyst$/m);
  assert.ok(!shown.stdout.includes(sealed), 'the ciphertext is not shown either');
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /stdin: no API key given/);
  assert.equal((await configOf()).apiKeyEncrypted, sealed, 'a rejected input leaves the stored key alone');

  await ok(['set-key', 'un_comtrade', '--clear']);
  assert.equal((await configOf()).apiKeyEncrypted, null);
  const afterClear = await json<{ config: Record<string, unknown> }>(['sources', 'show', 'un_comtrade']);
  assert.equal(afterClear.config.apiKey, 'not set');
  assert.equal(afterClear.config.username, null);
  assert.ok(!('apiKeyEncrypted' in afterClear.config), '--json never carries the ciphertext column');
});

test('reset closes an open breaker through the operator console, which records it', async () => {
  const { prisma } = app.db;
  const version = await prisma.datasetVersion.findFirstOrThrow({
    where: { dataSource: { name: 'world_bank_employment' } },
  });
  await prisma.datasetVersion.update({
    where: { id: version.id },
    data: { breakerOpenedAt: new Date(), consecutiveFailures: 5 },
  });
  const table = await ok(['versions', 'list', '--source', 'world_bank_employment']);
  assert.match(
    table.stdout,
    /^world_bank_employment\/current .* open since \d{4}-\d{2}-\d{2} \d{2}:\d{2}Z \(5 failures\)/m,
  );

  const run = await ok(['reset', 'world_bank_employment']);
  assert.equal(
    run.stdout.trim(),
    'world_bank_employment/current: breaker closed (was open after 5 failures); due now (recorded by tedi-operator)',
  );
  const closedNow = await prisma.datasetVersion.findUniqueOrThrow({ where: { id: version.id } });
  assert.equal(closedNow.breakerOpenedAt, null);
  assert.equal(closedNow.consecutiveFailures, 0);

  const status = await app.client.workflow.getHandle(OPERATOR_WORKFLOW_ID).query(operatorStatusQuery);
  assert.equal(status.recent[0]?.action, 'resetBreaker');
  assert.equal(status.recent[0]?.source, 'world_bank_employment');
  assert.match(String(status.recent[0]?.result), /was open after 5 failures/);

  // Without Temporal the reset still happens, in the database, and says it is not recorded there.
  const unreachable = `127.0.0.1:${await freePort()}`;
  const direct = await ok(['reset', 'world_bank_employment', '--json'], { env: { TEMPORAL_ADDRESS: unreachable } });
  assert.match(direct.stderr, /Temporal is not reachable .* not recorded in tedi-operator's history/);
  assert.equal(JSON.parse(direct.stdout).via, 'database');
});

test('schedules: describe, pause, ensure keeps the pause, unpause, trigger, backfill', async () => {
  type View = {
    scheduleId: string;
    nextRunTimes: string[];
    policies: { overlap: string };
    spec: { intervals: { everyMs: number }[] };
    counts: { actionsTaken: number; missedCatchupWindow: number; skippedOverlap: number };
  };
  const views = await json<View[]>(['schedules', 'describe']);
  assert.deepEqual(
    views.map((v) => v.scheduleId),
    [MASTER_SCHEDULE_ID, CLEANUP_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID],
  );
  for (const v of views) assert.equal(v.nextRunTimes.length, 3, v.scheduleId);
  assert.equal(views[0]?.spec.intervals[0]?.everyMs, 3650 * 86_400_000);
  assert.equal(views[0]?.policies.overlap, 'SKIP');
  assert.deepEqual(views[0]?.counts, { actionsTaken: 0, missedCatchupWindow: 0, skippedOverlap: 0 });

  const state = async (id: string) => {
    const { paused, note } = (await app.client.schedule.getHandle(id).describe()).state;
    return { paused, note };
  };
  assert.match(
    (await ok(['schedules', 'pause', '--note', 'upstream maintenance'])).stdout,
    /^tedi-master: paused \(upstream maintenance\)$/m,
  );
  assert.deepEqual(await state(MASTER_SCHEDULE_ID), { paused: true, note: 'upstream maintenance' });
  await ok(['schedules', 'ensure']);
  assert.equal((await state(MASTER_SCHEDULE_ID)).paused, true, 'ensure keeps an operator pause');
  await ok(['schedules', 'unpause']);
  assert.deepEqual(await state(MASTER_SCHEDULE_ID), { paused: false, note: 'unpaused via tedi CLI' });

  await Promise.all([
    ok(['schedules', 'trigger', '--schedule', RELIABILITY_SCHEDULE_ID]),
    ok(['schedules', 'backfill', '--schedule', CLEANUP_SCHEDULE_ID, '--from', '2026-01-01', '--to', '2026-01-02']),
  ]);
  await waitFor('the triggered reliability run', async () => {
    const d = await app.client.schedule.getHandle(RELIABILITY_SCHEDULE_ID).describe();
    return d.info.numActionsTaken >= 1;
  });
  await waitFor('the backfilled cleanup run', async () => {
    const d = await app.client.schedule.getHandle(CLEANUP_SCHEDULE_ID).describe();
    return d.info.recentActions.length > 0;
  });
  const text = (await ok(['schedules', 'describe', '--schedule', CLEANUP_SCHEDULE_ID])).stdout;
  assert.match(text, /^tedi-cleanup-logs: active$/m);
  assert.match(text, /^ {2}spec: +daily at 03:15 UTC$/m);
  assert.match(text, /^ {2}next runs: +\S+ 03:15Z, \S+ 03:15Z, \S+ 03:15Z$/m);
  // At least one: the schedule's own 03:15 UTC tick may also fall within the test.
  assert.match(text, /^ {2}counts: +\d+ taken, 0 missed the catch-up window, 0 skipped \(overlap\)$/m);
  assert.match(text, /^ {4}2026-01-01 03:15Z {2}tedi-cleanup-logs-2026-01-01T03:15:00Z$/m);
});

test('the API key never appeared in any output', () => {
  assert.ok(printed.length > 0);
  for (const text of printed) assert.ok(!text.includes(API_KEY), 'an output contains the API key');
});
