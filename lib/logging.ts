// Structured logs: one JSON object per line, with the workflow and activity ids the SDK attaches
// (workflowId, runId, activityId, taskQueue...), so a log line leads straight to the run in the Web UI.
// Installed into the Temporal runtime before any connection exists, so SDK, workflow and activity logs
// all go through it.
import { DefaultLogger, type LogEntry, type LogLevel, Runtime } from '@temporalio/worker';

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

let installed = false;

/** Installs the JSON logger (once per process). `level` is LOG_LEVEL: debug | info | warn | error. */
export function installJsonLogging(level: string): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger(LEVELS[level] ?? 'INFO', (entry) => {
      const line = jsonLine(entry);
      if (entry.level === 'ERROR' || entry.level === 'WARN') process.stderr.write(`${line}\n`);
      else process.stdout.write(`${line}\n`);
    }),
  });
}
