// The process's Temporal runtime: structured logs and, optionally, the Prometheus endpoint.
// Logs are one JSON object per line, with the workflow and activity ids the SDK attaches (workflowId,
// runId, activityId, taskQueue...), so a log line leads straight to the run in the Web UI.
// Installed before any connection exists, so SDK, workflow and activity logs all go through it, and so
// that the SDK's metrics and TEDI's own (lib/monitoring) are served on one /metrics endpoint.
import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';
import { METRIC_BUCKETS } from './monitoring/metrics';

const LEVELS: Record<string, LogLevel> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

export function jsonLine(entry: LogEntry): string {
  const { message, level, timestampNanos, meta } = entry;
  return JSON.stringify(
    {
      ts: new Date(Number(timestampNanos / 1_000_000n)).toISOString(),
      level: level.toLowerCase(),
      msg: message,
      ...meta,
    },
    (_key, value) => (typeof value === 'bigint' ? value.toString() : value),
  );
}

export interface RuntimeSettings {
  /** LOG_LEVEL: debug | info | warn | error. */
  logLevel: string;
  /** TEDI_METRICS_BIND, e.g. 127.0.0.1:9464; unset = no metrics endpoint. */
  metricsBindAddress?: string;
}

let installed: RuntimeSettings | undefined;

/**
 * Installs the runtime once per process; later calls are no-ops and return the settings in force
 * (the runtime cannot be reconfigured once installed).
 */
export function installRuntime(settings: RuntimeSettings): RuntimeSettings {
  if (installed) return installed;
  Runtime.install({
    logger: new DefaultLogger(LEVELS[settings.logLevel] ?? 'INFO', (entry) => {
      const line = jsonLine(entry);
      if (entry.level === 'ERROR' || entry.level === 'WARN') process.stderr.write(`${line}\n`);
      else process.stdout.write(`${line}\n`);
    }),
    telemetryOptions: settings.metricsBindAddress
      ? {
          metrics: {
            metricPrefix: 'temporal_',
            prometheus: {
              bindAddress: settings.metricsBindAddress,
              // Prometheus convention: durations in seconds (the SDK's default is milliseconds).
              useSecondsForDurations: true,
              histogramBucketOverrides: METRIC_BUCKETS,
            },
          },
        }
      : undefined,
  });
  installed = settings;
  return installed;
}
