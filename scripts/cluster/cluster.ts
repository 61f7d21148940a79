// The production shape on one machine: the Temporal server on PostgreSQL (its own embedded instance, as
// compose gives Temporal a database server of its own), TEDI's database, the schema and migrate steps,
// then one process per worker of the topology, the read API and the Web UI — every TEDI process running
// the compiled JavaScript of `npm run build`, as in the Docker image. `npm run start:cluster` runs it until
// Ctrl-C; the cluster fault tests (test/cluster/) start it and break parts of it.
//
// The steps mirror the compose deployment's services one for one:
//   postgresql + temporal-admin-tools  -> Temporal's embedded PostgreSQL + setupTemporalSchemas
//   temporal                           -> startTemporalServer (the same config template and variables)
//   temporal-create-namespace          -> ensureNamespace + ensureSearchAttributes
//   app-db + tedi-migrate              -> TEDI's database + dist/scripts/migrate.js, tedi.js schedules ensure
//   tedi-worker-<queue>                -> one dist/workers/main.js process per WorkerProcessSpec
//   tedi-api, temporal-ui              -> dist/scripts/api.js, the Web UI server
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { type ManagedProcess, startManagedProcess, untilListening } from '../../lib/infra/cluster/managed-process';
import { buildTemporalBinaries, type TemporalBinaries } from '../../lib/infra/cluster/temporal-binaries';
import { type SqlEndpoint, setupTemporalSchemas } from '../../lib/infra/cluster/temporal-schema';
import {
  startTemporalServer,
  type TemporalServer,
  type TemporalServerPorts,
} from '../../lib/infra/cluster/temporal-server-process';
import { startTemporalUi } from '../../lib/infra/cluster/temporal-ui';
import { type RunningDatabase, startEmbeddedPostgres } from '../../lib/infra/postgres';
import { projectPath } from '../../lib/paths';
import { resolveSecretKey } from '../../lib/secrets';
import { ensureNamespace } from '../../operations/temporal/namespace';
import { ensureSearchAttributes } from '../../operations/temporal/search-attributes-admin';
import { clusterWorkers, type WorkerProcessSpec } from './topology';

export interface ClusterOptions {
  /** TEDI's data directory (TEDI_DATA_DIR): the secret key, TEDI's embedded PostgreSQL, and cluster/ for Temporal's. */
  dataDir: string;
  /** TEDI's database when it is not the embedded one (DATABASE_URL). */
  databaseUrl?: string;
  namespace: string;
  temporalPorts: TemporalServerPorts;
  temporalPgPort: number;
  appPgPort: number;
  /** null: no Web UI. */
  uiPort: number | null;
  /** null: no read API process. */
  api: { host: string; port: number } | null;
  workers?: WorkerProcessSpec[];
  /** Settings for every TEDI process (passed as their environment, over the caller's). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Each child's output line, tagged with its name (the launcher prints them; tests keep them in files). */
  onProcessLine?: (name: string, line: string) => void;
  /**
   * A worker process that exits without being asked is started again after this delay, as compose's
   * `restart: unless-stopped` does; omitted = left down (the fault tests kill workers on purpose).
   */
  restartWorkersAfterMs?: number;
}

export interface WorkerProcess extends ManagedProcess {
  spec: WorkerProcessSpec;
}

export interface Cluster {
  temporalAddress: string;
  databaseUrl: string;
  namespace: string;
  uiUrl: string | null;
  apiUrl: string | null;
  binaries: TemporalBinaries;
  /** Where each process writes its log. */
  logDir: string;
  temporalServer(): ManagedProcess;
  /** Stops the Temporal server (SIGTERM, or SIGKILL for a crash) and starts it again on the same database. */
  restartTemporalServer(how: 'stop' | 'kill'): Promise<void>;
  /** TEDI's database (embedded only): stop it, and start it again on the same data. */
  stopDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  workers(): WorkerProcess[];
  startWorker(spec: WorkerProcessSpec): Promise<WorkerProcess>;
  /** Stops everything it started, last started first. */
  stop(): Promise<void>;
}

const POSTGRES_USER = 'postgres';
/** The embedded servers' password (lib/infra/postgres.ts): loopback-only servers of this machine. */
const EMBEDDED_PASSWORD = 'tedi-local';
/** As compose's stop_grace_period for the workers: running activities finish their heartbeat window. */
export const WORKER_STOP_GRACE_MS = 30_000;
/** The launcher's wait before it starts a crashed worker again (README: "after 2 s"). */
export const WORKER_RESTART_DELAY_MS = 2_000;
const WORKER_READY_TIMEOUT_MS = 120_000;

/** A compiled entry point; `npm run build` makes them. */
export function compiledEntry(...segments: string[]): string {
  const file = projectPath('dist', ...segments);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: the cluster mode runs compiled JavaScript, run \`npm run build\` first.`);
  }
  return file;
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const clusterDir = path.join(dataDir, 'cluster');
  const logDir = path.join(clusterDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const stack: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    while (stack.length)
      await stack
        .pop()?.()
        .catch((err) => log(`while stopping: ${String(err)}`));
  };
  const spawnTedi = (name: string, entry: string, args: string[], env: NodeJS.ProcessEnv) =>
    startManagedProcess({
      name,
      command: process.execPath,
      args: [entry, ...args],
      cwd: projectPath(),
      env,
      logFile: path.join(logDir, `${name}.log`),
      onLine: (line) => opts.onProcessLine?.(name, line),
    });

  try {
    const entries = {
      worker: compiledEntry('workers', 'main.js'),
      migrate: compiledEntry('scripts', 'migrate.js'),
      tedi: compiledEntry('scripts', 'tedi.js'),
      api: compiledEntry('scripts', 'api.js'),
    };
    const binaries = await buildTemporalBinaries(log);

    // Temporal's database server: schemas by temporal-sql-tool, as compose's admin-tools job.
    const temporalDb = await startEmbeddedPostgres({
      dataDir: path.join(clusterDir, 'temporal-postgres'),
      port: opts.temporalPgPort,
      database: 'postgres',
    });
    stack.push(() => temporalDb.stop());
    const sql: SqlEndpoint = {
      host: '127.0.0.1',
      port: opts.temporalPgPort,
      user: POSTGRES_USER,
      password: EMBEDDED_PASSWORD,
    };
    await setupTemporalSchemas(binaries, sql);
    log(`Temporal's PostgreSQL on 127.0.0.1:${opts.temporalPgPort} (schemas of server ${binaries.versions.server})`);

    const serverSettings = {
      sql,
      ports: opts.temporalPorts,
      dynamicConfigFile: projectPath('deploy', 'temporal', 'dynamicconfig.yaml'),
    };
    const serverLog = path.join(logDir, 'temporal-server.log');
    let server: TemporalServer = await startTemporalServer(binaries, serverSettings, { logFile: serverLog });
    stack.push(() => server.process.stop());
    log(
      `Temporal server ${binaries.versions.server} on ${server.address} (pid ${server.process.pid}, log ${serverLog})`,
    );

    const connection = await Connection.connect({ address: server.address });
    try {
      if (await ensureNamespace(connection, opts.namespace)) log(`namespace ${opts.namespace} created`);
      const added = await ensureSearchAttributes(connection, opts.namespace);
      if (added.length) log(`search attributes registered: ${added.join(', ')}`);
    } finally {
      await connection.close();
    }

    // TEDI's database: DATABASE_URL, or the embedded one `npm start` uses too (the same data in both modes).
    let appDb: RunningDatabase | null = null;
    const startAppDb = async () => {
      appDb = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres'), port: opts.appPgPort });
    };
    if (!opts.databaseUrl) {
      await startAppDb();
      stack.push(async () => {
        await appDb?.stop();
      });
    }
    const databaseUrl =
      opts.databaseUrl ?? `postgresql://${POSTGRES_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${opts.appPgPort}/tedi`;

    // Created once here, read by every process: two workers must not each generate a key of their own.
    resolveSecretKey(opts.env?.TEDI_SECRET_KEY ?? process.env.TEDI_SECRET_KEY, dataDir);
    const tediEnv: NodeJS.ProcessEnv = {
      ...withoutPlacement({ ...process.env, ...opts.env }),
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: opts.namespace,
      TEDI_DATA_DIR: dataDir,
    };

    // compose's tedi-migrate job, command for command.
    for (const [name, entry, args] of [
      ['migrate', entries.migrate, []],
      ['schedules', entries.tedi, ['schedules', 'ensure']],
    ] as const) {
      const job = spawnTedi(name, entry, [...args], tediEnv);
      const code = await job.exited;
      if (code !== 0) throw new Error(`${name} failed (${code}); see ${job.logFile}:\n${job.tail()}`);
    }
    log('migrations applied, catalog loaded, schedules ensured');

    const workers: WorkerProcess[] = [];
    let stopping = false;
    const startWorker = async (spec: WorkerProcessSpec): Promise<WorkerProcess> => {
      const child = spawnTedi(spec.name, entries.worker, [], { ...tediEnv, TEDI_WORKER_QUEUES: spec.queues.join(',') });
      const worker: WorkerProcess = Object.assign(child, { spec });
      workers.push(worker);
      void child.exited.then((code) => {
        if (stopping) return;
        log(`${spec.name} (pid ${child.pid}) exited unexpectedly (${code}); its log: ${child.logFile}`);
        const delay = opts.restartWorkersAfterMs;
        if (delay === undefined) return;
        setTimeout(() => {
          if (stopping) return;
          startWorker(spec).then(
            (again) => log(`${spec.name} started again (pid ${again.pid})`),
            (err) => log(`${spec.name} did not start again: ${String(err)}`),
          );
        }, delay);
      });
      await child.waitForLine(/"msg":"workers running"/, WORKER_READY_TIMEOUT_MS);
      return worker;
    };
    stack.push(async () => {
      stopping = true;
      await Promise.all(workers.map((w) => w.stop(WORKER_STOP_GRACE_MS)));
    });
    await Promise.all((opts.workers ?? clusterWorkers()).map(startWorker));
    log(`workers: ${workers.map((w) => `${w.name} (pid ${w.pid})`).join(', ')}`);

    let apiUrl: string | null = null;
    if (opts.api) {
      const api = spawnTedi('api', entries.api, [], {
        ...tediEnv,
        TEDI_API_HOST: opts.api.host,
        TEDI_API_PORT: String(opts.api.port),
      });
      stack.push(() => api.stop(15_000));
      await untilListening(api, `${opts.api.host}:${opts.api.port}`, 60_000);
      apiUrl = `http://${opts.api.host}:${opts.api.port}`;
    }

    let uiUrl: string | null = null;
    if (opts.uiPort !== null) {
      if (binaries.uiServer) {
        const ui = await startTemporalUi(binaries.uiServer, {
          temporalAddress: server.address,
          port: opts.uiPort,
          namespace: opts.namespace,
          dir: clusterDir,
        });
        stack.push(() => ui.process.stop(5_000));
        uiUrl = ui.url;
      } else {
        log('the Temporal Web UI server did not build on this machine: running without the Web UI');
      }
    }

    return {
      temporalAddress: server.address,
      databaseUrl,
      namespace: opts.namespace,
      uiUrl,
      apiUrl,
      binaries,
      logDir,
      temporalServer: () => server.process,
      async restartTemporalServer(how) {
        if (how === 'kill') await server.process.kill();
        else await server.process.stop();
        server = await startTemporalServer(binaries, serverSettings, { logFile: serverLog });
      },
      async stopDatabase() {
        if (!appDb) throw new Error('TEDI’s database is DATABASE_URL, not one this cluster started');
        await appDb.stop();
      },
      startDatabase: startAppDb,
      workers: () => workers.filter((w) => w.running()),
      startWorker,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The caller's own placement variables would point the children elsewhere; the cluster sets its own. */
function withoutPlacement(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const name of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEDI_WORKER_QUEUES', 'TEDI_METRICS_BIND', 'TEDI_TEMPORAL'])
    delete rest[name];
  return rest;
}
