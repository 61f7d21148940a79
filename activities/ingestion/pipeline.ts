// The four data stages of an ingestion, each a Temporal activity with its own retries:
//   probe     – the source's cheap change signal, before any data moves;
//   fetch     – stream raw records from the source into staged_records (COPY);
//   transform – validate each raw record (zod) into canonical rows in staged_observations (COPY);
//   load      – merge staged rows into the versioned store as a new revision, in one transaction.
// Every stage reads and writes PostgreSQL and returns a small summary: data never enters workflow history.
// Every stage is keyed by the run's ingest key, so a retry after a crash redoes its work exactly once.
import crypto from 'node:crypto';
import { heartbeat, metricMeter } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../lib/failures';
import { recordBytesFetched } from '../../lib/monitoring/metrics';
import type { EventInput } from '../connectors/types';
import { RowRejected } from '../connectors/types';
import type { ActivityDeps } from '../deps';
import { copyRows } from '../store/copy-rows';
import { mergeStagedRevision } from '../store/merge-revision';
import { currentIngestKey } from './ingest-key';
import { rowHash } from './row-hash';
import { prepareSource } from './source-context';
import type { FetchSummary, LoadSummary, ProbeSummary, TransformSummary } from './types';

/** Rows read from staging per query while transforming. */
const TRANSFORM_BATCH = 5000;
/** Rejected rows kept (row number + reason) in the log row. */
const REJECT_SAMPLE = 50;
/** Above this share of rejected rows the ingestion fails and the current revision stays as it is. */
export const DEFAULT_MAX_REJECT_RATIO = 0.1;

async function inTransaction<T>(deps: ActivityDeps, work: (client: import('pg').PoolClient) => Promise<T>): Promise<T> {
  const client = await deps.db.pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export function pipelineActivities(deps: ActivityDeps) {
  async function probeSource(input: { datasetVersionId: number; event?: EventInput }): Promise<ProbeSummary> {
    const { connector, ctx } = await prepareSource(deps, input.datasetVersionId, input.event);
    const probe = await connector.probe(ctx);
    return { token: probe.token, note: probe.note ?? null };
  }

  async function fetchToStaging(input: { datasetVersionId: number; event?: EventInput }): Promise<FetchSummary> {
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
          yield [ingestKey, seq, record as Record<string, unknown>] as const;
        }
      }
      return copyRows(client, 'staged_records', ['ingest_key', 'seq', 'payload'], rows());
    }).finally(() => recordBytesFetched(metricMeter, ctx.sourceName, bytesFetched()));
    return { records, bytes: bytesFetched() };
  }

  async function transformStaged(input: {
    datasetVersionId: number;
    logId: string;
    maxRejectRatio?: number;
    event?: EventInput;
  }): Promise<TransformSummary> {
    const { ingestKey } = currentIngestKey();
    const { connector, ctx } = await prepareSource(deps, input.datasetVersionId, input.event);
    const checksum = crypto.createHash('sha256');
    const rejects: Array<{ row: number; reason: string }> = [];
    let total = 0;
    let rejected = 0;

    const rows = await inTransaction(deps, async (client) => {
      await client.query('DELETE FROM staged_observations WHERE ingest_key = $1', [ingestKey]);
      let out = 0;
      async function* canonicalRows() {
        let afterSeq = 0;
        for (;;) {
          const { rows: batch } = await deps.db.pool.query<{ seq: number; payload: unknown }>(
            'SELECT seq, payload FROM staged_records WHERE ingest_key = $1 AND seq > $2 ORDER BY seq LIMIT $3',
            [ingestKey, afterSeq, TRANSFORM_BATCH],
          );
          if (batch.length === 0) return;
          for (const { seq, payload } of batch) {
            total++;
            try {
              for (const row of connector.transform(payload, ctx.params)) {
                const hash = rowHash(row);
                checksum.update(hash);
                out++;
                yield [ingestKey, out, row.seriesKey, row.period, row.value, row.unit, row.attributes, hash] as const;
              }
            } catch (err) {
              if (!(err instanceof RowRejected)) throw err;
              rejected++;
              if (rejects.length < REJECT_SAMPLE) rejects.push({ row: seq, reason: err.message.slice(0, 300) });
            }
          }
          afterSeq = batch[batch.length - 1]!.seq;
          heartbeat({ stage: 'transform', records: total, rejected });
        }
      }
      await copyRows(
        client,
        'staged_observations',
        ['ingest_key', 'seq', 'series_key', 'period', 'value', 'unit', 'attributes', 'row_hash'],
        canonicalRows(),
      );
      return out;
    });

    // Rejected rows go to the log with row number and reason, never silently dropped.
    await deps.db.prisma.ingestionLog.update({
      where: { id: BigInt(input.logId) },
      data: { recordsRejected: rejected, rejects: rejects.length ? rejects : undefined },
    });
    const maxRatio = input.maxRejectRatio ?? DEFAULT_MAX_REJECT_RATIO;
    if (total > 0 && rejected / total > maxRatio) {
      const first = rejects[0];
      throw ApplicationFailure.nonRetryable(
        `${ctx.sourceName}: ${rejected} of ${total} records failed validation (more than ${Math.round(maxRatio * 100)}%); ` +
          `the current version is left unchanged. First: record ${first?.row}: ${first?.reason}`,
        FailureType.TooManyRejects,
      );
    }
    return { rows, rejected, checksum: checksum.digest('hex') };
  }

  async function loadRevision(input: {
    datasetVersionId: number;
    checksum: string;
    probeToken: string | null;
  }): Promise<LoadSummary> {
    const { ingestKey } = currentIngestKey();
    return inTransaction(deps, (client) => mergeStagedRevision(client, { ingestKey, ...input }));
  }

  return { probeSource, fetchToStaging, transformStaged, loadRevision };
}
