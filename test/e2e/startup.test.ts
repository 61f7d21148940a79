// Start-up against configured servers that are down, with real processes: `npm start` (scripts/start.ts)
// with DATABASE_URL or TEMPORAL_ADDRESS set but unreachable stops with an error naming the variable and its
// host:port (password masked), and starts no embedded server in their place; a standalone worker
// (workers/main.ts) that cannot use its database exits non-zero instead of reporting "workers running".
// Loopback only: the "servers" are closed ports, or a port that accepts and hangs up (not PostgreSQL).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../../lib/infra/postgres';

const ROOT = path.resolve(__dirname, '..', '..');
const PASSWORD = 'n0t-for-output-5ecret';

let tmp: string;
let hangUp: net.Server;
let hangUpPort: number;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-startup-'));
  // Accepts a connection and closes it at once: reachable over TCP, but no PostgreSQL.
  hangUp = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
  hangUpPort = (hangUp.address() as net.AddressInfo).port;
});
after(async () => {
  await new Promise((resolve) => hangUp?.close(resolve));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  output: string;
  ms: number;
}

/** Runs a TEDI entry point with only the given TEDI variables (and fresh ports for anything it might start). */
async function run(script: string, env: Record<string, string>, dataDir: string): Promise<Outcome> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|TEMPORAL_|TEDI_|EMBEDDED_PG_)/.test(k)),
  );
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    detached: true,
    env: {
      ...base,
      TEDI_DATA_DIR: dataDir,
      // Were an embedded server started by mistake, it would take these free ports, not a colleague's.
      EMBEDDED_PG_PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      TEDI_SECRET_KEY: 'e'.repeat(64),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      // Only the process group this test started.
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
      resolve(null);
    }, 90_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, output, ms: Date.now() - started };
}

/** Processes still running whose command line mentions `dir` (an embedded PostgreSQL or dev server would). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function assertNothingStarted(dataDir: string, outcome: Outcome): void {
  assert.ok(!fs.existsSync(dataDir), 'the data directory was created: an embedded server was started');
  assert.deepEqual(processesUsing(dataDir), [], 'a process using the data directory is still running');
  assert.ok(!/started embedded PostgreSQL|Temporal dev server on|workers running/.test(outcome.output), 'it started');
}

/** The output never holds the password, in any spelling the masking knows. */
function assertNoPassword(output: string): void {
  for (const form of [PASSWORD, encodeURIComponent(PASSWORD), Buffer.from(PASSWORD).toString('base64')]) {
    assert.ok(!output.includes(form.slice(0, 8)), 'the password (or part of it) is in the output');
  }
}

test('npm start with DATABASE_URL set to a closed port stops, names it, starts no embedded PostgreSQL', async () => {
  const port = await freePort();
  const dataDir = path.join(tmp, 'start-db');
  const out = await run(
    'scripts/start.ts',
    { DATABASE_URL: `postgresql://tedi:${PASSWORD}@127.0.0.1:${port}/tedi` },
    dataDir,
  );
  assert.equal(out.code, 1, 'exit status');
  assert.ok(out.output.includes('DATABASE_URL is set'), 'the variable is not named');
  assert.ok(out.output.includes(`127.0.0.1:${port}`), 'host:port is not named');
  assert.ok(out.output.includes('tedi:***@'), 'the masked URL is not shown');
  assert.ok(/ECONNREFUSED/.test(out.output), 'the reason is not given');
  assert.ok(out.output.includes('unset DATABASE_URL to use the embedded PostgreSQL'), 'no fix given');
  assertNoPassword(out.output);
  assertNothingStarted(dataDir, out);
});

test('npm start with TEMPORAL_ADDRESS set to a closed port stops, names it, starts no dev server', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const dataDir = path.join(tmp, 'start-temporal');
  // DATABASE_URL unset: checking the configured Temporal first means no embedded PostgreSQL starts either.
  const out = await run('scripts/start.ts', { TEMPORAL_ADDRESS: address }, dataDir);
  assert.equal(out.code, 1, 'exit status');
  assert.ok(out.output.includes(`TEMPORAL_ADDRESS is set, but no Temporal server answers at ${address}`), 'not named');
  assert.ok(out.output.includes('unset TEMPORAL_ADDRESS to use the Temporal dev server'), 'no fix given');
  assertNothingStarted(dataDir, out);
});

test('a standalone worker whose DATABASE_URL is down, or is not PostgreSQL, exits 1 instead of running', async () => {
  const temporal = `127.0.0.1:${await freePort()}`;
  for (const port of [await freePort(), hangUpPort]) {
    const dataDir = path.join(tmp, `worker-${port}`);
    const url = `postgres://worker:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/tedi`;
    const out = await run('workers/main.ts', { DATABASE_URL: url, TEMPORAL_ADDRESS: temporal }, dataDir);
    assert.equal(out.code, 1, `port ${port}: exit status`);
    assert.ok(
      out.output.includes(`DATABASE_URL is set, but PostgreSQL at 127.0.0.1:${port} cannot be used`),
      'not named',
    );
    assert.ok(out.output.includes('A worker needs its database'), 'no fix given');
    assert.ok(!out.output.includes('workers running'), 'it reported running');
    assertNoPassword(out.output);
    assertNothingStarted(dataDir, out);
  }
});

test('npm run migrate with DATABASE_URL set to a closed port stops, names it, migrates no embedded PostgreSQL', async () => {
  const port = await freePort();
  const dataDir = path.join(tmp, 'migrate');
  const out = await run(
    'scripts/migrate.ts',
    { DATABASE_URL: `postgresql://tedi:${PASSWORD}@127.0.0.1:${port}/tedi` },
    dataDir,
  );
  assert.equal(out.code, 1, 'exit status');
  assert.ok(
    out.output.includes(`DATABASE_URL is set, but PostgreSQL at 127.0.0.1:${port} cannot be used`),
    'not named',
  );
  assertNoPassword(out.output);
  assertNothingStarted(dataDir, out);
});
