// `tedi alerts …` against a real PostgreSQL, run as an operator runs it: credentials come from stdin and
// are never printed back (a Slack URL shows as its host); a webhook channel's signing secret is printed
// once; bad arguments name the option (exit 2) and create nothing; incidents are listed open first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { evaluateAlerts } from '../../activities/alerts/evaluate';
import { type Database, openDatabase } from '../../lib/db';
import { decryptSecret } from '../../lib/secrets';
import { runTedi, tediOk } from '../helpers/cli';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { TEST_SECRET_KEY } from '../helpers/harness';
import { catalogVersion } from '../helpers/store';

const SLACK_URL = 'https://hooks.slack.com/services/T0000/B0000/very-secret-token';
let database: TestDatabase;
let db: Database;
const env = () => ({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn', TEDI_SECRET_KEY: TEST_SECRET_KEY });

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  await catalogVersion(db, 'cli_alpha');
});

after(async () => {
  await db?.close();
  await database?.stop();
});

test('add-channel: the Slack URL from stdin, stored encrypted, shown by host only; a webhook secret once', async () => {
  const slack = await tediOk(['alerts', 'add-channel', 'ops-slack', '--kind', 'slack', '--alert', 'breaker_open'], {
    env: env(),
    input: `${SLACK_URL}\n`,
  });
  assert.match(slack.stdout, /alert channel ops-slack \(slack → hooks\.slack\.com\) created/);
  const hook = await tediOk(
    [
      'alerts',
      'add-channel',
      'ops-hook',
      '--kind',
      'webhook',
      '--url',
      'https://ops.example.org/tedi',
      '--source',
      'cli_alpha',
    ],
    { env: env() },
  );
  assert.match(hook.stdout, /signing secret: whsec_\S+/);

  const stored = await db.pool.query("SELECT target, secret_encrypted FROM alert_channels WHERE name = 'ops-slack'");
  assert.equal(stored.rows[0].target, 'hooks.slack.com');
  assert.equal(decryptSecret(stored.rows[0].secret_encrypted, TEST_SECRET_KEY), SLACK_URL);

  const channels = await tediOk(['alerts', 'channels'], { env: env() });
  const asJson = await tediOk(['alerts', 'channels', '--json'], { env: env() });
  for (const out of [slack, hook, channels, asJson]) {
    assert.ok(!`${out.stdout}${out.stderr}`.includes('very-secret-token'), 'the Slack URL is never printed');
  }
  assert.match(channels.stdout, /ops-slack\s+slack\s+hooks\.slack\.com\s+breaker_open\s+all\s+yes/);
  assert.match(channels.stdout, /ops-hook\s+webhook\s+https:\/\/ops\.example\.org\/tedi\s+all\s+cli_alpha\s+yes/);
});

test('bad arguments name the option, exit 2, and create nothing', async () => {
  for (const [args, input, message] of [
    [['alerts', 'add-channel', 'x', '--kind', 'pager'], '', /--kind: must be webhook, slack or email/],
    [['alerts', 'add-channel', 'x', '--kind', 'webhook'], '', /--url: a webhook channel needs --url/],
    [['alerts', 'add-channel', 'x', '--kind', 'webhook', '--url', 'ftp://x'], '', /--url: must be/],
    [['alerts', 'add-channel', 'x', '--kind', 'slack', '--url', SLACK_URL], '', /--url: only for webhook channels/],
    [['alerts', 'add-channel', 'x', '--kind', 'slack'], '', /stdin: no Slack webhook URL given/],
    [
      ['alerts', 'add-channel', 'x', '--kind', 'email', '--to', 'ops@example.org'],
      'http://nope\n',
      /stdin \(the SMTP URL\): must be smtp:/,
    ],
    [
      ['alerts', 'add-channel', 'x', '--kind', 'email', '--to', 'not-an-address'],
      'smtp://h:25\n',
      /--to: must be an e-mail address/,
    ],
    [
      ['alerts', 'add-channel', 'x', '--kind', 'webhook', '--url', 'https://a.example/x', '--alert', 'fire'],
      '',
      /--alert: must be one of breaker_open/,
    ],
    [
      ['alerts', 'add-channel', 'x', '--kind', 'webhook', '--url', 'https://a.example/x', '--source', 'nope'],
      '',
      /--source: unknown source nope/,
    ],
    [
      ['alerts', 'add-channel', 'ops-hook', '--kind', 'webhook', '--url', 'https://a.example/x'],
      '',
      /<name>: an alert channel named "ops-hook" exists/,
    ],
    [['alerts', 'remove-channel', 'ghost'], '', /<name>: no alert channel named "ghost"/],
  ] as const) {
    const run = await runTedi([...args], { env: env(), input });
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
    assert.ok(!run.stderr.includes('very-secret-token'));
  }
  const count = await db.pool.query('SELECT count(*)::int AS n FROM alert_channels');
  assert.equal(count.rows[0].n, 2);
});

test('alerts lists incidents, open first; remove-channel stops a channel', async () => {
  const none = await tediOk(['alerts', '--open'], { env: env() });
  assert.match(none.stdout, /No open incidents\./);
  await db.pool.query(
    "UPDATE dataset_versions SET breaker_opened_at = now(), consecutive_failures = 5 WHERE data_source_id = (SELECT id FROM data_sources WHERE name = 'cli_alpha')",
  );
  await evaluateAlerts(db.pool);
  const open = await tediOk(['alerts'], { env: env() });
  assert.match(
    open.stdout,
    /OPEN\s+breaker_open\s+cli_alpha\s+\S+Z\s+-\s+cli_alpha\/current: circuit breaker open since/,
  );
  await tediOk(['alerts', 'remove-channel', 'ops-slack'], { env: env() });
  const channels = await tediOk(['alerts', 'channels'], { env: env() });
  assert.match(channels.stdout, /ops-slack\s+slack\s+hooks\.slack\.com\s+breaker_open\s+all\s+no/);
});
