// Wires the application onto a database and a Temporal server: migrations, the source catalog, search
// attributes, schedules and the workers for the chosen task queues. Used by `npm start`, the standalone
// worker process and the end-to-end tests, so all three run exactly the same code.
import './v8-flags';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { catalogSettings, loadCatalog } from '../catalog/load';
import type { AppConfig } from '../lib/config';
import { type Database, openDatabase } from '../lib/db';
import { resolveSecretKey } from '../lib/secrets';
import { SCHEDULER_QUEUE, TASK_QUEUES, type TaskQueue } from '../lib/verticals';
import { type Monitor, startMonitor } from '../operations/monitoring/monitor';
import { ensureAlertMonitor } from '../operations/temporal/alerts';
import { ensureFeedDispatcher } from '../operations/temporal/feed';
import { ensureOperatorConsole } from '../operations/temporal/operator-console';
import { ensureSchedules } from '../operations/temporal/schedules';
import { ensureSearchAttributes } from '../operations/temporal/search-attributes-admin';
import { applyMigrations } from '../prisma/migrator';
import { createWorkers } from './create-workers';

export interface ApplicationOptions {
  databaseUrl: string;
  temporalAddress: string;
  /** Apply migrations, load the catalog and ensure schedules (npm start); false for extra worker processes. */
  prepare: boolean;
  queues?: readonly TaskQueue[];
  log?: (msg: string) => void;
}

export interface Application {
  db: Database;
  client: Client;
  workers: Worker[];
  /** The monitoring job (gauges, missed ticks), in the process that polls the scheduler queue; else null. */
  monitor: Monitor | null;
  close(): Promise<void>;
}

export async function startApplication(config: AppConfig, opts: ApplicationOptions): Promise<Application> {
  const log = opts.log ?? (() => undefined);
  if (opts.prepare) {
    const migrated = await applyMigrations(opts.databaseUrl, { log });
    log(`migrations: ${migrated.applied.length} applied, ${migrated.alreadyApplied} already in place`);
  }
  const db = openDatabase(opts.databaseUrl);
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const nativeConnection = await NativeConnection.connect({ address: opts.temporalAddress });
  try {
    if (opts.prepare) {
      const { sources } = await loadCatalog(db.prisma, catalogSettings(config));
      log(`catalog: ${sources} sources`);
      const added = await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
      if (added.length) log(`search attributes registered: ${added.join(', ')}`);
      const schedules = await ensureSchedules(client, {
        masterInterval: config.TEDI_MASTER_INTERVAL,
        firstRunAtCreation: config.TEDI_MASTER_FIRST_RUN === 'at-creation',
        logRetentionDays: config.TEDI_LOG_RETENTION_DAYS,
        maxChildrenInFlight: config.TEDI_MAX_CHILDREN_IN_FLIGHT,
      });
      await ensureOperatorConsole(client);
      log(
        `schedules: ${Object.entries(schedules)
          .map(([id, o]) => `${id} ${o}`)
          .join(', ')}`,
      );
    }
    const queues = opts.queues ?? TASK_QUEUES;
    const workers = await createWorkers({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      deps: {
        db,
        secretKey: resolveSecretKey(config.TEDI_SECRET_KEY, config.TEDI_DATA_DIR),
        alertFrom: config.TEDI_ALERT_FROM,
      },
      queues,
    });
    // Catalog-wide gauges come from the process that runs the master scheduler (compose runs one).
    const monitor = queues.includes(SCHEDULER_QUEUE) ? startMonitor({ db, client }) : null;
    // The long-lived workflows (operator console, change feed dispatcher, alert monitor) run on the
    // scheduler queue; whichever process serves it makes sure they run, in every deployment shape.
    if (queues.includes(SCHEDULER_QUEUE)) {
      await ensureOperatorConsole(client);
      await ensureFeedDispatcher(client);
      await ensureAlertMonitor(client);
    }
    return {
      db,
      client,
      workers,
      monitor,
      async close() {
        await monitor?.stop();
        await nativeConnection.close();
        await connection.close();
        await db.close();
      },
    };
  } catch (err) {
    await nativeConnection.close();
    await connection.close();
    await db.close();
    throw err;
  }
}
