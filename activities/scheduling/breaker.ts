// Resetting a dataset version's circuit breaker: the one operator action the seed did by editing a
// counter. Shared by the CLI and the activity behind the workflow's reset message.
import type { Database } from '../../lib/db';
import { configurationError } from '../../lib/failures';
import { resetBreaker } from '../../lib/scheduling/frequency';

export interface BreakerState {
  datasetVersionId: number;
  wasOpen: boolean;
  consecutiveFailures: number;
  nextCheckAt: string | null;
}

/** The versions whose breaker is open now, as operators name them (`tedi reset --all`). */
export async function openBreakers(
  db: Database,
): Promise<Array<{ datasetVersionId: number; source: string; version: string }>> {
  const { rows } = await db.pool.query<{ datasetVersionId: number; source: string; version: string }>(
    `SELECT v.id AS "datasetVersionId", s.name AS source, v.version
       FROM dataset_versions v JOIN data_sources s ON s.id = v.data_source_id
      WHERE v.breaker_opened_at IS NOT NULL
      ORDER BY s.name, v.version`,
  );
  return rows;
}

/** Closes the breaker and makes the version due at once; returns what it was before. */
export async function resetBreakerNow(db: Database, datasetVersionId: number, now = new Date()): Promise<BreakerState> {
  const current = await db.prisma.datasetVersion.findUnique({ where: { id: datasetVersionId } });
  if (!current) throw configurationError(`Dataset version ${datasetVersionId} does not exist.`);
  const next = resetBreaker(current, now);
  await db.prisma.datasetVersion.update({
    where: { id: datasetVersionId },
    data: {
      consecutiveFailures: next.consecutiveFailures,
      breakerOpenedAt: next.breakerOpenedAt,
      breakerProbedAt: next.breakerProbedAt ?? null,
      nextCheckAt: next.nextCheckAt,
    },
  });
  return {
    datasetVersionId,
    wasOpen: current.breakerOpenedAt !== null,
    consecutiveFailures: current.consecutiveFailures,
    nextCheckAt: next.nextCheckAt?.toISOString() ?? null,
  };
}
