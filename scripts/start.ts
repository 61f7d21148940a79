// `npm start`: the whole scheduler on one machine (TEDI_TEMPORAL=cluster: the cluster mode instead, see
// scripts/start-cluster.ts). Uses DATABASE_URL / TEMPORAL_ADDRESS when they are
// set (and stops, naming the variable, when one does not answer), otherwise starts an embedded PostgreSQL
// and the Temporal dev server (data under .data/), then applies migrations, loads the catalog, ensures the schedules and runs the workers for
// all five task queues and the HTTP read API (TEDI_API_HOST:TEDI_API_PORT) until Ctrl-C, when it stops
// everything it started.
import { execFileSync } from 'node:child_process';
import { listenFromConfig } from '../api/listen';
import { ConfigError, loadConfig } from '../lib/config';
import { bringUpEnvironment } from '../lib/infra/environment';
import { installRuntime } from '../lib/logging';
import { nextRunsSummary } from '../operations/temporal/schedules';
import { startApplication } from '../workers/application';
import { runWorkers } from '../workers/create-workers';

const say = (msg: string) => console.log(`[tedi] ${msg}`);

async function main() {
  const config = loadConfig();
  if (config.TEDI_TEMPORAL === 'cluster') {
    // TEDI_TEMPORAL=cluster npm start is npm run start:cluster: its processes run the compiled build.
    execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
    const { runCluster } = await import('./start-cluster.js');
    return runCluster(config);
  }
  installRuntime({ logLevel: config.LOG_LEVEL, metricsBindAddress: config.TEDI_METRICS_BIND });
  const env = await bringUpEnvironment(config, say);
  for (const s of env.started) say(`started ${s}`);
  // Whatever goes wrong later, the servers this command started go down with it, never left orphaned.
  const crash = (err: unknown) => {
    console.error('[tedi] fatal:', err);
    void env.stop().finally(() => process.exit(1));
  };
  process.once('uncaughtException', crash);
  process.once('unhandledRejection', crash);
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    const app = await startApplication(config, {
      databaseUrl: env.databaseUrl,
      temporalAddress: env.temporalAddress,
      prepare: true,
      log: say,
    });
    let api: Awaited<ReturnType<typeof listenFromConfig>>;
    try {
      api = await listenFromConfig(config, app.db.pool);
    } catch (err) {
      await app.close();
      throw err;
    }
    say(`workers polling: ${app.workers.map((w) => w.options.taskQueue).join(', ')}`);
    say(`Temporal: ${env.temporalAddress} (namespace ${config.TEMPORAL_NAMESPACE})`);
    if (env.uiUrl) say(`Web UI: ${env.uiUrl}/namespaces/${config.TEMPORAL_NAMESPACE}/schedules`);
    if (config.TEDI_METRICS_BIND) say(`Metrics: http://${config.TEDI_METRICS_BIND}/metrics`);
    say(`Read API: ${api.url}/v1/sources (OpenAPI ${api.url}/openapi.json, interactive page ${api.url}/docs)`);
    say(`Status page: ${api.url}/status (run links into ${config.TEDI_TEMPORAL_UI_URL})`);
    // When the master checks next (its first run started when its schedule was created).
    for (const line of await nextRunsSummary(app.client)) say(line);
    say('Ctrl-C stops everything this command started.');
    try {
      await runWorkers(app.workers, stopRequested);
    } finally {
      // Stops taking connections and lets the requests in flight finish, before the pool closes.
      await api.close();
    }
    await app.close();
  } finally {
    say('stopping');
    await env.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
