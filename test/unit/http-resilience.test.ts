// Request-level retries of the HTTP client against a real loopback server: a transient failure costs one
// more request of that URL, not a new activity attempt; Retry-After is honoured up to its bound and handed
// to Temporal beyond it; what is not transient is sent once; the failure that remains says how many tries
// were made; cancellation ends a wait at once; no key leaks. The backoff steps are shrunk here (the
// production numbers are pinned in retry-policy.test.ts); Retry-After waits are real (1-2 s).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import { HttpClient, type HttpClientOptions } from '../../sources/kit/http/http-client';
import type { RateBudget } from '../../sources/kit/http/rate-budget';
import type { WaitDetails } from '../../sources/kit/http/wait';

type Step = (req: IncomingMessage, res: ServerResponse) => void;

const ok =
  (body = 'ok'): Step =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(body);
  };
const fail =
  (status: number, headers: Record<string, string> = {}, body = `injected ${status}`): Step =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
/** Echoes the request's URL (the key in it included) in a 503 body, as some gateways do. */
const echo503: Step = (req, res) => {
  res.writeHead(503, { 'content-type': 'text/plain' });
  res.end(`upstream failed for ${req.url}`);
};
const reset: Step = (req) => req.socket.destroy();
const hang: Step = () => undefined;

let server: Server;
let base: string;
/** Steps per path, consumed in order; when none is left the path answers 200. */
const scripts = new Map<string, Step[]>();
/** Arrival times (ms) of the requests to each path. */
const hits = new Map<string, number[]>();
/** The connection (numbered in order of arrival) each request to a path came on. */
const sockets = new Map<string, number[]>();
const socketIds = new WeakMap<object, number>();
let connections = 0;

function script(path: string, ...steps: Step[]): void {
  scripts.set(path, steps);
}
const count = (path: string) => hits.get(path)?.length ?? 0;

before(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, [...(hits.get(path) ?? []), Date.now()]);
    sockets.set(path, [...(sockets.get(path) ?? []), socketIds.get(req.socket) ?? -1]);
    // The request body (POST) is read before answering, so the connection stays usable.
    req.resume();
    req.on('end', () => (scripts.get(path)?.shift() ?? ok(`body of ${path}`))(req, res));
  });
  server.on('connection', (socket) => socketIds.set(socket, ++connections));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  scripts.clear();
  hits.clear();
  sockets.clear();
});

/** Backoff of 5-20 ms instead of 0.5-30 s; Retry-After bound as in production (120 s) unless given. */
function client(opts: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({
    sourceName: 'resilience',
    rateLimitPerSecond: 1000,
    timeoutMs: 2000,
    maxRetries: 5,
    ...opts,
    retryTiming: { baseDelayMs: 5, maxDelayMs: 20, ...opts.retryTiming },
  });
}

async function failure(run: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await run;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${err}`);
    return err;
  }
  assert.fail('the request succeeded');
}

describe('transient failures are retried inside the attempt', () => {
  test('a 503 then 200 on page 3 of 3 costs exactly one more request of page 3', async () => {
    script('/page/3', fail(503));
    const http = client();
    const bodies: string[] = [];
    for (const page of [1, 2, 3]) bodies.push(await http.readText(await http.request(`${base}/page/${page}`)));
    assert.deepEqual(bodies, ['body of /page/1', 'body of /page/2', 'body of /page/3']);
    assert.deepEqual([count('/page/1'), count('/page/2'), count('/page/3')], [1, 1, 2]);
  });

  test("the failed response's body is drained: the retry reuses the connection", async () => {
    // 20 kB: too big to arrive with the headers, so an unread body would hold its socket.
    const page = 'e'.repeat(20_000);
    script('/drained', fail(502, {}, page), fail(500, {}, page));
    const connectionsBefore = connections;
    const http = client();
    assert.equal(await http.readText(await http.request(`${base}/drained`)), 'body of /drained');
    assert.equal(count('/drained'), 3);
    // An undrained body keeps its socket busy, so each retry would open a connection of its own.
    const opened = new Set(sockets.get('/drained')!.filter((id) => id > connectionsBefore));
    assert.ok(opened.size <= 1, `three requests opened ${opened.size} connections`);
  });

  test('429 with Retry-After: 1 waits at least 1 s, heartbeating, then succeeds', async () => {
    script('/throttled', fail(429, { 'retry-after': '1' }));
    const waits: WaitDetails[] = [];
    const started = Date.now();
    const res = await client({ onWait: (d) => waits.push(d) }).request(`${base}/throttled`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const [first, second] = hits.get('/throttled')!;
    assert.ok(second! - first! >= 995, `retried ${second! - first!} ms after the 429`);
    assert.ok(Date.now() - started >= 1000);
    assert.ok(waits.length >= 1, 'onWait was called while waiting');
    assert.deepEqual(waits[0], {
      waiting: 'retry',
      target: 'resilience GET',
      delayMs: 1000,
      nextTry: 2,
      lastCause: 'HTTP 429',
    });
  });

  test('Retry-After as an HTTP date: the retry comes at that time', async () => {
    // HTTP dates have whole seconds: the next whole second plus one, 1-2 s from now.
    const at = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    script('/dated', fail(503, { 'retry-after': new Date(at).toUTCString() }));
    await (await client().request(`${base}/dated`)).body?.cancel();
    const [, second] = hits.get('/dated')!;
    assert.ok(second! >= at - 5, `retried ${at - second!} ms before the date`);
    assert.ok(second! < at + 500, `retried ${second! - at} ms after the date`);
  });

  test('403 with Retry-After is throttling and retried; 403 without it is a refusal, sent once', async () => {
    script('/quota', fail(403, { 'retry-after': '0' }));
    await (await client().request(`${base}/quota`)).body?.cancel();
    assert.equal(count('/quota'), 2);
    script('/forbidden', fail(403));
    const f = await failure(client().request(`${base}/forbidden`));
    assert.equal(f.type, FailureType.SourceRejected);
    assert.equal(count('/forbidden'), 1);
  });

  test('408 is retried', async () => {
    script('/slow', fail(408));
    await (await client().request(`${base}/slow`)).body?.cancel();
    assert.equal(count('/slow'), 2);
  });

  test('a reset connection (socket destroyed) is retried', async () => {
    script('/reset', reset, reset);
    assert.equal(await client().readText(await client().request(`${base}/reset`)), 'body of /reset');
    assert.equal(count('/reset'), 3);
  });

  test('a timeout before the response headers is retried', async () => {
    script('/hang', hang);
    const http = client({ timeoutMs: 200 });
    assert.equal(await http.readText(await http.request(`${base}/hang`)), 'body of /hang');
    assert.equal(count('/hang'), 2);
  });

  test('every try takes a slot of the rate budget, for the host with its port', async () => {
    const hosts: string[] = [];
    const budget: RateBudget = {
      reserve: async (host) => {
        hosts.push(host);
        return 0;
      },
    };
    script('/budgeted', fail(503), fail(503));
    await (await client({ rateBudget: budget }).request(`${base}/budgeted`)).body?.cancel();
    assert.deepEqual(hosts, Array(3).fill(new URL(base).host));
  });
});

describe('what is not retried', () => {
  test('404 is sent once and fails as SourceRejected', async () => {
    script('/missing', fail(404));
    const f = await failure(client().request(`${base}/missing`));
    assert.equal(f.type, FailureType.SourceRejected);
    assert.equal(f.nonRetryable, true);
    assert.equal(count('/missing'), 1);
    assert.match(f.message, /answered HTTP 404: injected 404$/);
  });

  test('a POST is sent once unless its caller marks it idempotent', async () => {
    script('/post', fail(503));
    const f = await failure(client().request(`${base}/post`, { method: 'POST', body: 'x=1' }));
    assert.equal(f.type, FailureType.SourceUnavailable);
    assert.equal(count('/post'), 1);
    script('/query', fail(503));
    const res = await client().request(`${base}/query`, { method: 'POST', body: 'x=1', idempotent: true });
    await res.body?.cancel();
    assert.equal(count('/query'), 2);
  });

  test('a client built without maxRetries tries once, as before', async () => {
    script('/once', fail(503));
    const http = new HttpClient({ sourceName: 'plain', rateLimitPerSecond: 1000, timeoutMs: 2000 });
    const f = await failure(http.request(`${base}/once`));
    assert.equal(f.type, FailureType.SourceUnavailable);
    assert.equal(count('/once'), 1);
    assert.doesNotMatch(f.message, /tries/);
  });

  test('a Retry-After beyond 120 s is not waited: RateLimited with nextRetryDelay, at once', async () => {
    script('/later', fail(429, { 'retry-after': '121' }));
    const started = Date.now();
    const f = await failure(client().request(`${base}/later`));
    assert.ok(Date.now() - started < 1000, 'no wait');
    assert.equal(f.type, FailureType.RateLimited);
    assert.equal(f.nextRetryDelay, 121_000);
    assert.equal(count('/later'), 1);
  });

  test('a wait that would outlast the activity attempt is handed to Temporal instead', async () => {
    script('/deadline', fail(429, { 'retry-after': '2' }));
    const f = await failure(client({ deadlineAt: Date.now() + 1500 }).request(`${base}/deadline`));
    assert.equal(f.type, FailureType.RateLimited);
    assert.equal(f.nextRetryDelay, 2000);
    assert.equal(count('/deadline'), 1);
  });
});

describe('when the retries run out', () => {
  test('the failure says how many tries were made, over how long, and the last answer', async () => {
    script('/down', ...Array(10).fill(fail(503, {}, 'maintenance window')));
    const f = await failure(client({ maxRetries: 3 }).request(`${base}/down`));
    assert.equal(count('/down'), 4);
    assert.equal(f.type, FailureType.SourceUnavailable);
    assert.equal(f.nonRetryable, false);
    assert.match(
      f.message,
      /^resilience GET http:\/\/127\.0\.0\.1:\d+\/down answered HTTP 503 after 4 tries over \d+\.\d s: maintenance window$/,
    );
  });

  test('a 429 that keeps coming stays RateLimited with its delay', async () => {
    script('/busy', ...Array(10).fill(fail(429, { 'retry-after': '0' })));
    const f = await failure(client({ maxRetries: 2 }).request(`${base}/busy`));
    assert.equal(count('/busy'), 3);
    assert.equal(f.type, FailureType.RateLimited);
    assert.equal(f.nextRetryDelay, 0);
    assert.match(f.message, /HTTP 429 after 3 tries over .* \(rate limited; retrying after 0 ms\)$/);
  });

  test('a connection that keeps resetting: the tries and the root cause, not just "fetch failed"', async () => {
    script('/flaky', ...Array(10).fill(reset));
    const f = await failure(client({ maxRetries: 2 }).request(`${base}/flaky`));
    assert.equal(count('/flaky'), 3);
    assert.equal(f.type, FailureType.SourceUnavailable);
    assert.match(
      f.message,
      /\/flaky: connection closed by the server before it answered \(UND_ERR_SOCKET 127\.0\.0\.1:\d+: other side closed\) after 3 tries over \d+\.\d s$/,
    );
  });
});

describe('cancellation', () => {
  test('cancelling during a retry wait ends it at once', async () => {
    script('/maintenance', fail(503, { 'retry-after': '30' }));
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const http = client({ signal: controller.signal, onWait: () => setTimeout(() => controller.abort(reason), 50) });
    const started = Date.now();
    await assert.rejects(http.request(`${base}/maintenance`), (err) => err === reason);
    assert.ok(Date.now() - started < 1000, `aborted after ${Date.now() - started} ms of a 30 s wait`);
    assert.equal(count('/maintenance'), 1);
  });

  test('cancelling during a rate-budget wait ends it too', async () => {
    const controller = new AbortController();
    const budget: RateBudget = { reserve: async () => 30_000 };
    const http = client({ signal: controller.signal, rateBudget: budget });
    setTimeout(() => controller.abort(new Error('cancelled')), 50);
    const started = Date.now();
    await assert.rejects(http.request(`${base}/never`), /cancelled/);
    assert.ok(Date.now() - started < 1000);
    assert.equal(count('/never'), 0);
  });
});

describe('secrets', () => {
  const KEY = 'sk_live_9f8e7d6c5b4a3210';
  const url = (path: string) => `${base}${path}?format=json&api_key=${KEY}`;

  function assertNoKey(text: string, what: string): void {
    assert.ok(!text.includes(KEY) && !text.includes(encodeURIComponent(KEY)), `${what} shows the key: ${text}`);
  }

  test('the key in the URL is in no message: exhausted 5xx echoing it, resets, a long Retry-After', async () => {
    const waits: WaitDetails[] = [];
    script('/echo', ...Array(10).fill(echo503));
    const echoed = await failure(client({ maxRetries: 2, onWait: (d) => waits.push(d) }).request(url('/echo')));
    assert.match(echoed.message, /after 3 tries/);
    script('/gone', ...Array(10).fill(reset));
    const dropped = await failure(client({ maxRetries: 1 }).request(url('/gone')));
    script('/wait', fail(429, { 'retry-after': '600' }));
    const throttled = await failure(client().request(url('/wait')));
    for (const f of [echoed, dropped, throttled]) {
      assertNoKey(f.message, f.type ?? 'failure');
      assertNoKey(String(f.stack), `${f.type} stack`);
      assertNoKey(String((f.cause as Error | undefined)?.message), `${f.type} cause`);
    }
    assertNoKey(JSON.stringify(waits), 'the wait details');
  });
});
