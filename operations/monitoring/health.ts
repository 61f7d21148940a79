// What the database says about the health of the catalog: freshness and breaker state of every dataset
// version, and how often checks find nothing new. Plain functions over the database, shared by the
// monitoring job (metrics) and the CLI (versions list).
import type { Database } from '../../lib/db';
import type { HealthGauges } from '../../lib/monitoring/metrics';
import type { Frequency } from '../../lib/scheduling/frequency';
import { type Freshness, freshnessOf } from '../../lib/scheduling/freshness';
import { VERTICALS, type Vertical } from '../../lib/verticals';

/** How far back the no-change ratio looks: long enough to hold a check of every monthly source. */
export const NO_CHANGE_WINDOW_MS = 30 * 24 * 3600 * 1000;

export interface VersionHealth {
  datasetVersionId: number;
  source: string;
  version: string;
  vertical: Vertical;
  frequency: Frequency;
  freshness: Freshness;
  /** When the version becomes (or became) overdue; null for on-event and inactive versions. */
  dueBy: Date | null;
  lastSuccessAt: Date | null;
  breakerOpen: boolean;
  consecutiveFailures: number;
}

/** Every dataset version with its freshness at `now` and its breaker state, ordered by id. */
export async function versionHealth(db: Database, now: Date): Promise<VersionHealth[]> {
  const { rows } = await db.pool.query<{
    id: number;
    source: string;
    version: string;
    vertical: Vertical;
    frequency: Frequency;
    is_active: boolean;
    check_enabled: boolean;
    last_success_at: Date | null;
    created_at: Date;
    last_checked_at: Date | null;
    next_check_at: Date | null;
    probe_every_tick: boolean;
    last_revision_at: Date | null;
    breaker_opened_at: Date | null;
    consecutive_failures: number;
  }>(
    `SELECT v.id, s.name AS source, v.version, s.vertical::text AS vertical, s.update_frequency::text AS frequency,
            s.is_active, v.check_enabled, v.last_success_at, v.created_at, v.last_checked_at, v.next_check_at,
            s.probe_every_tick, lr.created_at AS last_revision_at, v.breaker_opened_at, v.consecutive_failures
       FROM dataset_versions v JOIN data_sources s ON s.id = v.data_source_id
       LEFT JOIN dataset_revisions lr ON lr.dataset_version_id = v.id AND lr.revision = v.current_revision
      ORDER BY v.id`,
  );
  return rows.map((r) => {
    const { state, dueBy } = freshnessOf(
      {
        frequency: r.frequency,
        active: r.is_active,
        checkEnabled: r.check_enabled,
        lastSuccessAt: r.last_success_at,
        createdAt: r.created_at,
        lastCheckedAt: r.last_checked_at,
        nextCheckAt: r.next_check_at,
        probeEveryTick: r.probe_every_tick,
        lastRevisionAt: r.last_revision_at,
      },
      now,
    );
    return {
      datasetVersionId: r.id,
      source: r.source,
      version: r.version,
      vertical: r.vertical,
      frequency: r.frequency,
      freshness: state,
      dueBy,
      lastSuccessAt: r.last_success_at,
      breakerOpen: r.breaker_opened_at !== null,
      consecutiveFailures: r.consecutive_failures,
    };
  });
}

export interface NoChangeRatio {
  source: string;
  /** Completed checks (success or no_change) since the window start. */
  checks: number;
  noChange: number;
  ratio: number;
}

/** Per source, the share of completed checks since `since` that found nothing new (failed and skipped runs checked nothing). */
export async function noChangeRatios(db: Database, since: Date): Promise<NoChangeRatio[]> {
  const { rows } = await db.pool.query<{ source: string; checks: number; no_change: number }>(
    `SELECT s.name AS source, count(*)::int AS checks, count(*) FILTER (WHERE l.status = 'no_change')::int AS no_change
       FROM ingestion_logs l
       JOIN dataset_versions v ON v.id = l.dataset_version_id
       JOIN data_sources s ON s.id = v.data_source_id
      WHERE l.started_at >= $1 AND l.status IN ('success', 'no_change')
      GROUP BY s.name
      ORDER BY s.name`,
    [since],
  );
  return rows.map((r) => ({
    source: r.source,
    checks: r.checks,
    noChange: r.no_change,
    ratio: r.no_change / r.checks,
  }));
}

export interface HealthSnapshot extends HealthGauges {
  at: Date;
  versions: VersionHealth[];
}

export async function readHealth(db: Database, now: Date): Promise<HealthSnapshot> {
  const versions = await versionHealth(db, now);
  const perVertical = (pick: (v: VersionHealth) => boolean) => {
    const counts = Object.fromEntries(VERTICALS.map((v) => [v, 0])) as Record<Vertical, number>;
    for (const v of versions) if (pick(v)) counts[v.vertical]++;
    return counts;
  };
  const ratios = await noChangeRatios(db, new Date(now.getTime() - NO_CHANGE_WINDOW_MS));
  return {
    at: now,
    versions,
    openBreakers: perVertical((v) => v.breakerOpen),
    overdueVersions: perVertical((v) => v.freshness === 'overdue'),
    noChangeRatio: ratios.map(({ source, ratio }) => ({ source, ratio })),
  };
}
