// The engine-free migration runner against a real PostgreSQL: Prisma's bookkeeping, idempotence, failed
// migrations blocking later runs, and edited migrations being caught.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Client } from 'pg';
import { applyMigrations } from '../../prisma/migrator';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

const MIGRATIONS = path.join(__dirname, '..', '..', 'prisma', 'migrations');
const NAMES = fs
  .readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

/** A database with nothing in it: the harness migrates its databases, so empty this one again. */
async function emptyDatabase(): Promise<TestDatabase & { query(sql: string): Promise<Record<string, unknown>[]> }> {
  const db = await startTestDatabase();
  const query = async (sql: string) => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };
  await query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  return { ...db, query };
}

/** A copy of prisma/migrations to break on purpose. */
function copyOfMigrations(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-migrations-'));
  fs.cpSync(MIGRATIONS, dir, { recursive: true });
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('applies every migration on a fresh database and records them as Prisma does', async (t) => {
  const db = await emptyDatabase();
  t.after(() => db.stop());
  assert.ok(NAMES.length >= 2 && NAMES.some((n) => n.endsWith('_hand_managed')), `migrations found: ${NAMES}`);

  const result = await applyMigrations(db.url);
  assert.deepEqual(result, { applied: NAMES, alreadyApplied: 0 });

  const rows = await db.query(
    'SELECT id, checksum, migration_name, finished_at, logs, rolled_back_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
  );
  assert.deepEqual(
    rows.map((r) => r.migration_name),
    NAMES,
  );
  for (const row of rows) {
    const sql = fs.readFileSync(path.join(MIGRATIONS, String(row.migration_name), 'migration.sql'));
    assert.equal(row.checksum, createHash('sha256').update(sql).digest('hex'));
    assert.match(String(row.id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(row.finished_at instanceof Date);
    assert.equal(row.logs, null);
    assert.equal(row.rolled_back_at, null);
    assert.equal(row.applied_steps_count, 1);
  }
  // The hand-managed migration ran too (the partial unique index), and staging moved to its own schema:
  // the shared scratch tables are gone, per-run tables live in tedi_staging.
  const index = await db.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'observations_current_key'");
  assert.match(
    String(index[0]?.indexdef),
    /UNIQUE INDEX .*\(dataset_version_id, series_id, period\) WHERE \(valid_to IS NULL\)/,
  );
  const old = await db.query("SELECT relname FROM pg_class WHERE relname IN ('staged_records', 'staged_observations')");
  assert.deepEqual(old, []);
  const schema = await db.query("SELECT nspname FROM pg_namespace WHERE nspname = 'tedi_staging'");
  assert.equal(schema.length, 1);
});

test('a second run applies nothing, and concurrent runs apply each migration once', async (t) => {
  const db = await emptyDatabase();
  t.after(() => db.stop());
  const [a, b] = await Promise.all([applyMigrations(db.url), applyMigrations(db.url)]);
  assert.deepEqual([...a.applied, ...b.applied].sort(), NAMES);

  assert.deepEqual(await applyMigrations(db.url), { applied: [], alreadyApplied: NAMES.length });
  const rows = await db.query('SELECT count(*)::int AS n FROM _prisma_migrations');
  assert.equal(rows[0]?.n, NAMES.length);
});

test('a failed migration is rolled back, recorded, and blocks later runs until resolved', async (t) => {
  const db = await emptyDatabase();
  t.after(() => db.stop());
  const dir = copyOfMigrations(t);
  const bad = '29991231000000_bad';
  fs.mkdirSync(path.join(dir, bad));
  fs.writeFileSync(
    path.join(dir, bad, 'migration.sql'),
    'CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;\n',
  );

  await assert.rejects(applyMigrations(db.url, { migrationsDir: dir }), (err: Error) => {
    assert.match(err.message, new RegExp(`Migration "${bad}" failed and was rolled back`));
    assert.match(err.message, /no_such_table/);
    assert.match(err.message, /line 2 of migration\.sql/);
    return true;
  });
  // One transaction: the statement before the failing one left nothing behind.
  assert.deepEqual(await db.query("SELECT 1 FROM pg_class WHERE relname = 'half_done'"), []);
  const failed = await db.query(`SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = '${bad}'`);
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.finished_at, null);
  assert.match(String(failed[0]?.logs), /no_such_table/);

  // Even with the file fixed, nothing runs while the failure is on record...
  fs.writeFileSync(path.join(dir, bad, 'migration.sql'), 'CREATE TABLE half_done (id int);\n');
  await assert.rejects(applyMigrations(db.url, { migrationsDir: dir }), (err: Error) => {
    assert.match(err.message, new RegExp(`Migration "${bad}" failed at .* recorded as failed`));
    assert.match(err.message, /rolled_back_at = now\(\)/);
    return true;
  });
  // ...and once it is marked rolled back as the message says, the fixed migration applies.
  await db.query(
    `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '${bad}' AND finished_at IS NULL`,
  );
  assert.deepEqual(await applyMigrations(db.url, { migrationsDir: dir }), {
    applied: [bad],
    alreadyApplied: NAMES.length,
  });
});

test('an applied migration that was edited afterwards is refused; line endings alone are not an edit', async (t) => {
  const db = await emptyDatabase();
  t.after(() => db.stop());
  const dir = copyOfMigrations(t);
  await applyMigrations(db.url, { migrationsDir: dir });

  const file = path.join(dir, NAMES[0]!, 'migration.sql');
  const original = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, original.replaceAll('\n', '\r\n'));
  assert.deepEqual(await applyMigrations(db.url, { migrationsDir: dir }), {
    applied: [],
    alreadyApplied: NAMES.length,
  });

  fs.writeFileSync(file, `${original}\n-- an afterthought\n`);
  await assert.rejects(applyMigrations(db.url, { migrationsDir: dir }), (err: Error) => {
    assert.match(err.message, /edited since they were applied/);
    assert.ok(err.message.includes(file), err.message);
    return true;
  });
});
