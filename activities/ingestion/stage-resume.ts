// Resuming a stage: a retried stageSnapshot attempt continues where the last one checkpointed instead of
// reading the source again from the start, so a failure on the last page of a long fetch costs one page.
//   - the kit's walkers (eachPartition, pageNumbered) checkpoint after each partition and page, once every
//     record before the point was handed out;
//   - at a checkpoint the stage makes the spool file hold every row so far and records the point, the
//     spool's length and the running counts and checksum in the attempt's heartbeat details;
//   - the next attempt, in the same worker process (the spool file is local), copies the file up to that
//     length into its own file (an earlier attempt Temporal gave up on may still be writing its own) and
//     hands the point to the connector; anything else (another process, a file shorter than recorded,
//     details from another version of this code) starts from the beginning.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ResumePoint } from '../../sources/kit/types';

const Point: z.ZodType<ResumePoint> = z.object({
  partitions: z.number().int().nonnegative(),
  partitionsKey: z.string().optional(),
  paging: z
    .object({
      pages: z.number().int().positive(),
      held: z.number().int().nonnegative(),
      first: z.object({ pages: z.number().int(), total: z.number().int(), version: z.string().nullable() }),
    })
    .optional(),
});

/** What a checkpoint remembers (heartbeat details `resume`). */
export const StageCheckpoint = z.object({
  format: z.literal(1),
  point: Point,
  spool: z.object({
    /** The attempt's own file in the run's spool folder. */
    file: z.string().regex(/^rows-\d+\.copy$/),
    bytes: z.number().int().nonnegative(),
    rows: z.number().int().nonnegative(),
  }),
  records: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  rejects: z.array(z.object({ row: z.number().int(), reason: z.string() })),
  checksum: z.object({
    lanes: z.array(z.number().int().nonnegative()).length(4),
    rows: z.number().int().nonnegative(),
  }),
});
export type StageCheckpoint = z.output<typeof StageCheckpoint>;

/** This attempt's spool file in the run's folder. */
export const attemptSpoolFile = (dir: string, attempt: number) => path.join(dir, `rows-${attempt}.copy`);

/**
 * The checkpoint the last attempt left, if this attempt can continue from it: its details parse, and the
 * spool file it wrote is here and at least as long as recorded. That file's first `bytes` are then copied
 * to this attempt's `file` (rows after the checkpoint are cut off by the SpoolWriter).
 */
export function resumableCheckpoint(details: unknown, dir: string, file: string): StageCheckpoint | null {
  const parsed = StageCheckpoint.safeParse((details as { resume?: unknown } | undefined)?.resume);
  if (!parsed.success) return null;
  const earlier = path.join(dir, parsed.data.spool.file);
  const size = fs.statSync(earlier, { throwIfNoEntry: false })?.size;
  if (size === undefined || size < parsed.data.spool.bytes || earlier === file) return null;
  fs.copyFileSync(earlier, file);
  return parsed.data;
}
