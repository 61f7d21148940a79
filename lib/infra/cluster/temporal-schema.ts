// Temporal's two databases (history and visibility) on PostgreSQL, created and brought to the server
// version's schema by temporal-sql-tool, the way the compose deployment's admin-tools job does it.
// Idempotent (each step, as the tool does it): an existing database is kept, and update-schema applies only the versions it lacks (so
// the same call upgrades the schema after the pinned server version changes).
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { TemporalBinaries } from './temporal-binaries';

export interface SqlEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** The databases the server's embedded config template names (its DBNAME and VISIBILITY_DBNAME defaults). */
export const TEMPORAL_DATABASES = { history: 'temporal', visibility: 'temporal_visibility' } as const;

/** The SQL plugin, as compose's DB variable and the tool's --plugin name it. */
export const TEMPORAL_SQL_PLUGIN = 'postgres12';

export async function setupTemporalSchemas(bins: TemporalBinaries, sql: SqlEndpoint): Promise<void> {
  const schemas = [
    [TEMPORAL_DATABASES.history, 'temporal'],
    [TEMPORAL_DATABASES.visibility, 'visibility'],
  ] as const;
  for (const [database, schema] of schemas) {
    const run = (...args: string[]) => runSqlTool(bins, sql, database, args);
    await run('create-database');
    // setup-schema -v 0.0 creates only the schema_version bookkeeping; update-schema brings the tables.
    await run('setup-schema', '-v', '0.0');
    await run('update-schema', '-d', path.join(bins.postgresSchemaDir, schema, 'versioned'));
  }
}

function runSqlTool(bins: TemporalBinaries, sql: SqlEndpoint, database: string, args: string[]): Promise<void> {
  const argv = ['--plugin', TEMPORAL_SQL_PLUGIN, '--ep', sql.host, '-p', String(sql.port), '-u', sql.user];
  argv.push('--db', database, ...args);
  return new Promise((resolve, reject) => {
    // The password travels in the environment (SQL_PASSWORD), never on a command line others can list.
    execFile(bins.sqlTool, argv, { env: { ...process.env, SQL_PASSWORD: sql.password } }, (err, stdout, stderr) => {
      if (!err) return resolve();
      const said = `${stdout}\n${stderr}`.trim().split('\n').slice(-6).join('\n');
      reject(new Error(`temporal-sql-tool ${args[0]} on ${database} failed: ${said}`));
    });
  });
}
