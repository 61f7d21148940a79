// Engine-free migration runner. Prisma's native schema engine cannot be downloaded here and Prisma 7
// cannot migrate through a driver adapter, so the app and the tests apply prisma/migrations with this
// runner. It keeps Prisma's bookkeeping exactly (`_prisma_migrations`, its advisory lock, its checksums),
// so the same folder and database also work with `prisma migrate deploy/status` where the engine exists.
//
// Unlike Prisma, each migration runs inside one transaction: a failing migration leaves nothing half
// applied, only its row marked failed. Statements that refuse to run in a transaction (e.g. CREATE INDEX
// CONCURRENTLY) therefore do not belong in a migration here.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, type DatabaseError } from 'pg';
import { projectPath } from '../lib/paths';

export interface MigrateOptions {
  /** Folder of `<name>/migration.sql` folders; default prisma/migrations next to this file. */
  migrationsDir?: string;
  log?: (line: string) => void;
}

export interface MigrateResult {
  /** Names of the migrations this call applied, in order. */
  applied: string[];
  /** How many local migrations were applied before this call. */
  alreadyApplied: number;
}

// The key Prisma's schema engine locks while it migrates, so this runner and `prisma migrate` exclude
// each other. Advisory locks are per database, so test databases on one server do not contend.
const PRISMA_ADVISORY_LOCK = 72707369;
const LOCK_TIMEOUT = '60s';

// Prisma's own definition of the table (schema engine, PostgreSQL flavour).
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

interface LocalMigration {
  name: string;
  file: string;
  script: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  started_at: Date;
  logs: string | null;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Lowercase hex SHA-256 of the file's text, as Prisma records it. */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script).digest('hex');
}

// Prisma accepts a checksum taken with either line ending, because git may rewrite them on checkout.
function matchesChecksum(script: string, checksum: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  return variants.some((v) => migrationChecksum(v) === checksum);
}

export function readMigrations(dir: string): LocalMigration[] {
  if (!fs.existsSync(dir)) {
    throw new MigrationError(`Migrations folder ${dir} does not exist: pass migrationsDir or run from the repository.`);
  }
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort() // lexical by UTF-16 code unit, like Prisma: the timestamp prefix gives the order
    .map((name) => {
      const file = path.join(dir, name, 'migration.sql');
      if (!fs.existsSync(file)) {
        throw new MigrationError(`${path.join(dir, name)} has no migration.sql: add it or remove the folder.`);
      }
      return { name, file, script: fs.readFileSync(file, 'utf8') };
    });
}

/** Applies every pending migration of `migrationsDir` to the database, in lexical order. */
export async function applyMigrations(databaseUrl: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const log = opts.log ?? (() => undefined);
  const local = readMigrations(opts.migrationsDir ?? projectPath('prisma', 'migrations'));
  const client = new Client({ connectionString: databaseUrl });
  // A dropped connection must surface as the failing query's error, not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await acquireLock(client);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const rows = await appliedRows(client);
      refuseFailed(rows.failed);
      refuseEdited(local, rows.applied);
      reportUnknown(local, rows.applied, log);
      const pending = local.filter((m) => !rows.applied.has(m.name));
      const applied: string[] = [];
      for (const migration of pending) {
        await applyOne(client, migration);
        log(`applied ${migration.name}`);
        applied.push(migration.name);
      }
      return { applied, alreadyApplied: local.length - pending.length };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function acquireLock(client: Client): Promise<void> {
  // lock_timeout bounds the wait for an advisory lock too; reset it so migrations run without it.
  await client.query(`SET lock_timeout = '${LOCK_TIMEOUT}'`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK]);
  } catch (err) {
    if ((err as DatabaseError).code === '55P03') {
      throw new MigrationError(
        `Timed out after ${LOCK_TIMEOUT} waiting for the migration lock (pg_advisory_lock(${PRISMA_ADVISORY_LOCK})): ` +
          'another process is migrating this database. Let it finish, or find it in pg_locks, then try again.',
      );
    }
    throw err;
  } finally {
    await client.query('RESET lock_timeout');
  }
}

async function appliedRows(client: Client) {
  const { rows } = await client.query<MigrationRow>(
    `SELECT migration_name, checksum, finished_at, started_at, logs
       FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  return {
    applied: new Map(rows.filter((r) => r.finished_at !== null).map((r) => [r.migration_name, r])),
    failed: rows.filter((r) => r.finished_at === null),
  };
}

// Prisma's rule: nothing moves while a migration is recorded as failed, because the database may be in
// an unknown state. Ours roll back, so the state is known, but a person still has to fix the cause.
function refuseFailed(failed: MigrationRow[]): void {
  const row = failed[0];
  if (!row) return;
  throw new MigrationError(
    `Migration "${row.migration_name}" failed at ${row.started_at.toISOString()} and is recorded as failed in ` +
      `_prisma_migrations; no migration will run until that is resolved.\n` +
      `Its error: ${row.logs ?? '(none recorded)'}\n` +
      'It ran in a transaction, so none of it was applied. Fix migration.sql, then mark the attempt rolled back ' +
      `(what \`prisma migrate resolve --rolled-back ${row.migration_name}\` does):\n` +
      `  UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${row.migration_name}' AND finished_at IS NULL;\n` +
      'and run the migrations again.',
  );
}

function refuseEdited(local: LocalMigration[], applied: Map<string, MigrationRow>): void {
  const edited = local.filter((m) => {
    const row = applied.get(m.name);
    return row !== undefined && !matchesChecksum(m.script, row.checksum);
  });
  if (edited.length === 0) return;
  throw new MigrationError(
    `Applied migration(s) edited since they were applied: ${edited.map((m) => m.file).join(', ')}.\n` +
      'Their checksum no longer matches _prisma_migrations. Restore the files (e.g. `git checkout -- <file>`) ' +
      'and put the change in a new migration folder instead.',
  );
}

function reportUnknown(local: LocalMigration[], applied: Map<string, MigrationRow>, log: (line: string) => void) {
  const names = new Set(local.map((m) => m.name));
  for (const name of applied.keys()) {
    if (!names.has(name)) log(`warning: ${name} is applied to the database but missing from the migrations folder`);
  }
}

async function applyOne(client: Client, migration: LocalMigration): Promise<void> {
  const checksum = migrationChecksum(migration.script);
  const startedAt = new Date();
  await client.query('BEGIN');
  try {
    // No parameters: pg sends the simple-query protocol, so the whole file runs as one multi-statement
    // query (no splitting on `;`, which would break `$$` bodies).
    await client.query(migration.script);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, $4, now(), 1)`,
      [randomUUID(), checksum, migration.name, startedAt],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const detail = describeError(err, migration.script);
    // Recorded outside the rolled-back transaction, so the failure stays visible (and blocks) as in Prisma.
    await client
      .query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, logs, applied_steps_count)
         VALUES ($1, $2, $3, $4, $5, 0)`,
        [randomUUID(), checksum, migration.name, startedAt, detail],
      )
      .catch(() => undefined);
    throw new MigrationError(
      `Migration "${migration.name}" failed and was rolled back: ${detail}\n` +
        `Fix ${migration.file}; the attempt is recorded as failed in _prisma_migrations (the next run says how to clear it).`,
      { cause: err },
    );
  }
}

// PostgreSQL reports a character offset into the query; a line number in migration.sql is what helps.
function describeError(err: unknown, script: string): string {
  const e = err as Partial<DatabaseError> & Error;
  const parts = [e.message ?? String(err)];
  if (e.code) parts.push(`(SQLSTATE ${e.code})`);
  const position = Number(e.position);
  if (position > 0) parts.push(`at line ${script.slice(0, position - 1).split('\n').length} of migration.sql`);
  if (e.detail) parts.push(`detail: ${e.detail}`);
  if (e.hint) parts.push(`hint: ${e.hint}`);
  return parts.join(' ');
}
