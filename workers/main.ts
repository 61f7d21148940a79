// A standalone worker process (production, compose, `--scale`): polls the task queues named in
// TEDI_WORKER_QUEUES (default: all five) on the configured Temporal server and database.
import './v8-flags';
import { ConfigError, loadConfig } from '../lib/config';
import { requireDatabase, requireTemporal } from '../lib/infra/environment';
import { installRuntime } from '../lib/logging';
import { TASK_QUEUES, type TaskQueue } from '../lib/verticals';
import { startApplication } from './application';
import { runWorkers } from './create-workers';

async function main() {
  const config = loadConfig();
  installRuntime({ logLevel: config.LOG_LEVEL, metricsBindAddress: config.TEDI_METRICS_BIND });
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new ConfigError(
      'A standalone worker needs DATABASE_URL and TEMPORAL_ADDRESS. For a local all-in-one run use `npm start`.',
    );
  }
  // A worker that cannot reach its servers does not start: it would report "running" and fail every task.
  await requireDatabase(config.DATABASE_URL, 'A worker needs its database: start it or fix DATABASE_URL.');
  await requireTemporal(
    config.TEMPORAL_ADDRESS,
    'A worker needs its Temporal server: start it or fix TEMPORAL_ADDRESS.',
  );
  const queues = (config.TEDI_WORKER_QUEUES?.split(',') as TaskQueue[] | undefined) ?? [...TASK_QUEUES];
  const app = await startApplication(config, {
    databaseUrl: config.DATABASE_URL,
    temporalAddress: config.TEMPORAL_ADDRESS,
    prepare: false,
    queues,
  });
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // The readiness line, printed whatever LOG_LEVEL says (scripts and the memory bench wait for it), so it
  // does not go through the leveled logger.
  console.log(
    JSON.stringify({
      level: 'info',
      msg: 'workers running',
      queues,
      pid: process.pid,
      metrics: config.TEDI_METRICS_BIND ? `http://${config.TEDI_METRICS_BIND}/metrics` : null,
    }),
  );
  await runWorkers(app.workers, stop);
  await app.close();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
