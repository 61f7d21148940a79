// One webhook delivery (workflows/feed/deliver-webhook.ts) on the Java time-skipping server, so the
// hours of its retry policy pass in seconds, against a real receiver on 127.0.0.1 and real PostgreSQL.
// Pins lib/webhook-policy.ts: 12 attempts, 10 s after the first failure, doubling, capped at 1 h (the gaps
// between the attempts' scheduled times, as the server recorded them); then the delivery is failed with
// the receiver's answer as the reason. Also: a dropped connection, a 500 and a receiver that does not
// answer within 10 s are each retried and logged in words, then a 2xx delivers; 410 Gone stops at once
// and disables the subscription; the body is signed with the subscription's secret; no secret in history.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { verifyWebhookSignature } from '../../activities/feed/signature';
import { createSubscription } from '../../activities/feed/subscriptions';
import { WEBHOOK_TIMEOUT_MS } from '../../lib/webhook-policy';
import { deliverWebhook } from '../../workflows/feed/deliver-webhook';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { loadRevision } from '../helpers/store';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-webhook-'));
let h: Harness;
let receiver: WebhookReceiver;
let revision = 0;

before(async () => {
  h = await startHarness({ timeSkipping: true });
  receiver = await startWebhookReceiver(200, () => h.env.currentTimeMs());
});

after(async () => {
  await receiver?.close();
  await h?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A subscription, a new revision (so an event), and the delivery of that event to that subscription. */
async function deliveryFor(name: string) {
  const { subscription, secret } = await createSubscription(h.db.pool, TEST_SECRET_KEY, { url: receiver.url, name });
  const v = await h.versionId('world_bank_agriculture');
  revision++;
  await loadRevision(
    h.db,
    tmp,
    v,
    `webhook-${name}`,
    [{ seriesKey: 'AG|BJ', period: '2000', value: String(revision), unit: null, attributes: null }],
    new Date(),
  );
  const made = await h.db.pool.query<{ id: string }>(
    `INSERT INTO webhook_deliveries (subscription_id, event_id)
     SELECT $1, max(id) FROM change_events RETURNING id::text`,
    [subscription.id],
  );
  return { deliveryId: made.rows[0]!.id, secret, subscriptionId: subscription.id };
}

async function attemptsOf(deliveryId: string) {
  const rows = await h.db.pool.query(
    'SELECT attempt, started_at, http_status, outcome, error FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id',
    [deliveryId],
  );
  return rows.rows as {
    attempt: number;
    started_at: Date;
    http_status: number | null;
    outcome: string;
    error: string;
  }[];
}

const deliveryRow = async (id: string) =>
  (await h.db.pool.query('SELECT status, attempts, last_error FROM webhook_deliveries WHERE id = $1', [id])).rows[0];

test('a receiver that always answers 500: 12 attempts, 10 s doubling to 1 h apart, then failed with its answer', async () => {
  receiver.script([], 500);
  const { deliveryId } = await deliveryFor('always-500');
  const seen = receiver.received.length;
  const run = h.env.client.workflow.execute(deliverWebhook, {
    taskQueue: 'scheduler',
    workflowId: `test-webhook-500-${deliveryId}`,
    args: [{ deliveryId }],
  });
  const err = await run.then(
    () => assert.fail('a delivery to a receiver that always fails must fail'),
    (e) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  assert.match(
    String(err.cause?.message),
    /http:\/\/127\.0\.0\.1:\d+\/hook answered 500: receiver says 500 \(attempt 12 of 12\)/,
  );

  const attempts = await attemptsOf(deliveryId);
  assert.deepEqual(
    attempts.map((a) => a.attempt),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  assert.deepEqual(
    attempts.map((a) => a.outcome),
    [...Array(11).fill('retry'), 'gave_up'],
  );
  // The policy, as the server applied it (the receiver stamps each POST with the test server's clock):
  // 10 s, doubling, at most 1 h between attempts; the upper bound allows for the attempt's own real time.
  const posts = receiver.received.slice(seen).map((p) => p.at);
  const gapsS = posts.slice(1).map((t, i) => (t - posts[i]!) / 1000);
  const expected = [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600];
  assert.equal(gapsS.length, expected.length, `gaps ${gapsS.join(', ')} s`);
  gapsS.forEach((gap, i) => {
    const ok = gap >= expected[i]! && gap <= expected[i]! + 2;
    assert.ok(ok, `gap before attempt ${i + 2}: ${gap} s, policy says ${expected[i]} s (all: ${gapsS.join(', ')})`);
  });
  const delivery = await deliveryRow(deliveryId);
  assert.equal(delivery.status, 'failed');
  assert.equal(delivery.attempts, 12);
  assert.match(delivery.last_error, /answered 500/);
});

test('a dropped connection, a 500 and a silent receiver are retried and logged in words; then a 200 delivers, signed', async () => {
  const { deliveryId, secret } = await deliveryFor('flaky');
  receiver.script(['drop', 500, 'hang', 200], 200);
  const seen = receiver.received.length;
  const result = await h.env.client.workflow.execute(deliverWebhook, {
    taskQueue: 'scheduler',
    workflowId: `test-webhook-flaky-${deliveryId}`,
    args: [{ deliveryId }],
  });
  assert.equal(result.status, 'delivered');
  assert.equal(result.attempts, 4);
  assert.equal(result.httpStatus, 200);
  const attempts = await attemptsOf(deliveryId);
  assert.deepEqual(
    attempts.map((a) => [a.outcome, a.http_status]),
    [
      ['retry', null],
      ['retry', 500],
      ['retry', null],
      ['delivered', 200],
    ],
  );
  assert.equal(attempts[0]!.error, 'closed the connection before answering');
  assert.equal(attempts[1]!.error, 'answered 500: receiver says 500');
  // README: a receiver must answer within 10 s.
  assert.equal(WEBHOOK_TIMEOUT_MS, 10_000);
  assert.equal(attempts[2]!.error, 'did not answer within 10 s');
  assert.equal((await deliveryRow(deliveryId)).status, 'delivered');

  // Every attempt carried the same body, each signed with the subscription's secret.
  const posts = receiver.received.slice(seen);
  assert.equal(posts.length, 4);
  assert.equal(new Set(posts.map((p) => p.body)).size, 1);
  for (const post of posts) {
    assert.ok(
      verifyWebhookSignature(secret, post.body, post.headers['tedi-signature'] as string),
      'signature verifies',
    );
    assert.equal(post.headers['tedi-delivery-id'], deliveryId);
  }
  assert.deepEqual(
    posts.map((p) => p.headers['tedi-delivery-attempt']),
    ['1', '2', '3', '4'],
  );
  const event = JSON.parse(posts[0]!.body);
  assert.equal(event.type, 'revision.created');
  assert.equal(event.data.source, 'world_bank_agriculture');
  assert.equal(posts[0]!.headers['tedi-event-id'], event.id);

  // The workflow's history holds the delivery id, never the secret, the body or the URL.
  const history = JSON.stringify(
    await h.env.client.workflow.getHandle(`test-webhook-flaky-${deliveryId}`).fetchHistory(),
  );
  assert.ok(!history.includes(secret), 'no secret in history');
  assert.ok(!history.includes(String(new URL(receiver.url).port)), 'no receiver URL in history');
});

test('410 Gone: one attempt, the delivery fails and the subscription is disabled with the reason', async () => {
  const { deliveryId, subscriptionId } = await deliveryFor('gone');
  receiver.script([410], 200);
  const err = await h.env.client.workflow
    .execute(deliverWebhook, {
      taskQueue: 'scheduler',
      workflowId: `test-webhook-gone-${deliveryId}`,
      args: [{ deliveryId }],
    })
    .then(
      () => assert.fail('410 must end the delivery'),
      (e) => e,
    );
  assert.match(String(err.cause?.message), /answered 410 Gone: the subscription is disabled/);
  assert.deepEqual(
    (await attemptsOf(deliveryId)).map((a) => a.outcome),
    ['gave_up'],
  );
  const sub = await h.db.pool.query('SELECT active, disabled_reason FROM webhook_subscriptions WHERE id = $1', [
    subscriptionId,
  ]);
  assert.equal(sub.rows[0].active, false);
  assert.match(sub.rows[0].disabled_reason, /answered 410 Gone at /);
  assert.equal((await deliveryRow(deliveryId)).status, 'failed');
});
