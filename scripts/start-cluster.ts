// `npm run start:cluster` (or `TEDI_TEMPORAL=cluster npm start`): the production shape on this machine —
// the Temporal server built from the Go module proxy on PostgreSQL, the Web UI, one compiled worker process
// per task queue (two for agriculture), the read API — until Ctrl-C, which stops every process it started.
// TEDI's data is the same as `npm start`'s (DATABASE_URL, or the embedded PostgreSQL under TEDI_DATA_DIR);
// only Temporal differs: its history lives in PostgreSQL under TEDI_DATA_DIR/cluster/.
import { type AppConfig, ConfigError, loadConfig } from '../lib/config';
import { DEFAULT_TEMPORAL_PORTS, type TemporalServerPorts } from '../lib/infra/cluster/temporal-server-process';
import { requireDatabase } from '../lib/infra/environment';
import { isPortFree } from '../lib/infra/postgres';
import { startCluster, WORKER_RESTART_DELAY_MS } from './cluster/cluster';

const say = (msg: string) => console.log(`[tedi] ${msg}`);

/** The template's ports, with the frontend on TEMPORAL_DEV_PORT: the CLI finds this cluster where it finds the dev server. */
function temporalPorts(config: AppConfig): TemporalServerPorts {
  return { ...DEFAULT_TEMPORAL_PORTS, frontend: config.TEMPORAL_DEV_PORT };
}

/** Every port this mode listens on must be free first: a busy one names its variable and what holds it. */
async function requireFreePorts(config: AppConfig): Promise<void> {
  const wanted: [string, number][] = [
    ...Object.entries(temporalPorts(config)).map(([k, p]): [string, number] => [`Temporal ${k} port`, p]),
    ['TEDI_CLUSTER_PG_PORT', config.TEDI_CLUSTER_PG_PORT],
    ['TEMPORAL_UI_PORT', config.TEMPORAL_UI_PORT],
    ['TEDI_API_PORT', config.TEDI_API_PORT],
  ];
  if (!config.DATABASE_URL) wanted.push(['EMBEDDED_PG_PORT', config.EMBEDDED_PG_PORT]);
  const busy = [];
  for (const [name, port] of wanted) if (!(await isPortFree(port))) busy.push(`${name} (${port})`);
  if (busy.length) {
    throw new ConfigError(
      `The cluster mode cannot start: ${busy.join(', ')} already in use — an \`npm start\` or another cluster ` +
        "still running? Stop it (`ss -ltnp 'sport = :PORT'` shows its pid) or move the variable's port.",
    );
  }
}

export async function runCluster(config: AppConfig): Promise<void> {
  if (config.TEMPORAL_ADDRESS) {
    throw new ConfigError(
      `TEMPORAL_ADDRESS is set (${config.TEMPORAL_ADDRESS}), but the cluster mode runs a Temporal server of its own. ` +
        'Unset TEMPORAL_ADDRESS, or run on that server with `npm start` (or the worker processes of the compose file).',
    );
  }
  if (config.DATABASE_URL) {
    await requireDatabase(
      config.DATABASE_URL,
      'Start that server or fix DATABASE_URL; unset it to use the embedded PostgreSQL.',
    );
  }
  await requireFreePorts(config);
  const cluster = await startCluster({
    dataDir: config.TEDI_DATA_DIR,
    databaseUrl: config.DATABASE_URL,
    namespace: config.TEMPORAL_NAMESPACE,
    temporalPorts: temporalPorts(config),
    temporalPgPort: config.TEDI_CLUSTER_PG_PORT,
    appPgPort: config.EMBEDDED_PG_PORT,
    uiPort: config.TEMPORAL_UI_PORT,
    api: { host: config.TEDI_API_HOST, port: config.TEDI_API_PORT },
    log: say,
    // As compose's restart: unless-stopped: a worker that crashes is started again.
    restartWorkersAfterMs: WORKER_RESTART_DELAY_MS,
    // Workers' own JSON lines, tagged with the process: what `docker compose logs -f` shows.
    onProcessLine: (name, line) => console.log(`${name.padEnd(22)}| ${line}`),
  });
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const crash = (err: unknown) => {
    console.error('[tedi] fatal:', err);
    void cluster.stop().finally(() => process.exit(1));
  };
  process.once('uncaughtException', crash);
  process.once('unhandledRejection', crash);

  say(
    `Temporal: ${cluster.temporalAddress} (namespace ${cluster.namespace}), server log ${cluster.logDir}/temporal-server.log`,
  );
  if (cluster.uiUrl) say(`Web UI: ${cluster.uiUrl}/namespaces/${cluster.namespace}/schedules`);
  if (cluster.apiUrl) say(`Read API: ${cluster.apiUrl}/v1/sources, status page ${cluster.apiUrl}/status`);
  say(`Logs of every process: ${cluster.logDir}/`);
  say('Operator commands find this cluster as they find `npm start`: npm run tedi:prod -- versions list');
  say('Ctrl-C stops everything this command started.');
  await stopRequested;
  say('stopping (workers finish their current heartbeat window first)');
  await cluster.stop();
  say('stopped');
}

if (require.main === module) {
  runCluster(loadConfig()).catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}
