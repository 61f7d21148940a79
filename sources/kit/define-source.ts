// defineSource: a source declared over the kit becomes the Connector the ingestion pipeline runs, so
// workflows and the pipeline never know how a source is built. A spec says only what is specific to its
// source: its params, where its change signal is, how its requests are partitioned and paged, and how one
// record maps to observations; validation, rejection messages and partition walking are the kit's.
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { validRecord } from './records';
import {
  type Connector,
  type FileInput,
  type ObservationRow,
  type ProbeResult,
  ResumeMismatch,
  type SnapshotRules,
  type SourceContext,
} from './types';

export interface RecordRule<P, R> {
  /** One raw record's shape; a record that does not fit is one rejected row. */
  schema: z.ZodType<R>;
  /** Names a raw record in a rejection, e.g. "World Bank record X BJ 2020". */
  label(raw: unknown): string;
  /** The observations of one valid record. */
  rows(record: R, params: P): ObservationRow[];
}

export interface SourceSpec<P, R> {
  /** Key used in DataSource.connector. */
  name: string;
  params: z.ZodType<P>;
  probe(ctx: SourceContext<P>): Promise<ProbeResult>;
  /** See Connector.cheapProbe. */
  cheapProbe?: boolean;
  /** Raw records, streamed; see eachPartition and the paging, CSV and JSON readers of the kit. */
  fetch(ctx: SourceContext<P>): AsyncIterable<unknown>;
  record: RecordRule<P, R>;
  snapshot?: SnapshotRules<P>;
  /** A source that reads files handed in per run (see Connector.files). */
  files?: FileInput<P>;
}

export function defineSource<P, R>(spec: SourceSpec<P, R>): Connector<P, unknown> {
  return {
    name: spec.name,
    paramsSchema: spec.params,
    probe: spec.probe,
    ...(spec.cheapProbe ? { cheapProbe: true } : {}),
    fetch: spec.fetch,
    transform: (raw, params) =>
      spec.record.rows(
        validRecord(spec.record.schema, raw, () => spec.record.label(raw)),
        params,
      ),
    ...(spec.snapshot ? { snapshot: spec.snapshot } : {}),
    ...(spec.files ? { files: spec.files } : {}),
  };
}

/**
 * A fetch that reads each partition of the params in turn (see partitions.ts). It checkpoints after each
 * partition; resumed, it skips the partitions already read and hands the partition in progress its own
 * point (`ctx.resume.paging`), so a page-numbered read continues after its last page.
 */
export function eachPartition<P, T>(
  partitionsOf: (params: P) => readonly T[],
  fetchPartition: (ctx: SourceContext<P>, partition: T) => AsyncIterable<unknown>,
): (ctx: SourceContext<P>) => AsyncIterable<unknown> {
  return async function* (ctx) {
    const partitions = partitionsOf(ctx.params);
    // A count of partitions read only means something for the same list (periods derived from today's date
    // move on; an operator edits the params between attempts).
    const partitionsKey = createHash('sha256').update(JSON.stringify(partitions)).digest('hex').slice(0, 16);
    if (ctx.resume && ctx.resume.partitionsKey !== partitionsKey) {
      throw new ResumeMismatch(`the partitions differ from the ${ctx.resume.partitions} the checkpoint counted`);
    }
    for (let i = ctx.resume?.partitions ?? 0; i < partitions.length; i++) {
      const paging = i === ctx.resume?.partitions ? ctx.resume.paging : undefined;
      const checkpoint = ctx.checkpoint;
      const partitionCtx: SourceContext<P> = {
        ...ctx,
        resume: paging ? { partitions: i, partitionsKey, paging } : undefined,
        checkpoint: checkpoint && ((at) => checkpoint({ partitions: i, partitionsKey, paging: at.paging })),
      };
      yield* fetchPartition(partitionCtx, partitions[i] as T);
      await ctx.checkpoint?.({ partitions: i + 1, partitionsKey });
    }
  };
}
