// lib/db.ts: an idle pooled connection that the server drops (restart, failover, pg_terminate_backend)
// is logged by the pool's 'error' listener, never an uncaught exception that kills the worker, and the
// pool keeps serving queries on a new connection. Real PostgreSQL (test/helpers/database.ts).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Database, openDatabase } from '../../lib/db';
import { createLogger, installLogger } from '../../lib/log';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

let database: TestDatabase;
let db: Database;

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url, { max: 2 });
});
after(async () => {
  await db?.close();
  await database?.stop();
});

test('an idle client killed by the server is logged, not thrown, and the pool recovers', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  const logged: string[] = [];
  // The process logger (lib/log.ts) writing into this test: one JSON line per write.
  installLogger(createLogger('info', { write: (line: string) => logged.push(line) }));
  try {
    // One query leaves one idle client in the pool; its backend pid is the one to kill.
    const { rows } = await db.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0]!.pid;
    assert.equal(db.pool.idleCount, 1);
    const killer = openDatabase(database.url, { max: 1 });
    try {
      const killed = await killer.pool.query('SELECT pg_terminate_backend($1) AS ok', [pid]);
      assert.equal(killed.rows[0].ok, true);
    } finally {
      await killer.close();
    }
    const deadline = Date.now() + 10_000;
    while (logged.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    installLogger(createLogger('info'));
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught, [], 'the dropped connection became an uncaught exception');
  assert.equal(logged.length, 1, 'the pool error was not logged once');
  const entry = JSON.parse(logged[0]!);
  assert.equal(entry.msg, 'postgres pool error');
  assert.equal(entry.level, 'warn');
  // The error itself, not `{}`: its type and message (lib/log.ts serializeError).
  assert.equal(entry.err.type, 'DatabaseError');
  assert.match(entry.err.message, /terminat/i);
  assert.equal(db.pool.idleCount, 0, 'the dead client is still pooled');
  const again = await db.pool.query<{ one: number }>('SELECT 1 AS one');
  assert.equal(again.rows[0]!.one, 1);
});
