// The change feed over HTTP (api/feed.ts) on a real PostgreSQL and a real server on 127.0.0.1: the JSON
// page of events; the server-sent-events stream (replay from `after`, live events as revisions commit,
// resume from Last-Event-ID, a source filter); 400s naming the parameter; the subscription routes (off
// without TEDI_API_ADMIN_TOKEN, refused with a wrong token, create → the secret once, list, deliveries,
// delete); the routes in /openapi.json; and the server's close() ending open streams at once.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { type RunningApi, startApi } from '../../api/server';
import { type Database, openDatabase } from '../../lib/db';
import type { ObservationRow } from '../../sources/kit/types';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { TEST_SECRET_KEY } from '../helpers/harness';
import { catalogVersion, loadRevision } from '../helpers/store';

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-feed-api-'));
let database: TestDatabase;
let db: Database;
let api: RunningApi;
let openApi: RunningApi;
let alpha: number;
let beta: number;
let revisions = 0;

const row = (value: string): ObservationRow => ({
  seriesKey: 'AG|BEN',
  period: '2000',
  value,
  unit: null,
  attributes: null,
});

async function commit(versionId: number): Promise<void> {
  revisions++;
  await loadRevision(db, tmp, versionId, `feed-api-${revisions}`, [row(String(revisions))], new Date());
}

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  alpha = await catalogVersion(db, 'feed_alpha');
  beta = await catalogVersion(db, 'feed_beta');
  await commit(alpha);
  await commit(beta);
  await commit(alpha);
  api = await startApi({
    pool: db.pool,
    host: '127.0.0.1',
    port: 0,
    secretKey: TEST_SECRET_KEY,
    adminToken: ADMIN_TOKEN,
  });
  openApi = await startApi({ pool: db.pool, host: '127.0.0.1', port: 0, heartbeatMs: 200 });
});

after(async () => {
  await api?.close();
  await openApi?.close();
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A response's JSON body; test bodies are checked field by field. */
// biome-ignore lint/suspicious/noExplicitAny: see above
const json = async (res: Response): Promise<any> => res.json();

interface SseMessage {
  id: string;
  event: string;
  data: { id: string; data: { source: string; revision: number } };
}

/** Reads an SSE response, handing each message to `onMessage` until it returns true; then disconnects. */
async function readStream(
  url: string,
  headers: Record<string, string>,
  onMessage: (m: SseMessage, all: SseMessage[]) => boolean | Promise<boolean>,
): Promise<{ messages: SseMessage[]; contentType: string | null; comments: number }> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  assert.equal(response.status, 200);
  const messages: SseMessage[] = [];
  let comments = 0;
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        if (block.startsWith(':')) {
          comments++;
          continue;
        }
        const fields = Object.fromEntries(
          block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
        );
        if (!fields.data) continue;
        const message = { id: fields.id, event: fields.event, data: JSON.parse(fields.data) } as SseMessage;
        messages.push(message);
        if (await onMessage(message, messages))
          return { messages, contentType: response.headers.get('content-type'), comments };
      }
    }
  } finally {
    controller.abort();
  }
  return { messages, contentType: response.headers.get('content-type'), comments };
}

test('GET /v1/events: a JSON page of events after `after`, oldest first, filterable by source', async () => {
  const all = await json(await fetch(`${api.url}/v1/events?after=0`));
  assert.deepEqual(
    all.events.map((e: { data: { source: string; revision: number } }) => [e.data.source, e.data.revision]),
    [
      ['feed_alpha', 1],
      ['feed_beta', 1],
      ['feed_alpha', 2],
    ],
  );
  assert.equal(all.next, all.events[2].id);
  const onlyBeta = await json(await fetch(`${api.url}/v1/events?after=0&source=feed_beta`));
  assert.deepEqual(
    onlyBeta.events.map((e: { data: { source: string } }) => e.data.source),
    ['feed_beta'],
  );
  const paged = await json(await fetch(`${api.url}/v1/events?after=${all.events[0].id}&limit=1`));
  assert.deepEqual(
    paged.events.map((e: { id: string }) => e.id),
    [all.events[1].id],
  );
  const capped = await fetch(`${api.url}/v1/events?after=0&limit=1000`);
  assert.equal(capped.status, 200, 'limit=1000 is the cap, accepted');
  const empty = await json(await fetch(`${api.url}/v1/events?after=${all.next}`));
  assert.deepEqual(empty, { events: [], next: all.next });

  const badResume = await fetch(`${api.url}/v1/events`, {
    headers: { accept: 'text/event-stream', 'last-event-id': 'abc' },
  });
  assert.equal(badResume.status, 400);
  assert.equal((await json(badResume)).parameter, 'Last-Event-ID');
  for (const [query, parameter] of [
    ['after=-1', 'after'],
    ['after=abc', 'after'],
    ['limit=1001', 'limit'],
    ['limit=0', 'limit'],
    ['since=1', 'since'],
  ]) {
    const res = await fetch(`${api.url}/v1/events?${query}`);
    assert.equal(res.status, 400, query);
    const body = await json(res);
    assert.equal(body.parameter, parameter, query);
    assert.match(body.message, new RegExp(`^${parameter}: `));
  }
});

test('the SSE stream replays from `after`, then sends each revision as it commits; Last-Event-ID resumes', async () => {
  const first = await json(await fetch(`${api.url}/v1/events?after=0&limit=1`));
  let committed = false;
  const stream = await readStream(`${api.url}/v1/events?after=${first.next}`, {}, async (_m, all) => {
    // Two replayed events (beta 1, alpha 2), then commit a new revision and wait for it to arrive live.
    if (all.length === 2 && !committed) {
      committed = true;
      await commit(beta);
    }
    return all.length === 3;
  });
  assert.match(stream.contentType ?? '', /^text\/event-stream/);
  assert.deepEqual(
    stream.messages.map((m) => [m.event, m.data.data.source, m.data.data.revision]),
    [
      ['revision.created', 'feed_beta', 1],
      ['revision.created', 'feed_alpha', 2],
      ['revision.created', 'feed_beta', 2],
    ],
  );
  assert.deepEqual(
    stream.messages.map((m) => m.id),
    stream.messages.map((m) => m.data.id),
    'the SSE id is the event id',
  );

  // A reconnecting client sends Last-Event-ID and gets only what it missed (the header wins over `after`).
  await commit(alpha);
  const resumed = await readStream(
    `${api.url}/v1/events?after=0&source=feed_alpha`,
    { 'last-event-id': stream.messages[2]!.id },
    (_m, all) => all.length === 1,
  );
  assert.deepEqual(
    resumed.messages.map((m) => [m.data.data.source, m.data.data.revision]),
    [['feed_alpha', 3]],
  );
});

test('an idle stream sends keep-alive comments, and closing the server ends open streams at once', async () => {
  const controller = new AbortController();
  const response = await fetch(`${openApi.url}/v1/events`, {
    headers: { accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /^:/m, 'a comment line keeps the connection alive');
  const started = Date.now();
  await openApi.close(30_000);
  const closedIn = Date.now() - started;
  assert.ok(closedIn < 5_000, `close() waited ${closedIn} ms for an idle stream`);
  controller.abort();
});

test('subscriptions over HTTP: off without an admin token, refused with a wrong one', async () => {
  const plain = await startApi({ pool: db.pool, host: '127.0.0.1', port: 0, secretKey: TEST_SECRET_KEY });
  try {
    const off = await fetch(`${plain.url}/v1/subscriptions`);
    assert.equal(off.status, 403);
    assert.match((await json(off)).message, /set TEDI_API_ADMIN_TOKEN/);
  } finally {
    await plain.close();
  }
  const wrong = await fetch(`${api.url}/v1/subscriptions`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 403);
  assert.ok(!JSON.stringify(await json(wrong)).includes(ADMIN_TOKEN));
});

test('subscriptions over HTTP: create (the secret once), 400s naming the field, list, deliveries, delete', async () => {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const post = (body: unknown) =>
    fetch(`${api.url}/v1/subscriptions`, { method: 'POST', headers: auth, body: JSON.stringify(body) });

  const created = await post({ url: 'https://example.org/hook?token=abc', name: 'dash', sources: ['feed_alpha'] });
  assert.equal(created.status, 201);
  const { subscription, secret } = await json(created);
  assert.match(secret, /^whsec_/);
  assert.equal(subscription.name, 'dash');
  assert.deepEqual(subscription.sources, ['feed_alpha']);
  assert.deepEqual(subscription.deliveries, { delivered: 0, pending: 0, failed: 0 });

  for (const [body, parameter, message] of [
    [{ url: 'not a url' }, 'url', /absolute http\(s\) URL/],
    [{ url: 'ftp://example.org/x' }, 'url', /http:\/\/ or https:\/\//],
    [{ url: 'https://example.org/x', sources: ['no_such'] }, 'sources', /unknown source no_such/],
    [{ url: 'https://example.org/x', name: 'dash' }, 'name', /exists/],
    [{ url: 'https://example.org/x', name: 'bad name!' }, 'name', /letters, digits/],
  ] as const) {
    const res = await post(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const error = await json(res);
    assert.equal(error.parameter, parameter, JSON.stringify(body));
    assert.match(error.message, message);
  }

  const list = await json(await fetch(`${api.url}/v1/subscriptions`, { headers: auth }));
  assert.deepEqual(
    list.subscriptions.map((s: { name: string }) => s.name),
    ['dash'],
  );
  assert.ok(!JSON.stringify(list).includes(secret), 'the secret is never listed');

  const deliveries = await fetch(`${api.url}/v1/subscriptions/${subscription.id}/deliveries`, { headers: auth });
  assert.deepEqual(await json(deliveries), { deliveries: [] });
  const missing = await fetch(`${api.url}/v1/subscriptions/999/deliveries`, { headers: auth });
  assert.equal(missing.status, 404);
  assert.equal((await json(missing)).parameter, 'subscription');

  const removed = await fetch(`${api.url}/v1/subscriptions/${subscription.id}`, {
    method: 'DELETE',
    headers: { authorization: auth.authorization },
  });
  assert.equal(removed.status, 200);
  const stopped = await json(removed);
  assert.equal(stopped.active, false);
  assert.match(stopped.disabledReason, /removed over the API/);
});

test('/openapi.json documents the feed routes, and their schemas accept the real responses', async () => {
  const doc = await json(await fetch(`${api.url}/openapi.json`));
  for (const route of [
    '/v1/events',
    '/v1/subscriptions',
    '/v1/subscriptions/{id}',
    '/v1/subscriptions/{id}/deliveries',
  ]) {
    assert.ok(doc.paths[route], `${route} in the document`);
  }
  assert.ok(doc.components.schemas.ChangeEvent, 'the event schema is named');

  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
  const check = async (route: string, method: string, status: string, res: Response): Promise<any> => {
    const schema = doc.paths[route][method].responses[status].content['application/json'].schema;
    const validate = ajv.compile({ ...schema, components: doc.components });
    assert.equal(String(res.status), status, `${method} ${route}`);
    const body = await json(res);
    assert.ok(validate(body), `${method} ${route} ${status}: ${JSON.stringify(validate.errors)}`);
    return body;
  };
  const events = await check('/v1/events', 'get', '200', await fetch(`${api.url}/v1/events?after=0`));
  assert.ok(events.events.length > 0, 'checked against real events');
  assert.equal(
    ajv.compile({
      ...doc.paths['/v1/events'].get.responses['200'].content['application/json'].schema,
      components: doc.components,
    })({ events: [{ id: 1 }] }),
    false,
    'not vacuous',
  );
  await check('/v1/events', 'get', '400', await fetch(`${api.url}/v1/events?after=x`));
  const created = await check(
    '/v1/subscriptions',
    'post',
    '201',
    await fetch(`${api.url}/v1/subscriptions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ url: 'https://example.org/schema-check', name: 'schema-check' }),
    }),
  );
  await check('/v1/subscriptions', 'get', '200', await fetch(`${api.url}/v1/subscriptions`, { headers: auth }));
  await check('/v1/subscriptions', 'get', '403', await fetch(`${api.url}/v1/subscriptions`));
  await check(
    '/v1/subscriptions/{id}/deliveries',
    'get',
    '200',
    await fetch(`${api.url}/v1/subscriptions/${created.subscription.id}/deliveries`, { headers: auth }),
  );
  await check(
    '/v1/subscriptions/{id}',
    'delete',
    '200',
    await fetch(`${api.url}/v1/subscriptions/${created.subscription.id}`, {
      method: 'DELETE',
      headers: { authorization: auth.authorization },
    }),
  );
});

test('keep-alive comments come every 15 s on an idle stream (none before 14 s, one by 16 s)', async () => {
  const controller = new AbortController();
  const response = await fetch(`${api.url}/v1/events`, {
    headers: { accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const opened = Date.now();
  let text = '';
  const firstComment = (async () => {
    while (!text.includes(':')) {
      const { value, done } = await reader.read();
      if (done) return null;
      text += new TextDecoder().decode(value);
    }
    return Date.now() - opened;
  })();
  try {
    const at = await Promise.race([firstComment, new Promise<number>((r) => setTimeout(() => r(-1), 17_000))]);
    assert.ok(at !== null && at >= 14_000 && at <= 16_000, `first keep-alive after ${at} ms: ${JSON.stringify(text)}`);
  } finally {
    controller.abort();
  }
});
