// Credentials end to end, on a real Temporal dev server and PostgreSQL: a UN Comtrade source with a stored
// key, played by a loopback server that echoes the key back in every encoding, raw, URL-encoded,
// form-encoded, base64, base64url and cut short, through an HTTP error and through the API's own error
// envelope (a message the connector builds). None of it reaches the workflow history or the ingestion_logs
// row. A key stored under another TEDI_SECRET_KEY fails once, as a ConfigurationError, and is not retried.
// Assertions never print the texts they search, so a failure cannot put the key into the test output.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { FailureType } from '../../lib/failures';
import { encryptSecret } from '../../lib/secrets';
import { type FixtureRequest, jsonResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness, TEST_SECRET_KEY } from '../helpers/harness';
import { logsOf, runIngestion } from '../helpers/ingest';

const SOURCE = 'un_comtrade';
// Characters that every encoding spells differently.
const KEY = 'Zq9+/x=y&z-c0ffee00deadbeef1234567';

function forms(secret: string): Record<string, string> {
  return {
    raw: secret,
    encodeURIComponent: encodeURIComponent(secret),
    'form-encoded': new URLSearchParams({ k: secret }).toString().slice(2),
    base64: Buffer.from(secret).toString('base64'),
    base64url: Buffer.from(secret).toString('base64url'),
    'first 8 characters': secret.slice(0, 8),
  };
}

/** What a careless gateway writes back: the key it got, in every form, twice, and inside a base64 blob. */
function echo(req: FixtureRequest): string {
  const sent = String(req.headers['ocp-apim-subscription-key'] ?? '');
  const quoted = Object.entries(forms(sent)).map(([name, f]) => `${name} ${f} / ${f}`);
  return `invalid subscription key: ${quoted.join('; ')}; trace ${Buffer.from(`k=${sent}`).toString('base64')}`;
}

let h: Harness;
const requests: FixtureRequest[] = [];
let answer: (req: FixtureRequest) => ReturnType<typeof jsonResponse> = () => jsonResponse({}, 500);

before(async () => {
  h = await startHarness();
  h.mount(SOURCE, (req) => {
    requests.push(req);
    return answer(req);
  });
  await h.db.prisma.dataSource.update({ where: { name: SOURCE }, data: { params: { periods: ['2023'] } } });
});
after(async () => {
  await h?.stop();
});

async function storeKey(key: string, underSecretKey: string): Promise<void> {
  await h.db.prisma.dataSourceConfig.updateMany({
    where: { dataSource: { name: SOURCE } },
    data: { apiKeyEncrypted: encryptSecret(key, underSecretKey) },
  });
}

/** JSON of anything with payload bytes decoded, so a secret cannot hide inside a payload. */
const searchable = (value: unknown) =>
  JSON.stringify(value, (_k, v) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? v.toString() : v,
  );

async function history(workflowId: string) {
  return h.env.client.workflow.getHandle(workflowId).fetchHistory();
}

function assertNoKey(text: string, where: string): void {
  for (const [name, form] of Object.entries(forms(KEY))) {
    assert.ok(!text.includes(form), `the ${name} form of the key reaches ${where}`);
  }
}

/** Runs one ingestion that must fail; returns its log row and the failure's message. */
async function failingRun(retry = { initialIntervalMs: 50, maximumAttempts: 2 }) {
  let message = '';
  await assert.rejects(runIngestion(h, SOURCE, { retry }), (err) => {
    assert.ok(err instanceof WorkflowFailedError, 'the workflow did not fail');
    message = String(err.cause?.message);
    return true;
  });
  const log = (await logsOf(h, SOURCE)).at(-1);
  assert.ok(log, 'no ingestion_logs row');
  assert.equal(log.status, 'failed');
  return { log, message };
}

describe('credentials in errors, end to end', () => {
  test('a key echoed in every encoding in an HTTP error body reaches neither history nor log', async () => {
    await storeKey(KEY, TEST_SECRET_KEY);
    requests.length = 0;
    answer = (req) => jsonResponse({ statusCode: 401, message: echo(req) }, 401);
    const { log, message } = await failingRun();
    assert.ok(requests.length > 0 && requests.every((r) => r.headers['ocp-apim-subscription-key'] === KEY));
    assert.equal(log.errorClass, FailureType.SourceRejected);
    assert.ok(/HTTP 401/.test(message) && message.includes('***'), 'the failure does not show the masked echo');
    assertNoKey(message, 'the workflow failure');
    assertNoKey(searchable(await history(String(log.workflowId))), 'the workflow history');
    assertNoKey(searchable(log), 'the ingestion_logs row');
  });

  test('a key echoed in a retried 5xx body reaches neither history nor log', async () => {
    requests.length = 0;
    answer = (req) => ({ status: 503, headers: { 'content-type': 'text/plain' }, body: echo(req) });
    const { log } = await failingRun();
    assert.ok(requests.length >= 2, 'the 503 was not retried');
    assert.equal(log.errorClass, FailureType.SourceUnavailable);
    assertNoKey(searchable(await history(String(log.workflowId))), 'the workflow history');
    assertNoKey(searchable(log), 'the ingestion_logs row');
  });

  test("a key echoed in the API's own error envelope (a message the connector builds) is masked too", async () => {
    requests.length = 0;
    answer = (req) => jsonResponse({ error: echo(req) }, 200);
    const { log, message } = await failingRun();
    assert.ok(message.includes('UN Comtrade refused'), 'not the envelope failure');
    assertNoKey(message, 'the workflow failure');
    assertNoKey(searchable(await history(String(log.workflowId))), 'the workflow history');
    assertNoKey(searchable(log), 'the ingestion_logs row');
  });

  test('a key stored under another TEDI_SECRET_KEY fails once as a ConfigurationError naming the fix', async () => {
    await storeKey(KEY, 'b'.repeat(64));
    requests.length = 0;
    answer = () => jsonResponse({}, 500);
    const started = Date.now();
    // Five attempts allowed: a transient failure would be retried, this one must not be.
    const { log, message } = await failingRun({ initialIntervalMs: 50, maximumAttempts: 5 });
    assert.equal(log.errorClass, FailureType.ConfigurationError);
    assert.ok(message.includes(`"${SOURCE}"`), 'the source is not named');
    assert.ok(message.includes('TEDI_SECRET_KEY does not match'), 'the reason is not given');
    assert.ok(message.includes(`npm run tedi -- set-key ${SOURCE}`), 'the fix is not given');
    assert.equal(requests.length, 0, 'the source was called without a usable key');
    const events = (await history(String(log.workflowId))).events ?? [];
    const attempts = events.flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : [],
    );
    assert.ok(attempts.length > 0, 'no activity ran');
    assert.deepEqual(
      attempts.filter((a) => a > 1),
      [],
      'an activity was retried',
    );
    assert.ok(Date.now() - started < 30_000, 'the failure took retry time');
    assertNoKey(searchable(events), 'the workflow history');
    await storeKey(KEY, TEST_SECRET_KEY);
  });
});
