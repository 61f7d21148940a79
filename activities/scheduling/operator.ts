// What the operator console workflow asks of the database: resolve a version as operators name it
// (source + version label) and reset its circuit breaker.
import { configurationError } from '../../lib/failures';
import type { ActivityDeps } from '../deps';
import { type BreakerState, openBreakers, resetBreakerNow } from './breaker';

export interface VersionName {
  source: string;
  /** Default "current". */
  version?: string;
}

export interface ResolvedVersion {
  datasetVersionId: number;
  source: string;
  version: string;
  vertical: string;
}

export function operatorActivities(deps: ActivityDeps) {
  async function resolveVersion(input: VersionName): Promise<ResolvedVersion> {
    const label = input.version ?? 'current';
    const v = await deps.db.prisma.datasetVersion.findFirst({
      where: { version: label, dataSource: { name: input.source } },
      include: { dataSource: true },
    });
    if (!v) {
      const names = await deps.db.prisma.dataSource.findMany({ select: { name: true }, orderBy: { name: 'asc' } });
      throw configurationError(
        `No dataset version "${label}" for source "${input.source}". Sources: ${names.map((n) => n.name).join(', ')}`,
      );
    }
    return { datasetVersionId: v.id, source: v.dataSource.name, version: v.version, vertical: v.dataSource.vertical };
  }

  async function resetBreakerFor(input: VersionName): Promise<BreakerState & { source: string; version: string }> {
    const v = await resolveVersion(input);
    return { ...(await resetBreakerNow(deps.db, v.datasetVersionId)), source: v.source, version: v.version };
  }

  /** Closes every open breaker (`tedi reset --all`); returns each one closed. */
  async function resetAllOpenBreakers(): Promise<Array<BreakerState & { source: string; version: string }>> {
    const closed: Array<BreakerState & { source: string; version: string }> = [];
    for (const v of await openBreakers(deps.db)) {
      closed.push({ ...(await resetBreakerNow(deps.db, v.datasetVersionId)), source: v.source, version: v.version });
    }
    return closed;
  }

  return { resolveVersion, resetBreakerFor, resetAllOpenBreakers };
}
