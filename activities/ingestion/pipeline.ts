// The four data stages of an ingestion, each a Temporal activity with its own retries:
//   probe     – the source's cheap change signal, before any data moves;
//   fetch     – stream raw records from the source into staged_records (COPY);
//   transform – validate each raw record (zod) into canonical rows in staged_observations (COPY);
//   load      – merge staged rows into the versioned store as a new revision, in one transaction.
// Every stage reads and writes PostgreSQL and returns a small summary: data never enters workflow history.
// Every stage is keyed by the run's ingest key, so a retry after a crash redoes its work exactly once.
// Every stage checks its input against what the previous stage recorded: staging that PostgreSQL emptied
// in crash recovery (the tables are UNLOGGED) fails as StagingLost, and the workflow starts over from fetch.
import crypto from 'node:crypto';
import { heartbeat, metricMeter } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PoolClient } from 'pg';
import { FailureType } from '../../lib/failures';
import { recordBytesFetched } from '../../lib/monitoring/metrics';
import type { EventInput } from '../connectors/types';
import { RowRejected } from '../connectors/types';
import type { ActivityDeps } from '../deps';
import { copyRows } from '../store/copy-rows';
import { mergeStagedRevision, StagingMismatch } from '../store/merge-revision';
import { guardDatabase } from './database-failure';
import { currentIngestKey } from './ingest-key';
import { asPayloadFailure } from './payload-failure';
import { rowHash } from './row-hash';
import { prepareSource } from './source-context';
import { assertStorable, unstorableReason } from './storable';
import { testPoint } from './test-points';
import type { FetchSummary, LoadSummary, ProbeSummary, TransformSummary } from './types';

/** Rows read from staging per query while transforming. */
const TRANSFORM_BATCH = 5000;
/** Rejected rows kept (row number + reason) in the log row. */
const REJECT_SAMPLE = 50;
/** Above this share of rejected rows the ingestion fails and the current revision stays as it is. */
export const DEFAULT_MAX_REJECT_RATIO = 0.1;
/** How often the load, one long transaction, tells Temporal its worker is alive. */
const LOAD_HEARTBEAT_MS = 5000;
/** Staged in place of a raw record PostgreSQL cannot hold; the transform rejects it with the reason. */
const UNSTORABLE = '__tediUnstorable';

/** True when `records` of `total` rejected rows is more than the allowed share (the TooManyRejects rule). */
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
      'the ingestion starts again from fetch',
    FailureType.StagingLost,
  );
}

/** Heartbeats every few seconds while `work` runs, so a dead worker is noticed within the heartbeat timeout. */
async function withHeartbeat<T>(details: Record<string, unknown>, work: () => Promise<T>): Promise<T> {
  heartbeat(details);
  const timer = setInterval(() => heartbeat(details), LOAD_HEARTBEAT_MS);
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

  async function fetchToStaging(input: { datasetVersionId: number; event?: EventInput }): Promise<FetchSummary> {
    return guardDatabase('fetch', async () => {
      const { ingestKey } = currentIngestKey();
      const { connector, ctx, bytesFetched } = await prepareSource(deps, input.datasetVersionId, input.event);
      let seq = 0;
      // Every heartbeat of the fetch, the connector's per-page ones included, says how far it got (stage,
      // records staged, bytes read), so `temporal workflow describe` and the CLI can show progress.
      const fetchCtx = {
        ...ctx,
        heartbeat: (details: Record<string, unknown>) => ctx.heartbeat({ stage: 'fetch', ...details, records: seq }),
      };
      // Bytes count whether or not the attempt succeeds: the source served them.
      const records = await inTransaction(deps, async (client) => {
        // A retried attempt starts from a clean slate: its earlier partial COPY is replaced atomically.
        await client.query('DELETE FROM staged_records WHERE ingest_key = $1', [ingestKey]);
        async function* rows() {
          for await (const record of connector.fetch(fetchCtx)) {
            seq++;
            if (seq % 10000 === 0) fetchCtx.heartbeat({});
            if (seq === 10) await testPoint('fetch:mid');
            // A record PostgreSQL cannot hold is staged as its reason, so the transform rejects it by number.
            const reason = unstorableReason(record);
            yield [ingestKey, seq, reason ? { [UNSTORABLE]: reason } : (record as Record<string, unknown>)] as const;
          }
        }
        return copyRows(client, 'staged_records', ['ingest_key', 'seq', 'payload'], rows());
      })
        .catch((err) => {
          throw asPayloadFailure(err, ctx.sourceName);
        })
        .finally(() => recordBytesFetched(metricMeter, ctx.sourceName, bytesFetched()));
      return { records, bytes: bytesFetched() };
    });
  }

  async function transformStaged(input: {
    datasetVersionId: number;
    logId: string;
    /** Records the fetch stage staged; fewer in staging means staging was lost. */
    expectedRecords: number;
    maxRejectRatio?: number;
    event?: EventInput;
  }): Promise<TransformSummary> {
    return guardDatabase('transform', async () => {
      await testPoint('transform:start');
      const { ingestKey } = currentIngestKey();
      const { connector, ctx } = await prepareSource(deps, input.datasetVersionId, input.event);
      const checksum = crypto.createHash('sha256');
      const rejects: Array<{ row: number; reason: string }> = [];
      let total = 0;
      let rejected = 0;

      const reject = (seq: number, reason: string) => {
        rejected++;
        if (rejects.length < REJECT_SAMPLE) rejects.push({ row: seq, reason: reason.slice(0, 300) });
      };

      const rows = await inTransaction(deps, async (client) => {
        await client.query('DELETE FROM staged_observations WHERE ingest_key = $1', [ingestKey]);
        let out = 0;
        async function* canonicalRows() {
          let afterSeq = 0;
          for (;;) {
            const { rows: batch } = await deps.db.pool.query<{ seq: number; payload: Record<string, unknown> }>(
              'SELECT seq, payload FROM staged_records WHERE ingest_key = $1 AND seq > $2 ORDER BY seq LIMIT $3',
              [ingestKey, afterSeq, TRANSFORM_BATCH],
            );
            if (batch.length === 0) return;
            for (const { seq, payload } of batch) {
              total++;
              const unstorable = payload?.[UNSTORABLE];
              if (typeof unstorable === 'string') {
                reject(seq, unstorable);
                continue;
              }
              let produced: ReturnType<typeof connector.transform>;
              try {
                produced = connector.transform(payload, ctx.params);
                for (const row of produced) assertStorable(row);
              } catch (err) {
                if (!(err instanceof RowRejected)) throw err;
                reject(seq, err.message);
                continue;
              }
              for (const row of produced) {
                const hash = rowHash(row);
                checksum.update(hash);
                out++;
                yield [
                  ingestKey,
                  out,
                  row.seriesKey,
                  row.period,
                  row.value,
                  row.unit,
                  row.attributes,
                  hash,
                  seq,
                ] as const;
              }
            }
            afterSeq = batch[batch.length - 1]!.seq;
            heartbeat({ stage: 'transform', records: total, rejected });
            await testPoint('transform:mid');
          }
        }
        await copyRows(
          client,
          'staged_observations',
          ['ingest_key', 'seq', 'series_key', 'period', 'value', 'unit', 'attributes', 'row_hash', 'record_seq'],
          canonicalRows(),
        );
        return out;
      });

      if (total !== input.expectedRecords) {
        throw stagingLost(
          `${ctx.sourceName}: the transform read ${total} staged records, the fetch staged ${input.expectedRecords}`,
        );
      }
      // Rejected rows go to the log with row number and reason, never silently dropped.
      await deps.db.prisma.ingestionLog.update({
        where: { id: BigInt(input.logId) },
        data: { recordsRejected: rejected, rejects: rejects.length ? rejects : undefined },
      });
      const maxRatio = input.maxRejectRatio ?? DEFAULT_MAX_REJECT_RATIO;
      if (tooManyRejects(rejected, total, maxRatio)) {
        const first = rejects[0];
        throw ApplicationFailure.nonRetryable(
          `${ctx.sourceName}: ${rejected} of ${total} records failed validation (more than ${Math.round(maxRatio * 100)}%); ` +
            `the current version is left unchanged. First: record ${first?.row}: ${first?.reason}`,
          FailureType.TooManyRejects,
        );
      }
      return { rows, rejected, checksum: checksum.digest('hex') };
    });
  }

  async function loadRevision(input: {
    datasetVersionId: number;
    checksum: string;
    probeToken: string | null;
    /** Rows the transform stage staged, and how many records it rejected. */
    expectedRows: number;
    rejectedRows: number;
    /** An operator accepts, for this run, an empty or shrunken snapshot the guards would refuse. */
    acceptRemovals?: boolean;
  }): Promise<LoadSummary> {
    return guardDatabase('load', async () => {
      const { ingestKey } = currentIngestKey();
      const { ctx, policy } = await prepareSource(deps, input.datasetVersionId);
      return withHeartbeat({ stage: 'load' }, async () => {
        const loaded = await inTransaction(deps, async (client) => {
          const merged = await mergeStagedRevision(client, {
            ingestKey,
            datasetVersionId: input.datasetVersionId,
            sourceName: ctx.sourceName,
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
        if (err instanceof StagingMismatch) throw stagingLost(`${ctx.sourceName}: ${err.message}`);
        throw err;
      });
    });
  }

  return { probeSource, fetchToStaging, transformStaged, loadRevision };
}
