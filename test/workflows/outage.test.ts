// An outage from start to end, as an operator lives it, on the Temporal dev server, real PostgreSQL, the
// loopback World Bank fixture and a loopback alert receiver (issue #11's "done when"): the source goes down
// for several master ticks; after 3 failed checks an alert says so; the breaker opens (its own alert; the
// first one resolves); the master skips the version while the breaker cools down; the source comes back; the
// half-open probe after the cool-down closes the breaker; and a "resolved" alert follows. Hours pass by the
// master's `asOf`; alerts are evaluated by the real alert monitor workflow every 300 ms.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createAlertChannel } from '../../activities/alerts/channels';
import { ensureAlertMonitor } from '../../operations/temporal/alerts';
import { ensureOperatorConsole } from '../../operations/temporal/operator-console';
import { ALERT_MONITOR_ID } from '../../workflows/ids';
import { type MasterInput, masterScheduler } from '../../workflows/master-scheduler';
import { textResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { FAST_RETRY, versionOf } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

const HOUR = 3600_000;
const SOURCE = 'world_bank_business';

let h: Harness;
let receiver: WebhookReceiver;

before(async () => {
  h = await startHarness();
  // Only SOURCE takes part, so every alert is about it.
  await h.db.prisma.dataSource.updateMany({ where: { name: { not: SOURCE } }, data: { isActive: false } });
  receiver = await startWebhookReceiver();
  await createAlertChannel(h.db.pool, TEST_SECRET_KEY, { name: 'ops', kind: 'webhook', url: receiver.url });
  await ensureOperatorConsole(h.env.client);
  await ensureAlertMonitor(h.env.client, { intervalMs: 300 });
});

after(async () => {
  await h?.env.client.workflow
    .getHandle(ALERT_MONITOR_ID)
    .terminate('test over')
    .catch(() => undefined);
  await receiver?.close();
  await h?.stop();
});

function tick(asOfMs: number, extra: Partial<MasterInput> = {}) {
  return h.env.client.workflow.execute(masterScheduler, {
    taskQueue: 'scheduler',
    workflowId: `test-outage-master-${randomUUID()}`,
    args: [{ asOf: new Date(asOfMs).toISOString(), childRetry: FAST_RETRY, ...extra }],
  });
}

/** The alerts received so far, as "kind.transition". */
const alerts = () =>
  receiver.received.map((p) => {
    const a = JSON.parse(p.body);
    return `${a.incident.kind}.${a.type.replace('alert.', '')}`;
  });

test('down for several ticks: an alert, the breaker opens, the half-open probe closes it, resolved', async () => {
  // A healthy first load, so what follows is about the outage alone (not "never loaded").
  const t0 = Date.now();
  await tick(t0);
  assert.equal((await versionOf(h, SOURCE)).currentRevision, 1);

  h.setHandler(() => textResponse('maintenance', 503));
  // The World Bank's probe is cheap, so the master probes it at every tick: each tick is one failed check.
  let t = t0;
  /** The next master tick, six hours after the last. */
  const nextTick = () => {
    t += 6 * HOUR;
    return tick(t);
  };
  for (let i = 1; i <= 2; i++) await nextTick();
  assert.equal((await versionOf(h, SOURCE)).consecutiveFailures, 2);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.deepEqual(alerts(), [], 'two failures do not alert');

  await nextTick();
  await waitFor('the failures alert', async () => alerts().includes('consecutive_failures.opened'));
  const failing = JSON.parse(receiver.received[0]?.body ?? '{}');
  assert.match(failing.incident.summary, /3 failed checks in a row: .*503/);

  for (let i = 4; i <= 5; i++) await nextTick();
  const open = await versionOf(h, SOURCE);
  assert.ok(open.breakerOpenedAt, 'the breaker opened after the fifth failure');
  await waitFor('the breaker alert', async () => alerts().includes('breaker_open.opened'));
  await waitFor('the failures alert resolved', async () => alerts().includes('consecutive_failures.resolved'));

  // The source is back, but the breaker is open: the next tick within the cool-down skips the version.
  h.setHandler(null);
  await tick(open.breakerOpenedAt.getTime() + HOUR);
  assert.ok((await versionOf(h, SOURCE)).breakerOpenedAt, 'still open within the cool-down');

  // After the cool-down, the master's probe-only check finds the source up and closes the breaker.
  await tick(open.breakerOpenedAt.getTime() + 7 * HOUR);
  const closed = await versionOf(h, SOURCE);
  assert.equal(closed.breakerOpenedAt, null);
  assert.equal(closed.consecutiveFailures, 0);
  await waitFor('the breaker alert resolved', async () => alerts().includes('breaker_open.resolved'));
  // One alert per transition; the middle two come from one evaluation, so in either order.
  const told = alerts();
  assert.deepEqual([...told].sort(), [
    'breaker_open.opened',
    'breaker_open.resolved',
    'consecutive_failures.opened',
    'consecutive_failures.resolved',
  ]);
  assert.equal(told[0], 'consecutive_failures.opened');
  assert.equal(told.at(-1), 'breaker_open.resolved');
});
