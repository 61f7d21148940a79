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
