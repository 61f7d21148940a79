// Brings up what the application runs on: the configured PostgreSQL and Temporal when they are set and
// reachable, otherwise an embedded PostgreSQL and the Temporal dev server, both keeping their data under
// the data directory. Returns one stop() that ends only what this process started.
import path from 'node:path';
import type { AppConfig } from '../config';
import { canConnect, type RunningDatabase, startEmbeddedPostgres } from './postgres';
import { canReach, type DevServer, startDevServer } from './temporal-server';

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
    let databaseUrl = config.DATABASE_URL;
    if (databaseUrl && !(await canConnect(databaseUrl))) {
      log(`DATABASE_URL is set but not reachable; starting the embedded PostgreSQL instead`);
      databaseUrl = undefined;
    }
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
    if (temporalAddress && !(await canReach(temporalAddress))) {
      log(`TEMPORAL_ADDRESS=${temporalAddress} is not reachable; starting the Temporal dev server instead`);
      temporalAddress = undefined;
    }
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
