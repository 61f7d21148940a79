// The change feed's outbox (activities/feed/outbox.ts) on a real PostgreSQL, through the real merge:
// every committed revision has exactly one event, written in the revision's transaction (a rolled-back
// load leaves none; an unchanged snapshot makes none); the event says what changed; events commit in id
// order (a second outbox insert waits for the first's commit); NOTIFY arrives at commit, not before.
// Also the signature rule (activities/feed/signature.ts): HMAC of "<t>.<body>", 300 s tolerance both ways.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from 'pg';
import { CHANGE_CHANNEL, eventsAfter, latestEventId, recordRevisionCreated } from '../../activities/feed/outbox';
import {
  newWebhookSecret,
  SIGNATURE_TOLERANCE_S,
  signWebhook,
  verifyWebhookSignature,
} from '../../activities/feed/signature';
import { type Database, openDatabase } from '../../lib/db';
import type { ObservationRow } from '../../sources/kit/types';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { catalogVersion, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-outbox-'));
let database: TestDatabase;
let db: Database;

const row = (country: string, period: string, value: string): ObservationRow => ({
  seriesKey: `AG|${country}`,
  period,
  value,
  unit: 't',
  attributes: null,
  dimensions: { indicator: 'AG', country },
});

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
});

after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('each committed revision writes one event that says what changed; an unchanged load writes none', async () => {
  const v = await catalogVersion(db, 'outbox_src');
  const before = await latestEventId(db.pool);
  await loadRevision(db, tmp, v, 'o-1', [row('BEN', '2000', '1'), row('BEN', '2001', '2')], new Date());
  await loadRevision(
    db,
    tmp,
    v,
    'o-2',
    [row('BEN', '2000', '1'), row('BEN', '2001', '3'), row('TGO', '2000', '5')],
    new Date(),
  );
  const unchanged = await loadRevision(
    db,
    tmp,
    v,
    'o-3',
    [row('BEN', '2000', '1'), row('BEN', '2001', '3'), row('TGO', '2000', '5')],
    new Date(),
  );
  assert.equal(unchanged.changed, false);

  const events = await eventsAfter(db.pool, before, { sources: ['outbox_src'], limit: 10 });
  assert.deepEqual(
    events.map((e) => e.data.revision),
    [1, 2],
  );
  assert.ok(BigInt(events[1]!.id) > BigInt(events[0]!.id), 'ids grow');
  const second = events[1]!;
  assert.equal(second.type, 'revision.created');
  assert.deepEqual(second.data.counts, { records: 3, added: 1, updated: 1, removed: 0, kept: 0 });
  assert.equal(second.data.previousRevision, 1);
  assert.equal(events[0]!.data.previousRevision, null);
  assert.equal(second.data.source, 'outbox_src');
  assert.equal(second.data.version, 'current');
  assert.equal(second.data.checksum, 'sum-o-2');
  assert.deepEqual(second.data.links, {
    revision: '/v1/sources/outbox_src/revisions?version=current',
    observations: '/v1/sources/outbox_src/observations?version=current&revision=2',
    diff: '/v1/sources/outbox_src/diff?version=current&from=1&to=2',
  });
  // The SQL contract shows the same feed.
  const viaContract = await db.pool.query(
    `SELECT id::text, revision FROM tedi_read.changes WHERE source = 'outbox_src' ORDER BY id`,
  );
  assert.deepEqual(
    viaContract.rows.map((r) => [r.id, r.revision]),
    events.map((e) => [e.id, e.data.revision]),
  );
});

test('a load that rolls back leaves no event, and a listener hears of an event only when it commits', async () => {
  const v = await catalogVersion(db, 'outbox_rollback');
  await loadRevision(db, tmp, v, 'r-1', [row('BEN', '2000', '1')], new Date());
  const listener = new Client({ connectionString: database.url });
  await listener.connect();
  const heard: string[] = [];
  listener.on('notification', (n) => heard.push(n.payload ?? ''));
  await listener.query(`LISTEN ${CHANGE_CHANNEL}`);
  const client = await db.pool.connect();
  try {
    const start = await latestEventId(db.pool);
    // A revision row and its event inside a transaction that is then rolled back.
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO dataset_revisions (dataset_version_id, revision, checksum, record_count, ingest_key)
       VALUES ($1, 2, 'x', 1, 'rolled-back')`,
      [v],
    );
    const id = await recordRevisionCreated(client, v, 2);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(heard, [], 'no notification before commit');
    await client.query('ROLLBACK');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(heard, [], 'no notification for a rolled-back event');
    assert.deepEqual(await eventsAfter(db.pool, start, { limit: 10 }), []);

    await client.query('BEGIN');
    await client.query(
      `INSERT INTO dataset_revisions (dataset_version_id, revision, checksum, record_count, ingest_key)
       VALUES ($1, 2, 'y', 1, 'committed')`,
      [v],
    );
    const committed = await recordRevisionCreated(client, v, 2);
    await client.query('COMMIT');
    const deadline = Date.now() + 5_000;
    while (!heard.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(heard, [committed]);
    assert.notEqual(committed, id);
  } finally {
    client.release();
    await listener.end();
  }
});

test('events commit in id order: a second outbox insert waits until the first one commits', async () => {
  const a = await catalogVersion(db, 'outbox_order_a');
  const b = await catalogVersion(db, 'outbox_order_b');
  const first = await db.pool.connect();
  const second = await db.pool.connect();
  try {
    for (const [client, v] of [
      [first, a],
      [second, b],
    ] as const) {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO dataset_revisions (dataset_version_id, revision, checksum, record_count, ingest_key)
         VALUES ($1::int, 1, 'c', 1, 'order-' || $1::text)`,
        [v],
      );
    }
    const firstId = await recordRevisionCreated(first, a, 1);
    let secondId: string | null = null;
    const pending = recordRevisionCreated(second, b, 1).then((id) => (secondId = id));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(secondId, null, 'the second insert waits for the first transaction');
    await first.query('COMMIT');
    await pending;
    await second.query('COMMIT');
    assert.ok(BigInt(secondId ?? '0') > BigInt(firstId), `${secondId} after ${firstId}`);
  } finally {
    first.release();
    second.release();
  }
});

test('webhook signatures: HMAC-SHA256 of "<t>.<body>", refused when tampered, under another secret, or 301 s off', () => {
  const secret = newWebhookSecret();
  assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  const body = '{"id":"1"}';
  const t = 1_790_000_000;
  const header = signWebhook(secret, body, t);
  assert.match(header, /^t=1790000000,v1=[0-9a-f]{64}$/);
  assert.equal(verifyWebhookSignature(secret, body, header, t), true);
  assert.equal(verifyWebhookSignature(secret, `${body} `, header, t), false);
  assert.equal(verifyWebhookSignature(newWebhookSecret(), body, header, t), false);
  assert.equal(verifyWebhookSignature(secret, body, undefined, t), false);
  assert.equal(SIGNATURE_TOLERANCE_S, 300);
  assert.equal(verifyWebhookSignature(secret, body, header, t + 300), true);
  assert.equal(verifyWebhookSignature(secret, body, header, t - 300), true);
  assert.equal(verifyWebhookSignature(secret, body, header, t + 301), false);
  assert.equal(verifyWebhookSignature(secret, body, header, t - 301), false);
});
