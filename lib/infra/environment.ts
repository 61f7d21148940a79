// Brings up what the application runs on: the configured PostgreSQL and Temporal when they are set,
// otherwise an embedded PostgreSQL and the Temporal dev server, both keeping their data under the data
// directory. A server that is configured but does not answer stops start-up with an error naming its
// variable: it is never silently replaced by an embedded one (that would run the scheduler on an empty
// database with schedules of its own). Returns one stop() that ends only what this process started.
import path from 'node:path';
import { type AppConfig, ConfigError } from '../config';
import { redactUrlsInText } from '../redact';
import { connectFailure, hostPortOf, type RunningDatabase, startEmbeddedPostgres } from './postgres';
import { canReach, type DevServer, startDevServer } from './temporal-server';

/** Throws a ConfigError naming DATABASE_URL (host:port, password masked) when PostgreSQL there does not answer. */
export async function requireDatabase(url: string, hint: string): Promise<void> {
  const reason = await connectFailure(url);
  if (reason === null) return;
  throw new ConfigError(
    `DATABASE_URL is set, but PostgreSQL at ${hostPortOf(url)} cannot be used: ${reason}\n` +
      `  DATABASE_URL=${redactUrlsInText(url)}\n${hint}`,
  );
}

/** Throws a ConfigError naming TEMPORAL_ADDRESS when nothing answers there. */
export async function requireTemporal(address: string, hint: string): Promise<void> {
  if (await canReach(address)) return;
  throw new ConfigError(`TEMPORAL_ADDRESS is set, but no Temporal server answers at ${address}.\n${hint}`);
}

export interface Environment {
  databaseUrl: string;
  temporalAddress: string;
  /** Web UI address when we started the dev server. */
  uiUrl: string | null;
  started: string[];
  stop(): Promise<void>;
}

export async function bringUpEnvironment(config: AppConfig, log: (msg: string) => void): Promise<Environment> {
  const started: string[] = [];
  let database: RunningDatabase | undefined;
  let temporal: DevServer | undefined;
  const stop = async () => {
    await temporal?.stop();
    await database?.stop();
  };
  try {
    // Both configured servers are checked before anything is started.
    if (config.DATABASE_URL) {
      await requireDatabase(
        config.DATABASE_URL,
        'Start that server or fix DATABASE_URL; unset DATABASE_URL to use the embedded PostgreSQL ' +
          `(data in ${config.TEDI_DATA_DIR}/postgres).`,
      );
      log(`PostgreSQL: DATABASE_URL (${hostPortOf(config.DATABASE_URL)})`);
    }
    if (config.TEMPORAL_ADDRESS) {
      await requireTemporal(
        config.TEMPORAL_ADDRESS,
        'Start that server or fix TEMPORAL_ADDRESS; unset TEMPORAL_ADDRESS to use the Temporal dev server ' +
          `(history in ${config.TEDI_DATA_DIR}/temporal.db).`,
      );
      log(`Temporal: TEMPORAL_ADDRESS (${config.TEMPORAL_ADDRESS})`);
    }
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      database = await startEmbeddedPostgres({
        dataDir: path.join(config.TEDI_DATA_DIR, 'postgres'),
        port: config.EMBEDDED_PG_PORT,
      });
      databaseUrl = database.url;
      started.push(
        `embedded PostgreSQL on 127.0.0.1:${config.EMBEDDED_PG_PORT} (data in ${config.TEDI_DATA_DIR}/postgres)`,
      );
    }

    let temporalAddress = config.TEMPORAL_ADDRESS;
    let uiUrl: string | null = null;
    if (!temporalAddress) {
      temporal = await startDevServer({
        port: config.TEMPORAL_DEV_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile: path.join(config.TEDI_DATA_DIR, 'temporal.db'),
        namespace: config.TEMPORAL_NAMESPACE,
      });
      temporalAddress = temporal.address;
      uiUrl = temporal.uiUrl;
      started.push(
        `Temporal dev server on ${temporal.address} (pid ${temporal.pid}, history in ${config.TEDI_DATA_DIR}/temporal.db)`,
      );
    }
    return { databaseUrl, temporalAddress, uiUrl, started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
