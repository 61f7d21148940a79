// Starting one ingestion from the CLI (`trigger`, `import`) and waiting for it: the workflow's `progress`
// query is polled and drawn as a bar on a terminal, or as one line per change otherwise (pipes, CI, --json),
// always on stderr so stdout carries only the result. While a stage is being retried, the line says so:
// attempt n of N, when the next attempt starts and how the last one failed (from Temporal's pending
// activities: operations/temporal/pending-retry.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { type Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Running } from '../../lib/infra/running';
import { type PendingRetry, pendingRetry } from '../../operations/temporal/pending-retry';
import { type ManualTrigger, StartRefused, startManualIngestion } from '../../operations/temporal/start-ingestion';
import { type IngestionProgress, type IngestionStage, ingestionProgressQuery } from '../../workflows/definitions';
import type { IngestResult, ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { OperationFailed, rootMessage, UsageError } from './errors';
import { shortFailure } from './failure-text';
import { formatCount, formatDuration, notice, printJson } from './output';

const STEPS: readonly IngestionStage[] = ['starting', 'probe', 'fetch', 'load', 'finishing', 'done'];
const POLL_MS = 400;
/** A query needs a worker to answer; one that is busy or gone must not stall the display. */
const QUERY_TIMEOUT_MS = 3000;
/** Unanswered this long, the run most likely has no worker: say so once, and keep waiting. */
const SILENCE_NOTICE_MS = 15_000;

/** A retry as one phrase: `attempt 3 of 5, next at 15:20:31Z, last failure: SourceUnavailable: …`. */
export function describeRetry(r: PendingRetry, now?: Date): string {
  const parts = [`attempt ${r.attempt}${r.maximumAttempts ? ` of ${r.maximumAttempts}` : ''}`];
  if (r.nextAttemptAt) {
    // The countdown only where the line is redrawn in place; a printed line must not change every poll.
    const wait = now ? ` (in ${formatDuration(Math.max(0, r.nextAttemptAt.getTime() - now.getTime()))})` : '';
    parts.push(`next at ${r.nextAttemptAt.toISOString().slice(11, 19)}Z${wait}`);
  }
  if (r.lastFailure) parts.push(`last failure: ${shortFailure(r.lastFailure)}`);
  return parts.join(', ');
}

export function describeProgress(p: IngestionProgress, retry: PendingRetry | null = null, now?: Date): string {
  const parts: string[] = [p.stage];
  if (retry && p.stage !== 'done') parts.push(describeRetry(retry, now));
  if (p.recordsFetched !== null) parts.push(`${formatCount(p.recordsFetched)} records fetched`);
  if (p.rowsTransformed !== null) parts.push(`${formatCount(p.rowsTransformed)} rows transformed`);
  if (p.revision !== null) parts.push(`revision ${p.revision}`);
  if (p.stage === 'done' && p.outcome) parts.push(p.outcome);
  return parts.join(', ');
}

export function progressBar(p: IngestionProgress, width = 24, retry: PendingRetry | null = null, now?: Date): string {
  const step = Math.max(0, STEPS.indexOf(p.stage));
  const filled = Math.round((step / (STEPS.length - 1)) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${STEPS.length - 1}`;
  return `${bar} ${describeProgress(p, retry, now)}`;
}

class ProgressDisplay {
  private lastLine = '';
  private drawn = false;

  constructor(private readonly live: boolean) {}

  show(p: IngestionProgress, retry: PendingRetry | null, elapsedMs: number): void {
    if (this.live) {
      const line = `${progressBar(p, 24, retry, new Date())}  ${formatDuration(elapsedMs)}`;
      // One terminal line: a long failure message would wrap and break the redraw.
      const columns = process.stderr.columns || 120;
      process.stderr.write(`\r\x1b[2K${line.length > columns ? `${line.slice(0, columns - 1)}…` : line}`);
      this.drawn = true;
      return;
    }
    const line = describeProgress(p, retry);
    if (line !== this.lastLine) notice(`progress: ${line}`);
    this.lastLine = line;
  }

  end(): void {
    if (this.drawn) process.stderr.write('\n');
  }
}

type IngestionHandle = WorkflowHandle<typeof ingestDatasetVersion>;

/** Resolves with the ingestion's result, showing its progress until then. */
export async function followIngestion(client: Client, handle: IngestionHandle, json: boolean): Promise<IngestResult> {
  const display = new ProgressDisplay(process.stderr.isTTY === true && !json);
  const started = Date.now();
  let answered = false;
  let warned = false;
  let finished = false;
  const result = handle.result().finally(() => {
    finished = true;
  });
  const settled = result.then(
    () => undefined,
    () => undefined,
  );
  try {
    while (!finished) {
      const [progress, retry] = await Promise.all([
        client
          .withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => handle.query(ingestionProgressQuery))
          // Before its first workflow task the run cannot answer; the next poll will.
          .catch(() => null),
        // Answered by the server, not a worker: a stage being retried shows even while no worker is free.
        client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => pendingRetry(handle)).catch(() => null),
      ]);
      if (progress && !finished) display.show(progress, retry, Date.now() - started);
      answered ||= progress !== null;
      if (!answered && !warned && Date.now() - started > SILENCE_NOTICE_MS) {
        warned = true;
        notice(
          `no worker has picked up ${handle.workflowId} yet: are the TEDI workers running? ` +
            '(Ctrl-C stops waiting; the ingestion stays queued)',
        );
      }
      await Promise.race([settled, sleep(POLL_MS)]);
    }
    return await result;
  } finally {
    display.end();
  }
}

export function summarize(r: IngestResult): string {
  const counts = `${formatCount(r.recordsAdded)} added, ${formatCount(r.recordsUpdated)} updated, ${formatCount(r.recordsRemoved)} removed, ${formatCount(r.recordsSkipped)} unchanged, ${formatCount(r.recordsRejected)} rejected`;
  switch (r.status) {
    case 'success':
      return `success: revision ${r.revision}; ${counts}${r.reason ? ` (${r.reason})` : ''}`;
    case 'no_change':
      return `no change${r.reason ? ` (${r.reason})` : ''}; still revision ${r.revision ?? '-'}`;
    case 'skipped':
      return `skipped: ${r.reason ?? 'not checkable'}. Pass --force to ingest anyway.`;
    default:
      return `${r.status}${r.reason ? `: ${r.reason}` : ''}`;
  }
}

/** Starts the ingestion; unless `wait` is false, follows it and prints its result. A failed run throws. */
export async function runIngestion(
  running: Running,
  request: ManualTrigger,
  opts: { wait: boolean; json: boolean },
): Promise<void> {
  const handle = await startManualIngestion(running.client, running.db, request).catch((err) => {
    // Refused before anything started (nothing counts toward the breaker): the command was wrong, exit 2.
    throw err instanceof StartRefused ? new UsageError(err.message) : err;
  });
  const started = { workflowId: handle.workflowId };
  if (!opts.wait) {
    if (opts.json) printJson({ ...started, status: 'started' });
    else console.log(`started ${handle.workflowId}`);
    return;
  }
  notice(`started ${handle.workflowId}`);
  try {
    const result = await followIngestion(running.client, handle, opts.json);
    if (opts.json) printJson({ ...started, ...result });
    else console.log(`${handle.workflowId}: ${summarize(result)}`);
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const error = rootMessage(err);
    if (opts.json) printJson({ ...started, status: 'failed', error });
    throw new OperationFailed(`${handle.workflowId} failed: ${error}`);
  }
}
