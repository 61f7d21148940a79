// The change feed end to end on the Temporal dev server, real PostgreSQL and real receivers on 127.0.0.1:
// a real ingestion commits a revision → the outbox event → the feed dispatcher (woken by NOTIFY) → one
// delivery workflow per matching subscription → a signed POST. A subscriber learns of the revision within a
// minute (in practice about a second; the test prints it); a subscription to another source gets nothing;
// an unchanged check sends nothing; a receiver that never answers does not hold up the ingestion; events
// committed while the dispatcher was not running are delivered when it runs again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { verifyWebhookSignature } from '../../activities/feed/signature';
import { createSubscription, listDeliveries, redeliver } from '../../activities/feed/subscriptions';
import { ensureFeedDispatcher } from '../../operations/temporal/feed';
import { FEED_DISPATCHER_ID } from '../../workflows/ids';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { runIngestion } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

/** What the issue promises: a consumer learns of a new revision within a minute. */
const WITHIN_A_MINUTE_MS = 60_000;

let h: Harness;
const receivers: WebhookReceiver[] = [];

async function receiver(fallback: 200 | 'hang' = 200): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver(fallback);
  receivers.push(r);
  return r;
}

before(async () => {
  h = await startHarness();
  await ensureFeedDispatcher(h.env.client);
});

after(async () => {
  await h?.env.client.workflow
    .getHandle(FEED_DISPATCHER_ID)
    .terminate('test over')
    .catch(() => undefined);
  for (const r of receivers) await r.close();
  await h?.stop();
});

test('a committed revision reaches its subscriber, signed, within a minute; other sources’ subscribers get nothing', async () => {
  const agriculture = await receiver();
  const employment = await receiver();
  const { secret } = await createSubscription(h.db.pool, TEST_SECRET_KEY, {
    url: agriculture.url,
    name: 'agri-dashboard',
    sources: ['world_bank_agriculture'],
  });
  await createSubscription(h.db.pool, TEST_SECRET_KEY, {
    url: employment.url,
    name: 'jobs-dashboard',
    sources: ['world_bank_employment'],
  });

  const result = await runIngestion(h, 'world_bank_agriculture');
  const committedAt = Date.now();
  assert.equal(result.status, 'success');
  const post = await waitFor('the webhook POST', async () => agriculture.received[0], WITHIN_A_MINUTE_MS);
  const latency = post.at - committedAt;
  console.log(`revision ${result.revision} reached its subscriber ${latency} ms after the ingestion returned`);
  assert.ok(latency < WITHIN_A_MINUTE_MS);

  assert.ok(verifyWebhookSignature(secret, post.body, post.headers['tedi-signature'] as string));
  const event = JSON.parse(post.body);
  assert.equal(event.type, 'revision.created');
  assert.equal(event.data.source, 'world_bank_agriculture');
  assert.equal(event.data.revision, result.revision);
  assert.equal(event.data.counts.added, result.recordsAdded);
  assert.equal(event.data.checksum, result.checksum);

  // The receiver has the POST before its answer reaches the activity, which then records the delivery.
  const delivery = await waitFor('the delivery recorded as delivered', async () => {
    const [d] = await listDeliveries(h.db.pool, { subscription: 'agri-dashboard' });
    return d?.status === 'delivered' && d;
  });
  assert.deepEqual(
    delivery?.log.map((a) => [a.attempt, a.outcome, a.httpStatus]),
    [[1, 'delivered', 200]],
  );
  // The delivery is a workflow of its own, named for who gets what.
  const run = h.env.client.workflow.getHandle(
    `webhook-agri-dashboard-world_bank_agriculture-r${result.revision}-d${delivery?.id}`,
  );
  assert.equal((await run.describe()).status.name, 'COMPLETED');

  // An unchanged check makes no revision, so no event and no POST.
  const again = await runIngestion(h, 'world_bank_agriculture', { force: true });
  assert.equal(again.status, 'no_change');
  await new Promise((r) => setTimeout(r, 2_000));
  assert.equal(agriculture.received.length, 1);
  assert.equal(employment.received.length, 0, 'a subscription to another source hears nothing');
});

test('a receiver that never answers does not hold up the ingestion, nor another subscriber', async () => {
  const silent = await receiver('hang');
  const prompt = await receiver();
  await createSubscription(h.db.pool, TEST_SECRET_KEY, {
    url: silent.url,
    name: 'silent',
    sources: ['world_bank_business'],
  });
  await createSubscription(h.db.pool, TEST_SECRET_KEY, {
    url: prompt.url,
    name: 'prompt',
    sources: ['world_bank_business'],
  });

  const result = await runIngestion(h, 'world_bank_business');
  assert.equal(result.status, 'success');
  await waitFor('the prompt subscriber’s POST', async () => prompt.received[0], WITHIN_A_MINUTE_MS);
  await waitFor('the silent receiver to be holding the POST', async () => silent.open() > 0, WITHIN_A_MINUTE_MS);
  // The ingestion has returned and the other subscriber has its event while this POST is still unanswered.
  const [pending] = await listDeliveries(h.db.pool, { subscription: 'silent' });
  assert.equal(pending?.status, 'pending');
  assert.equal(pending?.attempts, 0, 'its first attempt is still waiting for an answer');
  await waitFor('the prompt subscriber’s delivery recorded', async () => {
    const [d] = await listDeliveries(h.db.pool, { subscription: 'prompt' });
    return d?.status === 'delivered';
  });
});

test('events committed while the dispatcher is not running are delivered when it runs again', async () => {
  const late = await receiver();
  await createSubscription(h.db.pool, TEST_SECRET_KEY, {
    url: late.url,
    name: 'late',
    sources: ['world_bank_employment'],
  });
  await h.env.client.workflow.getHandle(FEED_DISPATCHER_ID).terminate('test: dispatcher down');

  const result = await runIngestion(h, 'world_bank_employment');
  assert.equal(result.status, 'success');
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(late.received.length, 0, 'nothing is sent while the dispatcher is down');

  await ensureFeedDispatcher(h.env.client);
  const post = await waitFor('the POST once the dispatcher is back', async () => late.received[0], WITHIN_A_MINUTE_MS);
  assert.equal(JSON.parse(post.body).data.revision, result.revision);
});

test('a failed delivery queued again with redeliver is sent by a run of its own', async () => {
  const again = await receiver();
  await createSubscription(h.db.pool, TEST_SECRET_KEY, {
    url: again.url,
    name: 'again',
    sources: ['world_bank_agriculture'],
  });
  // A delivery of the agriculture event that gave up earlier (as a run that exhausted its attempts leaves it).
  const made = await h.db.pool.query<{ id: string; revision: number }>(
    `INSERT INTO webhook_deliveries (subscription_id, event_id, status, attempts, started_at, last_error)
     SELECT s.id, e.id, 'failed', 12, now(), 'answered 500' FROM webhook_subscriptions s, change_events e
      WHERE s.name = 'again' AND e.source_name = 'world_bank_agriculture' ORDER BY e.id LIMIT 1
     RETURNING id::text, (SELECT revision FROM change_events WHERE id = event_id)`,
  );
  const { id, revision } = made.rows[0]!;
  await redeliver(h.db.pool, id);
  const post = await waitFor('the redelivered POST', async () => again.received[0], WITHIN_A_MINUTE_MS);
  assert.equal(post.headers['tedi-delivery-id'], id);
  const run = h.env.client.workflow.getHandle(`webhook-again-world_bank_agriculture-r${revision}-d${id}-redelivery1`);
  assert.equal((await run.result()).status, 'delivered');
  const [delivery] = await listDeliveries(h.db.pool, { subscription: 'again' });
  assert.equal(delivery?.status, 'delivered');
});
