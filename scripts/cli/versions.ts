// `tedi versions list`: every scheduled dataset version with what an operator asks first: when is it
// checked next, how did the last run go, is its breaker open, how reliable is the source, is it overdue.
import type { Command } from 'commander';
import { z } from 'zod';
import { versionTimings } from '../../activities/scheduling/timing';
import type { Database } from '../../lib/db';
import type { Frequency } from '../../lib/scheduling/frequency';
import { type Freshness, freshnessOf } from '../../lib/scheduling/freshness';
import { findSource, jsonFlag, sourceName } from './args';
import { withDatabase } from './context';
import { validateArgs } from './errors';
import { type Column, formatDuration, formatTime, JSON_HELP, printJson, printTable, truncate } from './output';

export interface LastResult {
  status: string;
  trigger: string;
  startedAt: Date;
  finishedAt: Date | null;
  revision: number | null;
  error: string | null;
}

export interface VersionStatus {
  id: number;
  source: string;
  version: string;
  vertical: string;
  frequency: Frequency;
  active: boolean;
  checkEnabled: boolean;
  currentRevision: number;
  lastCheckedAt: Date | null;
  lastSuccessAt: Date | null;
  /** When the master checks it next: null = at its next run (never checked, or reset). */
  nextCheckAt: Date | null;
  lastResult: LastResult | null;
  breaker: {
    state: 'open' | 'closed';
    openedAt: Date | null;
    consecutiveFailures: number;
    /** While open: when the master runs its next probe-only (half-open) check. */
    nextProbeAt: Date | null;
  };
  /** Null ("n/a") until the version has a finished ingestion. */
  reliabilityScore: number | null;
  freshness: { state: Freshness; dueBy: Date | null };
  /** The release interval its revisions show (median gap, ms), beside the declared `frequency`; null until two gaps. */
  observedIntervalMs: number | null;
  /** Its probe is cheap: checked at every master tick. */
  probeEveryTick: boolean;
}

/** The status of the versions matching `where` (all when omitted), ordered by source and version. */
export async function versionStatuses(
  db: Database,
  where: { dataSourceId?: number } = {},
  now = new Date(),
): Promise<VersionStatus[]> {
  const versions = await db.prisma.datasetVersion.findMany({
    where,
    include: { dataSource: true },
    orderBy: [{ dataSource: { name: 'asc' } }, { version: 'asc' }],
  });
  if (versions.length === 0) return [];
  // DISTINCT ON walks the (dataset_version_id, started_at DESC) index: one row per version, however long the log.
  const { rows } = await db.pool.query<LastResult & { datasetVersionId: number }>(
    `SELECT DISTINCT ON (dataset_version_id) dataset_version_id AS "datasetVersionId", status, trigger,
            started_at AS "startedAt", finished_at AS "finishedAt", revision, error_message AS error
       FROM ingestion_logs WHERE dataset_version_id = ANY($1::int[])
      ORDER BY dataset_version_id, started_at DESC, id DESC`,
    [versions.map((v) => v.id)],
  );
  const last = new Map(rows.map(({ datasetVersionId, ...r }) => [datasetVersionId, r]));
  const timings = await versionTimings(
    db,
    versions.map((v) => v.id),
  );
  return versions.map((v) => {
    const frequency = v.dataSource.updateFrequency as Frequency;
    const timing = timings.get(v.id);
    return {
      id: v.id,
      source: v.dataSource.name,
      version: v.version,
      vertical: v.dataSource.vertical,
      frequency,
      active: v.dataSource.isActive,
      checkEnabled: v.checkEnabled,
      currentRevision: v.currentRevision,
      lastCheckedAt: v.lastCheckedAt,
      lastSuccessAt: v.lastSuccessAt,
      nextCheckAt: v.nextCheckAt,
      lastResult: last.get(v.id) ?? null,
      breaker: {
        state: v.breakerOpenedAt ? 'open' : 'closed',
        openedAt: v.breakerOpenedAt,
        consecutiveFailures: v.consecutiveFailures,
        nextProbeAt: timing?.nextProbeAt ?? null,
      },
      reliabilityScore: v.sourceReliabilityScore,
      freshness: freshnessOf(
        {
          frequency,
          active: v.dataSource.isActive,
          checkEnabled: v.checkEnabled,
          lastSuccessAt: v.lastSuccessAt,
          createdAt: v.createdAt,
          lastCheckedAt: v.lastCheckedAt,
          nextCheckAt: v.nextCheckAt,
          probeEveryTick: v.dataSource.probeEveryTick,
          lastRevisionAt: timing?.lastRevisionAt ?? null,
        },
        now,
      ),
      observedIntervalMs: timing?.observedIntervalMs ?? null,
      probeEveryTick: v.dataSource.probeEveryTick,
    };
  });
}

function nextCheck(v: VersionStatus): string {
  if (!v.active || !v.checkEnabled) return 'not scheduled (inactive)';
  if (v.frequency === 'on_event') return 'on event (import)';
  if (v.breaker.state === 'open') return `half-open probe ${formatTime(v.breaker.nextProbeAt)}`;
  if (v.probeEveryTick) return 'every master run (cheap probe)';
  return v.nextCheckAt ? formatTime(v.nextCheckAt) : 'next master run';
}

/** The declared cadence beside the release interval the revisions show: "annual (observed 152 d)". */
export function cadenceWithObserved(frequency: string, observedIntervalMs: number | null): string {
  return observedIntervalMs === null ? frequency : `${frequency} (observed ${formatDuration(observedIntervalMs)})`;
}

/** "0.95", or "n/a" before the first finished ingestion. */
export function formatReliability(score: number | null): string {
  return score === null ? 'n/a' : score.toFixed(2);
}

export const VERSION_COLUMNS: Column<VersionStatus>[] = [
  { header: 'SOURCE/VERSION', value: (v) => `${v.source}/${v.version}` },
  { header: 'REV', value: (v) => String(v.currentRevision), align: 'right' },
  { header: 'CADENCE', value: (v) => cadenceWithObserved(v.frequency, v.observedIntervalMs) },
  { header: 'NEXT CHECK', value: nextCheck },
  {
    header: 'LAST RESULT',
    value: (v) => (v.lastResult ? `${v.lastResult.status} ${formatTime(v.lastResult.startedAt)}` : 'never run'),
  },
  {
    header: 'BREAKER',
    value: (v) =>
      v.breaker.state === 'open'
        ? `open since ${formatTime(v.breaker.openedAt)} (${v.breaker.consecutiveFailures} failures)`
        : v.breaker.consecutiveFailures > 0
          ? `closed (${v.breaker.consecutiveFailures} failures)`
          : 'closed',
  },
  { header: 'RELIABILITY', value: (v) => formatReliability(v.reliabilityScore), align: 'right' },
  {
    header: 'FRESHNESS',
    value: (v) =>
      v.freshness.dueBy ? `${v.freshness.state} (due by ${formatTime(v.freshness.dueBy)})` : v.freshness.state,
  },
  { header: 'LAST ERROR', value: (v) => (v.lastResult?.status === 'failed' ? truncate(v.lastResult.error, 60) : '') },
];

const ListArgs = z.object({ source: sourceName.optional(), overdue: z.boolean().default(false), json: jsonFlag });

export function registerVersions(program: Command): void {
  const versions = program
    .command('versions')
    .description('dataset versions: schedule, last result, breaker, reliability, freshness');
  versions
    .command('list')
    .description('list dataset versions with their next check, last result, breaker state, reliability and freshness')
    .option('--source <name>', 'only the versions of this source')
    .option('--overdue', 'only versions with no successful check within their expected cadence')
    .option('--json', JSON_HELP)
    .action(async (opts) => {
      const args = validateArgs(ListArgs, opts);
      await withDatabase(async (db) => {
        const where = args.source ? { dataSourceId: (await findSource(db, args.source, '--source')).id } : {};
        const rows = (await versionStatuses(db, where)).filter((v) => !args.overdue || v.freshness.state === 'overdue');
        if (args.json) printJson(rows);
        else printTable(rows, VERSION_COLUMNS, args.overdue ? 'No overdue versions.' : 'No dataset versions.');
      });
    });
}
