// Body size limits of the HTTP client, against a real loopback server: a body over the source's
// max_body_bytes fails as InvalidPayload, whether it declares its length or streams without one, and a
// body read whole into memory is held to MAX_BUFFERED_BODY_BYTES whatever the source's limit.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import { DEFAULT_MAX_BODY_BYTES, HttpClient, MAX_BUFFERED_BODY_BYTES } from '../../sources/kit/http/http-client';

let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes'));
    if (req.url?.startsWith('/declared')) {
      res.writeHead(200, { 'content-length': String(size), 'content-type': 'text/plain' });
      res.end('x'.repeat(size));
      return;
    }
    // Chunked: no length declared; the client must count.
    res.writeHead(200, { 'content-type': 'text/plain' });
    let left = size;
    const step = () => {
      if (left <= 0) return res.end();
      const n = Math.min(left, 1000);
      left -= n;
      res.write('y'.repeat(n), step);
    };
    step();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

function client(maxBodyBytes?: number) {
  return new HttpClient({ sourceName: 'limits', rateLimitPerSecond: 1000, timeoutMs: 5000, maxBodyBytes });
}

async function read(http: HttpClient, path: string): Promise<number> {
  let n = 0;
  for await (const chunk of http.stream(await http.request(`${base}${path}`))) n += chunk.length;
  return n;
}

async function expectTooLarge(run: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, FailureType.InvalidPayload);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, pattern);
    assert.match(err.message, /max_body_bytes/, 'the message names the setting to change');
    return true;
  });
}

test('the documented limits: 2 GiB per body by default, 64 MiB for a body read whole', () => {
  assert.equal(DEFAULT_MAX_BODY_BYTES, 2 * 1024 ** 3);
  assert.equal(MAX_BUFFERED_BODY_BYTES, 64 * 1024 ** 2);
});

test('a body exactly at the limit streams; one byte more fails, declared or not', async () => {
  const http = client(5000);
  assert.equal(await read(http, '/declared?bytes=5000'), 5000);
  assert.equal(await read(http, '/chunked?bytes=5000'), 5000);
  await expectTooLarge(read(http, '/declared?bytes=5001'), /declares 5001 bytes, more than the 5000 allowed/);
  await expectTooLarge(read(http, '/chunked?bytes=5001'), /sent more than 5000 bytes/);
});

test('a body read whole is held to the smaller of the source limit and 64 MiB', async () => {
  const http = client(3000);
  assert.equal((await http.readText(await http.request(`${base}/chunked?bytes=3000`))).length, 3000);
  await expectTooLarge(http.readText(await http.request(`${base}/chunked?bytes=3001`)), /sent more than 3000 bytes/);
  // With the default (2 GiB) source limit, whole-body reads still stop at 64 MiB.
  const big = client();
  await expectTooLarge(
    big.readText(await big.request(`${base}/declared?bytes=${MAX_BUFFERED_BODY_BYTES + 1}`)),
    new RegExp(`declares ${MAX_BUFFERED_BODY_BYTES + 1} bytes, more than the ${MAX_BUFFERED_BODY_BYTES} allowed`),
  );
});
