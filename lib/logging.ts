// The process's Temporal runtime: structured logs and, optionally, the Prometheus endpoint.
// Logs are one JSON object per line (lib/log.ts, pino), with the workflow and activity ids the SDK attaches
// (workflowId, runId, activityId, taskQueue...), so a log line leads straight to the run in the Web UI.
// Installed before any connection exists, so SDK, workflow and activity logs all go through it, and so
// that the SDK's metrics and TEDI's own (lib/monitoring) are served on one /metrics endpoint.
import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';
import type { DestinationStream, Logger } from 'pino';
import { createLogger, installLogger, withSerializedErrors } from './log';
import { METRIC_BUCKETS } from './monitoring/metrics';

const LEVELS: Record<string, LogLevel> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

/**
 * Fields the SDK attaches that are never written: an activity's task token (about 200 characters on every
 * activity line, and a credential: with it anyone can complete or fail the activity).
 */
const DROPPED_FIELDS = new Set(['taskToken']);

/** One SDK log entry written through `log`: its errors serialised with their causes, the token dropped. */
export function forwardEntry(log: Logger, entry: LogEntry): void {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry.meta ?? {})) {
    if (!DROPPED_FIELDS.has(key)) fields[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  const level = entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
  log[level](withSerializedErrors(fields), entry.message);
}

export interface RuntimeSettings {
  /** LOG_LEVEL: debug | info | warn | error. */
  logLevel: string;
  /** TEDI_METRICS_BIND, e.g. 127.0.0.1:9464; unset = no metrics endpoint. */
  metricsBindAddress?: string;
  /** Where log lines go (default: stdout, and stderr for WARN and ERROR). Tests capture them here. */
  destination?: DestinationStream;
}

let installed: RuntimeSettings | undefined;

/**
 * Installs the runtime once per process; later calls are no-ops and return the settings in force
 * (the runtime cannot be reconfigured once installed).
 */
export function installRuntime(settings: RuntimeSettings): RuntimeSettings {
  if (installed) return installed;
  const log = createLogger(settings.logLevel, settings.destination);
  installLogger(log);
  Runtime.install({
    logger: new DefaultLogger(LEVELS[settings.logLevel] ?? 'INFO', (entry) => forwardEntry(log, entry)),
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
