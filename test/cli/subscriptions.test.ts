// `tedi subscribe | subscriptions | unsubscribe | deliveries | redeliver` against a real PostgreSQL, run as
// an operator runs them (child processes): the secret is printed once and stored only encrypted; bad
// arguments name the option; deliveries show their attempt log; a failed delivery can be queued again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { deliveryActivities } from '../../activities/feed/delivery';
import { type Database, openDatabase } from '../../lib/db';
import { decryptSecret } from '../../lib/secrets';
import { webhookDeliveryId } from '../../workflows/ids';
import { runTedi, tediOk } from '../helpers/cli';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { TEST_SECRET_KEY } from '../helpers/harness';
import { catalogVersion, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cli-subs-'));
let database: TestDatabase;
let db: Database;
const env = () => ({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn', TEDI_SECRET_KEY: TEST_SECRET_KEY });

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  await catalogVersion(db, 'subs_alpha');
});

after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('subscribe prints the secret once; it is stored encrypted and never listed', async () => {
  const run = await tediOk(['subscribe', 'https://example.org/hook', '--source', 'subs_alpha', '--name', 'dash'], {
    env: env(),
  });
  const secret = /secret:\s+(whsec_\S+)/.exec(run.stdout)?.[1];
  assert.ok(secret, run.stdout);
  assert.match(run.stdout, /sources:\s+subs_alpha/);
  assert.match(run.stderr, /shown only now/);
  const stored = await db.pool.query('SELECT secret_encrypted FROM webhook_subscriptions WHERE name = $1', ['dash']);
  assert.ok(!stored.rows[0].secret_encrypted.includes(secret));
  assert.equal(decryptSecret(stored.rows[0].secret_encrypted, TEST_SECRET_KEY), secret);

  const list = await tediOk(['subscriptions'], { env: env() });
  assert.match(list.stdout, /dash\s+https:\/\/example\.org\/hook\s+subs_alpha\s+yes/);
  const listJson = await tediOk(['subscriptions', '--json'], { env: env() });
  assert.ok(!listJson.stdout.includes(secret) && !list.stdout.includes(secret), 'the secret is never listed');
});

test('bad arguments name the option and change nothing', async () => {
  for (const [args, message] of [
    [['subscribe', 'not-a-url'], /^error: <url>: must be an absolute http\(s\) URL/m],
    [['subscribe', 'https://example.org/x', '--source', 'nope'], /^error: --source: unknown source nope/m],
    [['subscribe', 'https://example.org/x', '--name', 'dash'], /^error: --name: a subscription named "dash" exists/m],
    [['unsubscribe', 'ghost'], /^error: <subscription>: no subscription ghost/m],
    [['deliveries', '--status', 'lost'], /--status: must be pending, delivered or failed/],
    [['redeliver', 'x1'], /^error: <delivery>: must be a delivery id/m],
  ] as const) {
    const run = await runTedi([...args], { env: env() });
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
  }
  const count = await db.pool.query('SELECT count(*)::int AS n FROM webhook_subscriptions');
  assert.equal(count.rows[0].n, 1);
});

test('deliveries shows each attempt; redeliver queues a failed one again; unsubscribe keeps the log', async () => {
  const v = (await db.pool.query("SELECT id FROM dataset_versions WHERE version = 'current' LIMIT 1")).rows[0].id;
  await loadRevision(
    db,
    tmp,
    v,
    'subs-1',
    [{ seriesKey: 'A', period: '2000', value: '1', unit: null, attributes: null }],
    new Date(),
  );
  // A delivery that gave up, as the delivery workflow leaves it (test/workflows/webhook-delivery.test.ts makes real ones).
  const delivery = await db.pool.query(
    `INSERT INTO webhook_deliveries (subscription_id, event_id, status, attempts, started_at, last_http_status, last_error)
     SELECT s.id, e.id, 'failed', 1, now(), 500, 'answered 500: down' FROM webhook_subscriptions s, change_events e
      WHERE s.name = 'dash' RETURNING id::text`,
  );
  const id = delivery.rows[0].id;
  await db.pool.query(
    `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, http_status, outcome, error)
     VALUES ($1, 1, now(), 12, 500, 'gave_up', 'answered 500: down')`,
    [id],
  );
  const shown = await tediOk(['deliveries', '--subscription', 'dash'], { env: env() });
  assert.match(shown.stdout, new RegExp(`${id}\\s+dash\\s+subs_alpha r1\\s+failed\\s+1\\s+\\S+\\s+answered 500: down`));
  const asJson = JSON.parse((await tediOk(['deliveries', '--json'], { env: env() })).stdout);
  assert.deepEqual(
    asJson[0].log.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus]),
    [['gave_up', 500]],
  );

  const again = await tediOk(['redeliver', id], { env: env() });
  assert.match(again.stdout, /queued again/);
  const row = await db.pool.query(
    'SELECT status, started_at, attempts, redeliveries FROM webhook_deliveries WHERE id = $1',
    [id],
  );
  assert.deepEqual(row.rows[0], { status: 'pending', started_at: null, attempts: 0, redeliveries: 1 });
  // The redelivery is a run of its own (a new workflow id), and the old run ending late cannot mark it failed.
  const names = { subscription: 'dash', source: 'subs_alpha', revision: 1, deliveryId: id };
  assert.equal(webhookDeliveryId(names), `webhook-dash-subs_alpha-r1-d${id}`);
  assert.equal(webhookDeliveryId({ ...names, redeliveries: 1 }), `webhook-dash-subs_alpha-r1-d${id}-redelivery1`);
  const { finishFailedDelivery } = deliveryActivities({ db, secretKey: TEST_SECRET_KEY });
  await finishFailedDelivery({ deliveryId: id, reason: 'the first run ends late', generation: 0 });
  const still = await db.pool.query('SELECT status FROM webhook_deliveries WHERE id = $1', [id]);
  assert.equal(still.rows[0].status, 'pending');
  const twice = await runTedi(['redeliver', id], { env: env() });
  assert.equal(twice.code, 2, 'a delivery that is not failed cannot be redelivered');
  assert.match(twice.stderr, /no failed delivery/);

  const stopped = await tediOk(['unsubscribe', 'dash'], { env: env() });
  assert.match(stopped.stdout, /subscription dash stopped/);
  assert.match(stopped.stdout, /active:\s+no \(removed with tedi unsubscribe/);
  const kept = await db.pool.query('SELECT count(*)::int AS n FROM webhook_attempts');
  assert.equal(kept.rows[0].n, 1, 'the delivery log stays');
});
