// The alert evaluator (activities/alerts/evaluate.ts, conditions.ts) on a real PostgreSQL: each condition
// opens one incident and one notification per matching channel, holds without alerting again, and
// resolves once when it clears; the failure threshold on both sides (2 no, 3 yes); a refused snapshot; a
// never-loaded and an overdue version; series that appeared or vanished in a revision as one-off notices;
// channel filters by alert kind and source.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { createAlertChannel, listIncidents } from '../../activities/alerts/channels';
import { FAILURES_ALERT_THRESHOLD, LISTED_SERIES } from '../../activities/alerts/conditions';
import { evaluateAlerts } from '../../activities/alerts/evaluate';
import { type Database, openDatabase } from '../../lib/db';
import type { ObservationRow } from '../../sources/kit/types';
import { ALERT_EVALUATION_INTERVAL_MS } from '../../workflows/alerts/alert-monitor';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { TEST_SECRET_KEY } from '../helpers/harness';
import { catalogVersion, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-alerts-'));
let database: TestDatabase;
let db: Database;
let alpha: number;
let beta: number;

const row = (series: string, value: string): ObservationRow => ({
  seriesKey: series,
  period: '2000',
  value,
  unit: null,
  attributes: null,
});

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  alpha = await catalogVersion(db, 'alert_alpha');
  beta = await catalogVersion(db, 'alert_beta');
  // Loaded and fresh, so only what a test sets up raises alerts.
  for (const [v, key] of [
    [alpha, 'a1'],
    [beta, 'b1'],
  ] as const) {
    await loadRevision(db, tmp, v, key, [row('S1', '1'), row('S2', '2')], new Date());
    await db.pool.query('UPDATE dataset_versions SET last_success_at = now() WHERE id = $1', [v]);
  }
  await createAlertChannel(db.pool, TEST_SECRET_KEY, { name: 'all', kind: 'webhook', url: 'http://127.0.0.1:9/all' });
  await createAlertChannel(db.pool, TEST_SECRET_KEY, {
    name: 'beta-breakers',
    kind: 'webhook',
    url: 'http://127.0.0.1:9/beta',
    kinds: ['breaker_open'],
    sources: ['alert_beta'],
  });
});

after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  // Every test starts from no open incident: the evaluator resolves what the last test left.
  await db.pool.query(
    `UPDATE dataset_versions SET breaker_opened_at = NULL, consecutive_failures = 0, last_success_at = now()
      WHERE id = ANY($1)`,
    [[alpha, beta]],
  );
  await db.pool.query('DELETE FROM ingestion_logs');
  await evaluateAlerts(db.pool);
});

/** Notifications made so far: [channel, kind, source, transition]. */
async function notifications() {
  const rows = await db.pool.query(
    `SELECT c.name, i.kind, i.source_name, n.transition FROM alert_notifications n
       JOIN alert_channels c ON c.id = n.channel_id JOIN incidents i ON i.id = n.incident_id ORDER BY n.id`,
  );
  return rows.rows.map((r) => [r.name, r.kind, r.source_name, r.transition]);
}

async function since<T>(work: () => Promise<T>) {
  const before = (await notifications()).length;
  await work();
  return (await notifications()).slice(before);
}

test('an open breaker alerts once on open and once on close, to the channels whose filters match', async () => {
  const opened = await since(async () => {
    await db.pool.query(
      "UPDATE dataset_versions SET breaker_opened_at = now() - interval '1 hour', consecutive_failures = 5 WHERE id = $1",
      [beta],
    );
    const result = await evaluateAlerts(db.pool);
    assert.equal(result.opened, 1);
    assert.deepEqual(
      result.toSend.map((n) => [n.channel, n.kind, n.transition]),
      [
        ['all', 'breaker_open', 'opened'],
        ['beta-breakers', 'breaker_open', 'opened'],
      ],
    );
  });
  assert.deepEqual(opened, [
    ['all', 'breaker_open', 'alert_beta', 'opened'],
    ['beta-breakers', 'breaker_open', 'alert_beta', 'opened'],
  ]);
  const [incident] = await listIncidents(db.pool, { open: true });
  assert.match(
    incident?.summary ?? '',
    /^alert_beta\/current: circuit breaker open since \S+Z after 5 failed checks in a row$/,
  );

  // Still open: no second alert, however often it is evaluated.
  assert.deepEqual(await since(() => evaluateAlerts(db.pool)), []);
  assert.deepEqual(await since(() => evaluateAlerts(db.pool)), []);

  const closed = await since(async () => {
    await db.pool.query(
      'UPDATE dataset_versions SET breaker_opened_at = NULL, consecutive_failures = 0 WHERE id = $1',
      [beta],
    );
    assert.equal((await evaluateAlerts(db.pool)).resolved, 1);
  });
  assert.deepEqual(closed, [
    ['all', 'breaker_open', 'alert_beta', 'resolved'],
    ['beta-breakers', 'breaker_open', 'alert_beta', 'resolved'],
  ]);
  assert.deepEqual(await listIncidents(db.pool, { open: true }), []);
});

test(`failed checks in a row alert from ${FAILURES_ALERT_THRESHOLD} (not 2) while the breaker is closed`, async () => {
  assert.equal(FAILURES_ALERT_THRESHOLD, 3);
  await db.pool.query(
    `INSERT INTO ingestion_logs (dataset_version_id, status, started_at, finished_at, error_class, error_message, workflow_id, run_id)
     VALUES ($1, 'failed', now(), now(), 'SourceUnavailable', 'connection refused (ECONNREFUSED 127.0.0.1:9)', 'w1', 'r1')`,
    [alpha],
  );
  const two = await since(async () => {
    await db.pool.query('UPDATE dataset_versions SET consecutive_failures = 2 WHERE id = $1', [alpha]);
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(two, []);
  const three = await since(async () => {
    await db.pool.query('UPDATE dataset_versions SET consecutive_failures = 3 WHERE id = $1', [alpha]);
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(three, [['all', 'consecutive_failures', 'alert_alpha', 'opened']]);
  const [incident] = await listIncidents(db.pool, { open: true });
  assert.equal(
    incident?.summary,
    'alert_alpha/current: 3 failed checks in a row: connection refused (ECONNREFUSED 127.0.0.1:9)',
  );
  // The breaker opening replaces it by its own alert; "beta-breakers" only follows beta.
  const breaker = await since(async () => {
    await db.pool.query(
      'UPDATE dataset_versions SET consecutive_failures = 5, breaker_opened_at = now() WHERE id = $1',
      [alpha],
    );
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(breaker, [
    ['all', 'breaker_open', 'alert_alpha', 'opened'],
    ['all', 'consecutive_failures', 'alert_alpha', 'resolved'],
  ]);
});

test('a refused snapshot alerts until a check succeeds after it; a later failure of another kind does not clear it', async () => {
  const refused = await since(async () => {
    await db.pool.query(
      `INSERT INTO ingestion_logs (dataset_version_id, status, started_at, finished_at, error_class, error_message, workflow_id, run_id)
       VALUES ($1, 'failed', now() + interval '1 second', now() + interval '1 second', 'SuspiciousSnapshot',
               'would remove 40% of the current rows (limit 20%)', 'w2', 'r2')`,
      [alpha],
    );
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(refused, [['all', 'snapshot_refused', 'alert_alpha', 'opened']]);
  const [incident] = await listIncidents(db.pool, { open: true });
  assert.equal(
    incident?.summary,
    'alert_alpha/current: a snapshot was refused (SuspiciousSnapshot): would remove 40% of the current rows (limit 20%)',
  );
  // The source is down at the next check: the refused snapshot is still the last word on the data.
  const down = await since(async () => {
    await db.pool.query(
      `INSERT INTO ingestion_logs (dataset_version_id, status, started_at, finished_at, error_class, error_message, workflow_id, run_id)
       VALUES ($1, 'failed', now() + interval '2 seconds', now() + interval '2 seconds', 'SourceUnavailable', 'down', 'w3', 'r3')`,
      [alpha],
    );
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(down, []);
  const cleared = await since(async () => {
    // A successful check records its success time (activities/ingestion/audit-log.ts).
    await db.pool.query(
      `INSERT INTO ingestion_logs (dataset_version_id, status, started_at, finished_at, workflow_id, run_id)
       VALUES ($1, 'no_change', now() + interval '3 seconds', now() + interval '3 seconds', 'w4', 'r4')`,
      [alpha],
    );
    await db.pool.query("UPDATE dataset_versions SET last_success_at = now() + interval '3 seconds' WHERE id = $1", [
      alpha,
    ]);
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(cleared, [['all', 'snapshot_refused', 'alert_alpha', 'resolved']]);
});

test('overdue (no successful check within cadence + grace) and never loaded are alerts of their own', async () => {
  const gamma = await catalogVersion(db, 'alert_gamma');
  const overdue = await since(async () => {
    await db.pool.query("UPDATE dataset_versions SET last_success_at = now() - interval '400 days' WHERE id = $1", [
      alpha,
    ]);
    // Never loaded, and created long enough ago to be due (whatever the first-tick rule, it is past).
    await db.pool.query("UPDATE dataset_versions SET created_at = now() - interval '400 days' WHERE id = $1", [gamma]);
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(
    overdue.sort(),
    [
      ['all', 'never_loaded', 'alert_gamma', 'opened'],
      ['all', 'overdue', 'alert_alpha', 'opened'],
    ].sort(),
  );
  await db.pool.query("UPDATE data_sources SET is_active = false WHERE name = 'alert_gamma'");
  const resolved = await since(async () => {
    await db.pool.query('UPDATE dataset_versions SET last_success_at = now() WHERE id = $1', [alpha]);
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(
    resolved.sort(),
    [
      ['all', 'never_loaded', 'alert_gamma', 'resolved'],
      ['all', 'overdue', 'alert_alpha', 'resolved'],
    ].sort(),
  );
});

test('series that appear or vanish in a revision are one-off notices, told once', async () => {
  const notices = await since(async () => {
    await loadRevision(db, tmp, beta, 'b2', [row('S1', '1'), row('S3', '3'), row('S4', '4')], new Date());
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(notices, [
    ['all', 'series_added', 'alert_beta', 'opened'],
    ['all', 'series_vanished', 'alert_beta', 'opened'],
  ]);
  const incidents = await listIncidents(db.pool);
  const added = incidents.find((i) => i.kind === 'series_added');
  const vanished = incidents.find((i) => i.kind === 'series_vanished');
  assert.equal(added?.summary, 'alert_beta/current: 2 series appeared in revision 2: S3, S4');
  assert.equal(vanished?.summary, 'alert_beta/current: 1 series vanished in revision 2: S2');
  assert.ok(added?.resolvedAt && vanished?.resolvedAt, 'notices are resolved when told');
  assert.deepEqual(await since(() => evaluateAlerts(db.pool)), [], 'told once');
  // A revision that changes only values tells nothing.
  const values = await since(async () => {
    await loadRevision(db, tmp, beta, 'b3', [row('S1', '9'), row('S3', '3'), row('S4', '4')], new Date());
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(values, []);
  // Two revisions between evaluations: each is told, in order.
  const both = await since(async () => {
    await loadRevision(db, tmp, beta, 'b4', [row('S1', '9'), row('S3', '3')], new Date());
    await loadRevision(db, tmp, beta, 'b5', [row('S1', '9'), row('S3', '3'), row('S5', '5')], new Date());
    await evaluateAlerts(db.pool);
  });
  assert.deepEqual(both, [
    ['all', 'series_vanished', 'alert_beta', 'opened'],
    ['all', 'series_added', 'alert_beta', 'opened'],
  ]);
  const told = (await listIncidents(db.pool)).filter((i) => i.subject === 'r4' || i.subject === 'r5');
  assert.deepEqual(told.map((i) => i.summary).sort(), [
    'alert_beta/current: 1 series appeared in revision 5: S5',
    'alert_beta/current: 1 series vanished in revision 4: S4',
  ]);
});

test(`a series notice lists the first ${LISTED_SERIES} keys and counts the rest; the monitor evaluates every minute`, async () => {
  assert.equal(LISTED_SERIES, 20);
  assert.equal(ALERT_EVALUATION_INTERVAL_MS, 60_000, 'README: the alert monitor evaluates every minute');
  const many = await catalogVersion(db, 'alert_many');
  await loadRevision(db, tmp, many, 'm1', [row('K00', '0')], new Date());
  await evaluateAlerts(db.pool);
  const keys = Array.from({ length: 22 }, (_, i) => `K${String(i + 1).padStart(2, '0')}`);
  await loadRevision(db, tmp, many, 'm2', [row('K00', '0'), ...keys.map((k) => row(k, '1'))], new Date());
  await evaluateAlerts(db.pool);
  const notice = (await listIncidents(db.pool)).find((i) => i.source === 'alert_many' && i.kind === 'series_added');
  assert.equal(
    notice?.summary,
    `alert_many/current: 22 series appeared in revision 2: ${keys.slice(0, 20).join(', ')}, … (2 more)`,
  );
});
