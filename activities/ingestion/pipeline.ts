// The data stages of an ingestion, each a Temporal activity with its own retries:
//   probe – the source's cheap change signal, before any data moves;
//   stage – one streamed pass: source bytes → parse → validate/transform → canonical rows, written to a
//           local spool file while the content checksum is computed; an unchanged snapshot stops there
//           (nothing is written to PostgreSQL), a changed one is COPYed into the run's staging table;
//   load  – merge the staged rows into the versioned store as a new revision, in one transaction.
// Every stage returns a small summary: data never enters workflow history. Every stage is keyed by the
// run's ingest key, so a retry after a crash redoes its work exactly once. The load checks the staging
// table against the count the stage recorded: staging that PostgreSQL emptied in crash recovery (it is
// UNLOGGED) fails as StagingLost, and the workflow stages again.
import path from 'node:path';
import { activityInfo, heartbeat, metricMeter } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import { FailureType } from '../../lib/failures';
import { recordBytesFetched } from '../../lib/monitoring/metrics';
import { removeSpoolDir, runSpoolDir, sweepStaleRunSpoolDirs } from '../../sources/kit/spool';
import type { EventInput } from '../../sources/kit/types';
import { ResumeMismatch, type ResumePoint, RowRejected } from '../../sources/kit/types';
import type { ActivityDeps } from '../deps';
import { mergeStagedRevision, StagingMismatch } from '../store/merge-revision';
import { SpoolWriter } from '../store/spool-writer';
import { stageFromSpool, stagingRow, stagingTableFor } from '../store/staging';
import { type RejectedRow, recordRejects } from './audit-log';
import { ContentChecksum } from './content-checksum';
import { guardDatabase } from './database-failure';
import { currentIngestKey } from './ingest-key';
import { asPayloadFailure } from './payload-failure';
import { rowHash } from './row-hash';
import { prepareSource, snapshotPolicyOf } from './source-context';
import { attemptSpoolFile, resumableCheckpoint, type StageCheckpoint } from './stage-resume';
import { assertStorable, unstorableReason } from './storable';
import { testPoint } from './test-points';
import type { LoadSummary, ProbeSummary, StageSummary } from './types';

/** Rejected rows kept (row number + reason) in the log row. */
const REJECT_SAMPLE = 50;
/** Rejected rows a checkpoint carries over to a resumed attempt (heartbeat details stay small). */
const CHECKPOINT_REJECTS = 10;
/** A run's spool folder untouched this long belongs to a run that never came back: removed. */
const STALE_STAGE_SPOOL_MS = 6 * 3600_000;
/** Above this share of rejected rows the ingestion fails and the current revision stays as it is. */
export const DEFAULT_MAX_REJECT_RATIO = 0.1;
/** How often the load, one long transaction, tells Temporal its worker is alive (more often under a short timeout). */
const LOAD_HEARTBEAT_MS = 5000;

/** True when `rejected` of `total` records is more than the allowed share (the TooManyRejects rule). */
export function tooManyRejects(rejected: number, total: number, maxRatio = DEFAULT_MAX_REJECT_RATIO): boolean {
  return total > 0 && rejected / total > maxRatio;
}

async function inTransaction<T>(deps: ActivityDeps, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await deps.db.pool.connect();
  // A connection lost while the client is checked out is emitted as 'error' on the client; unheard, it is an
  // uncaught exception that kills the worker process. Heard, it only fails this attempt (the query rejects).
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    // A broken client is destroyed rather than handed to the next caller.
    client.release(lost);
  }
}

function stagingLost(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `${message}: staging was lost (e.g. PostgreSQL restarted and emptied its unlogged staging tables); ` +
      'the ingestion stages the snapshot again',
    FailureType.StagingLost,
  );
}

/** Heartbeats every few seconds while `work` runs, so a dead worker is noticed within the heartbeat timeout. */
async function withHeartbeat<T>(details: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  heartbeat(details);
  const timeout = activityInfo().heartbeatTimeoutMs;
  const every = timeout ? Math.min(LOAD_HEARTBEAT_MS, timeout / 3) : LOAD_HEARTBEAT_MS;
  const timer = setInterval(() => heartbeat(details), every);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function pipelineActivities(deps: ActivityDeps) {
  async function probeSource(input: { datasetVersionId: number; event?: EventInput }): Promise<ProbeSummary> {
    return guardDatabase('probe', async () => {
      const { connector, ctx } = await prepareSource(deps, input.datasetVersionId, input.event);
      const probe = await connector.probe(ctx);
      return { token: probe.token, note: probe.note ?? null };
    });
  }

  async function stageSnapshot(input: {
    datasetVersionId: number;
    logId: string;
    /** The current revision's content checksum: the same again means nothing is staged. */
    lastChecksum: string | null;
    /** Stage even when the checksum is unchanged (the load then decides, row by row). */
    force?: boolean;
    maxRejectRatio?: number;
    event?: EventInput;
  }): Promise<StageSummary> {
    return guardDatabase('fetch', async () => {
      const { ingestKey } = currentIngestKey();
      const { connector, ctx, bytesFetched } = await prepareSource(deps, input.datasetVersionId, input.event);
      // The same folder on every attempt of this run in this process, so a retry can resume (stage-resume.ts).
      sweepStaleRunSpoolDirs('stage', STALE_STAGE_SPOOL_MS);
      const dir = await runSpoolDir('stage', ingestKey);
      const file = attemptSpoolFile(dir, activityInfo().attempt);
      const resumed = resumableCheckpoint(activityInfo().heartbeatDetails, dir, file);
      let checksum = resumed ? ContentChecksum.from(resumed.checksum) : new ContentChecksum();
      let rejects: RejectedRow[] = resumed ? [...resumed.rejects] : [];
      let records = resumed?.records ?? 0;
      let rejected = resumed?.rejected ?? 0;
      const reject = (record: number, reason: string) => {
        rejected++;
        if (rejects.length < REJECT_SAMPLE) rejects.push({ row: record, reason: reason.slice(0, 300) });
      };
      let spool = new SpoolWriter(file, resumed?.spool);
      let checkpoint: StageCheckpoint | undefined = resumed ?? undefined;
      // Every heartbeat, the connector's per-page ones included, says how far the pass got, so
      // `temporal workflow describe` and the CLI can show progress; each carries the last checkpoint.
      const fetchCtx: typeof ctx = {
        ...ctx,
        heartbeat: (details: Record<string, unknown>) =>
          ctx.heartbeat({ stage: 'fetch', ...details, records, rows: spool.rows, rejected, resume: checkpoint }),
        checkpoint: async (point) => {
          await spool.sync();
          const at = { file: path.basename(file), bytes: spool.bytes, rows: spool.rows };
          const sample = rejects.slice(0, CHECKPOINT_REJECTS);
          checkpoint = { format: 1, point, spool: at, records, rejected, rejects: sample, checksum: checksum.state() };
          fetchCtx.heartbeat({ checkpoint: point });
        },
      };
      if (resumed) ctx.log('resuming the fetch from the last checkpoint', { ...resumed.point, rows: spool.rows });
      let keepForRetry = false;
      try {
        // The whole pass over the source, from `from` (a checkpoint) or from the beginning.
        const readSource = async (from: ResumePoint | undefined) => {
          for await (const record of connector.fetch({ ...fetchCtx, resume: from })) {
            records++;
            if (records % 10000 === 0) fetchCtx.heartbeat({});
            if (records === 10) await testPoint('stage:mid');
            const unstorable = unstorableReason(record);
            if (unstorable) {
              reject(records, unstorable);
              continue;
            }
            let produced: ReturnType<typeof connector.transform>;
            try {
              produced = connector.transform(record, ctx.params);
              for (const row of produced) assertStorable(row);
            } catch (err) {
              if (!(err instanceof RowRejected)) throw err;
              reject(records, err.message);
              continue;
            }
            for (const row of produced) {
              const hash = rowHash(row);
              checksum.add(hash);
              const flushed = spool.write(stagingRow(spool.rows + 1, records, row, hash));
              if (flushed) await flushed;
            }
          }
        };
        try {
          try {
            await readSource(resumed?.point);
          } catch (err) {
            if (!(err instanceof ResumeMismatch)) throw err;
            // The source's requests are not the ones the checkpoint counted (e.g. periods derived from today's
            // date moved on): what was kept cannot be continued, so this attempt reads everything afresh.
            ctx.log('the checkpoint no longer matches the requests; reading from the beginning', {
              reason: err.message,
            });
            spool.abandon();
            spool = new SpoolWriter(file);
            checksum = new ContentChecksum();
            rejects = [];
            records = 0;
            rejected = 0;
            checkpoint = undefined;
            await readSource(undefined);
          }
          await spool.close();
        } catch (err) {
          const failure = asPayloadFailure(err, ctx.sourceName);
          // A retry may resume from the checkpoint: keep what this attempt wrote, unless it cannot come back.
          keepForRetry = checkpoint !== undefined && !(failure instanceof ApplicationFailure && failure.nonRetryable);
          throw failure;
        } finally {
          recordBytesFetched(metricMeter, ctx.sourceName, bytesFetched());
        }

        // Rejected rows go to the log with row number and reason, never silently dropped.
        if (rejected > 0) {
          await recordRejects(deps.db, input.logId, rejected, rejects);
        }
        const maxRatio = input.maxRejectRatio ?? DEFAULT_MAX_REJECT_RATIO;
        if (tooManyRejects(rejected, records, maxRatio)) {
          const first = rejects[0];
          throw ApplicationFailure.nonRetryable(
            `${ctx.sourceName}: ${rejected} of ${records} records failed validation (more than ${Math.round(maxRatio * 100)}%); ` +
              `the current version is left unchanged. First: record ${first?.row}: ${first?.reason}`,
            FailureType.TooManyRejects,
          );
        }
        const summary = { records, bytes: bytesFetched(), rows: spool.rows, rejected, checksum: checksum.digest() };
        if (!input.force && summary.checksum === input.lastChecksum) {
          return { ...summary, stagingTable: null };
        }
        const table = stagingTableFor(ingestKey);
        const staged = await inTransaction(deps, async (client) => {
          const n = await stageFromSpool(client, table, spool.file);
          await testPoint('stage:before-commit');
          return n;
        });
        if (staged !== spool.rows) {
          throw stagingLost(`${ctx.sourceName}: COPY staged ${staged} rows of the ${spool.rows} written`);
        }
        return { ...summary, stagingTable: table };
      } finally {
        spool.abandon();
        if (!keepForRetry) await removeSpoolDir(dir);
      }
    });
  }

  async function loadRevision(input: {
    datasetVersionId: number;
    /** The run's staging table, as the stage returned it. */
    stagingTable: string;
    checksum: string;
    probeToken: string | null;
    /** Rows the transform stage staged, and how many records it rejected. */
    expectedRows: number;
    rejectedRows: number;
    /** An operator accepts, for this run, an empty or shrunken snapshot the guards would refuse. */
    acceptRemovals?: boolean;
  }): Promise<LoadSummary> {
    return guardDatabase('load', async () => {
      await testPoint('load:start');
      const { ingestKey } = currentIngestKey();
      const { sourceName, policy } = await snapshotPolicyOf(deps, input.datasetVersionId);
      return withHeartbeat({ stage: 'load' }, async () => {
        const loaded = await inTransaction(deps, async (client) => {
          const merged = await mergeStagedRevision(client, {
            ingestKey,
            stagingTable: input.stagingTable,
            datasetVersionId: input.datasetVersionId,
            sourceName,
            checksum: input.checksum,
            probeToken: input.probeToken,
            expectedRows: input.expectedRows,
            rejectedRows: input.rejectedRows,
            policy,
            acceptRemovals: input.acceptRemovals ?? false,
          });
          await testPoint('load:before-commit');
          return merged;
        });
        await testPoint('load:after-commit');
        return loaded;
      }).catch((err) => {
        if (err instanceof StagingMismatch) throw stagingLost(`${sourceName}: ${err.message}`);
        throw err;
      });
    });
  }

  return { probeSource, stageSnapshot, loadRevision };
}
