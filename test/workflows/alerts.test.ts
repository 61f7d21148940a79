// Alerts end to end on the Temporal dev server and real PostgreSQL: the alert monitor workflow evaluates
// TEDI's state, and each notification is a delivery workflow that reaches a real receiver on 127.0.0.1:
// a signed JSON webhook, a Slack-compatible webhook and e-mail through a local SMTP server (smtp-server).
// A breaker that opens alerts once on every channel and once more, "resolved", when it closes; an SMTP
// server that refuses the login is recorded with its reply and never with the password; no credential
// reaches a workflow history.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { createAlertChannel, listAlertChannels } from '../../activities/alerts/channels';
import { verifyWebhookSignature } from '../../activities/feed/signature';
import { ensureAlertMonitor } from '../../operations/temporal/alerts';
import { ALERT_MONITOR_ID } from '../../workflows/ids';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { waitFor } from '../helpers/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

const SMTP_USER = 'tedi';
const SMTP_PASSWORD = 'smtp-pass-never-shown';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

let h: Harness;
let hook: WebhookReceiver;
let slack: WebhookReceiver;
let smtp: SMTPServer;
let smtpPort: number;
const mails: Mail[] = [];
let hookSecret: string;

before(async () => {
  h = await startHarness();
  hook = await startWebhookReceiver();
  slack = await startWebhookReceiver();
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD)
        return callback(null, { user: auth.username });
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => {
        raw += c.toString('utf8');
      });
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: raw.replace(/\r\n[ \t]+/g, ' '), // headers unfolded (RFC 5322 folds long ones)
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  hookSecret = (
    await createAlertChannel(h.db.pool, TEST_SECRET_KEY, {
      name: 'ops-hook',
      kind: 'webhook',
      url: hook.url,
      sources: ['world_bank_business'],
    })
  ).signingSecret as string;
  await createAlertChannel(h.db.pool, TEST_SECRET_KEY, {
    name: 'ops-slack',
    kind: 'slack',
    url: slack.url,
    sources: ['world_bank_business'],
  });
  await createAlertChannel(h.db.pool, TEST_SECRET_KEY, {
    name: 'ops-mail',
    kind: 'email',
    to: ['ops@example.org'],
    smtpUrl: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${smtpPort}`,
    sources: ['world_bank_business'],
  });
  // Only the sources this test drives may alert: the others are loaded and fresh as far as alerts go.
  await h.db.pool.query(
    "UPDATE dataset_versions SET last_success_at = now(), current_revision = 1 WHERE data_source_id IN (SELECT id FROM data_sources WHERE name <> 'world_bank_business')",
  );
  await h.db.pool.query(
    "UPDATE dataset_versions SET last_success_at = now(), current_revision = 1 WHERE data_source_id = (SELECT id FROM data_sources WHERE name = 'world_bank_business')",
  );
  await ensureAlertMonitor(h.env.client, { intervalMs: 300 });
});

after(async () => {
  await h?.env.client.workflow
    .getHandle(ALERT_MONITOR_ID)
    .terminate('test over')
    .catch(() => undefined);
  await hook?.close();
  await slack?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await h?.stop();
});

const business = () => h.versionId('world_bank_business');

test('an open breaker alerts once on each channel, and "resolved" once when it closes', async () => {
  await h.db.pool.query(
    "UPDATE dataset_versions SET breaker_opened_at = now() - interval '5 minutes', consecutive_failures = 5 WHERE id = $1",
    [await business()],
  );
  const posted = await waitFor('the webhook alert', async () => hook.received[0]);
  const alert = JSON.parse(posted.body);
  assert.equal(alert.type, 'alert.opened');
  assert.equal(alert.incident.kind, 'breaker_open');
  assert.equal(alert.incident.source, 'world_bank_business');
  assert.match(alert.text, /^\[TEDI\] breaker_open: world_bank_business\/current: circuit breaker open since /);
  assert.ok(verifyWebhookSignature(hookSecret, posted.body, posted.headers['tedi-signature'] as string), 'signed');

  const slackPost = await waitFor('the Slack alert', async () => slack.received[0]);
  assert.deepEqual(Object.keys(JSON.parse(slackPost.body)), ['text']);
  assert.equal(JSON.parse(slackPost.body).text, alert.text);

  const mail = await waitFor('the alert e-mail', async () => mails[0]);
  assert.deepEqual(mail.to, ['ops@example.org']);
  assert.equal(mail.from, 'tedi@localhost');
  assert.match(mail.raw, /Subject: \[TEDI\] breaker_open: world_bank_business\/current: circuit breaker open/);
  assert.match(mail.raw, /X-Tedi-Alert: breaker_open\.opened/);

  // Evaluated many times a second while it stays open: still one alert per channel.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual([hook.received.length, slack.received.length, mails.length], [1, 1, 1]);

  await h.db.pool.query(
    'UPDATE dataset_versions SET breaker_opened_at = NULL, consecutive_failures = 0 WHERE id = $1',
    [await business()],
  );
  const resolved = await waitFor('the resolved webhook alert', async () => hook.received[1]);
  assert.equal(JSON.parse(resolved.body).type, 'alert.resolved');
  assert.ok(JSON.parse(resolved.body).incident.resolvedAt);
  await waitFor('the resolved Slack alert', async () => slack.received[1]);
  const resolvedMail = await waitFor('the resolved e-mail', async () => mails[1]);
  assert.match(resolvedMail.raw, /Subject: \[TEDI\] resolved: breaker_open:/);
  await waitFor('all six notifications recorded as delivered', async () => {
    const rows = await h.db.pool.query("SELECT count(*)::int AS n FROM alert_notifications WHERE status = 'delivered'");
    return rows.rows[0].n === 6;
  });
});

test('an SMTP server that refuses the login: its reply is recorded, the password never', async () => {
  await createAlertChannel(h.db.pool, TEST_SECRET_KEY, {
    name: 'bad-mail',
    kind: 'email',
    to: ['ops@example.org'],
    smtpUrl: `smtp://${SMTP_USER}:wrong-${SMTP_PASSWORD}@127.0.0.1:${smtpPort}`,
    sources: ['world_bank_employment'],
  });
  await h.db.pool.query(
    "UPDATE dataset_versions SET breaker_opened_at = now(), consecutive_failures = 5 WHERE data_source_id = (SELECT id FROM data_sources WHERE name = 'world_bank_employment')",
  );
  const failed = await waitFor('the refused e-mail attempt', async () => {
    const rows = await h.db.pool.query(
      `SELECT n.last_error, n.attempts FROM alert_notifications n JOIN alert_channels c ON c.id = n.channel_id
        WHERE c.name = 'bad-mail' AND n.last_error IS NOT NULL`,
    );
    return rows.rows[0];
  });
  assert.match(failed.last_error, /^SMTP: .*Invalid username or password/);
  assert.ok(!failed.last_error.includes(SMTP_PASSWORD), 'no password in the error');
  const [bad] = (await listAlertChannels(h.db.pool)).filter((c) => c.name === 'bad-mail');
  assert.equal(bad?.lastError, failed.last_error, 'the channel list shows why it does not get through');

  // No credential in any alert workflow's history.
  for await (const run of h.env.client.workflow.list({
    query: "WorkflowType = 'deliverAlert' OR WorkflowType = 'alertMonitor'",
  })) {
    const history = JSON.stringify(await h.env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory());
    assert.ok(!history.includes(SMTP_PASSWORD), `${run.workflowId}: no SMTP password`);
    assert.ok(!history.includes(hookSecret), `${run.workflowId}: no signing secret`);
    assert.ok(!history.includes(String(new URL(slack.url).port)), `${run.workflowId}: no Slack URL`);
    if (run.workflowId.includes('bad-mail'))
      await h.env.client.workflow.getHandle(run.workflowId).terminate('test over');
  }
});
