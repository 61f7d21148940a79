// The root cause of a failed request, as the HTTP client reports it: real loopback servers that refuse,
// reset, close, stall, answer 503 with a body quoting the key, serve a self-signed certificate, and a host
// name under `.invalid` (RFC 2606: it never resolves, so no network is needed). Each failure's message
// names the code and the host, and its details carry them (lib/failures.ts failureFacts), which is what the
// workflow copies into the log row and the memo.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { type FailureFacts, FailureType, failureFacts } from '../../lib/failures';
import { HttpClient } from '../../sources/kit/http/http-client';

const SECRET = 'k3y-0123456789abcdef-zz';
const servers: Array<{ close(): unknown }> = [];

async function listen<S extends Server | ReturnType<typeof createHttpServer>>(server: S): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(timeoutMs = 2000) {
  return new HttpClient({
    rateLimitPerSecond: 1000,
    timeoutMs,
    sourceName: 'rootcause',
    // A credential-named header: the client learns its value and masks it in every error.
    headers: { 'x-api-key': SECRET },
  });
}

async function failureOf(
  url: string,
  timeoutMs?: number,
): Promise<{ failure: ApplicationFailure; facts: FailureFacts }> {
  const err = await client(timeoutMs)
    .request(url)
    .then(
      () => assert.fail(`${url} answered`),
      (e: unknown) => e,
    );
  assert.ok(err instanceof ApplicationFailure, `not an ApplicationFailure: ${err}`);
  assert.ok(!JSON.stringify({ m: err.message, d: err.details }).includes(SECRET), 'the key leaked');
  return { failure: err, facts: failureFacts(err) };
}

let refused: string;
let resetting: string;
let stalling: string;
let unavailable: string;
let selfSigned: string;
let certDir: string;

before(async () => {
  // RST, not FIN: the client sees ECONNRESET.
  resetting = await listen(createServer((socket) => socket.resetAndDestroy()));
  stalling = await listen(createServer(() => undefined));
  unavailable = await listen(
    createHttpServer((req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'maintenance', echo: req.headers['x-api-key'] }));
    }),
  );
  certDir = mkdtempSync(path.join(tmpdir(), 'tedi-cert-'));
  const key = path.join(certDir, 'key.pem');
  const cert = path.join(certDir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    throw new Error(`this test needs openssl on PATH to make a self-signed certificate: ${(err as Error).message}`);
  }
  selfSigned = await listen(
    createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end('ok')),
  );
  // A port that was just closed: nothing listens there (port 1 would be refused by fetch itself as "bad port").
  // Made last: a server listened on after it could be given the freed port (CI once saw "other side closed").
  const closed = createServer();
  refused = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
  servers.pop();
});

after(() => {
  for (const s of servers) s.close();
  rmSync(certDir, { recursive: true, force: true });
});

describe('transport failures name the system code and the host', () => {
  test('a closed port: ECONNREFUSED', async () => {
    const { failure, facts } = await failureOf(`http://${refused}/data`);
    assert.equal(failure.type, FailureType.SourceUnavailable);
    assert.equal(failure.message, `rootcause GET http://${refused}/data: connection refused (ECONNREFUSED ${refused})`);
    assert.deepEqual(facts, { code: 'ECONNREFUSED', host: refused });
  });

  test('a name that never resolves: ENOTFOUND', async () => {
    const { failure, facts } = await failureOf('http://api.tedi-test.invalid/v2/data');
    assert.match(failure.message, /: host not found \(ENOTFOUND api\.tedi-test\.invalid\)$/);
    assert.deepEqual(facts, { code: 'ENOTFOUND', host: 'api.tedi-test.invalid' });
    assert.equal(failure.nonRetryable, false);
  });

  test('a reset connection: ECONNRESET', async () => {
    const { failure, facts } = await failureOf(`http://${resetting}/data`);
    assert.match(failure.message, new RegExp(`: connection reset \\(ECONNRESET ${resetting}\\)$`));
    assert.deepEqual(facts, { code: 'ECONNRESET', host: resetting });
  });

  test('a server that never answers: ETIMEDOUT after the timeout', async () => {
    const { failure, facts } = await failureOf(`http://${stalling}/data`, 300);
    assert.match(failure.message, new RegExp(`: timed out after 300 ms without data \\(ETIMEDOUT ${stalling}\\)$`));
    assert.deepEqual(facts, { code: 'ETIMEDOUT', host: stalling });
  });

  test('a self-signed certificate: the TLS code', async () => {
    const { failure, facts } = await failureOf(`https://${selfSigned}/data`);
    assert.match(
      failure.message,
      new RegExp(
        `: TLS certificate is self-signed \\(DEPTH_ZERO_SELF_SIGNED_CERT ${selfSigned}: self-signed certificate\\)$`,
      ),
    );
    assert.deepEqual(facts, { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', host: selfSigned });
  });
});

test('an HTTP failure names the status and the first bytes of the body, the key masked', async () => {
  const { failure, facts } = await failureOf(`http://${unavailable}/data`);
  assert.equal(failure.type, FailureType.SourceUnavailable);
  const body = '{"error":"maintenance","echo":"***"}';
  assert.equal(failure.message, `rootcause GET http://${unavailable}/data answered HTTP 503: ${body}`);
  assert.deepEqual(facts, { code: 'HTTP 503', host: unavailable, status: 503, body });
});
