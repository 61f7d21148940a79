// What the database knows about a version's timing beyond its own row: the release interval its revisions
// show (observed_release_interval()), when its current revision was made, when an open breaker's next
// half-open probe is due (breaker_next_probe_at()), and the source's probe settings. One query, read by the
// finish of every ingestion (the next check), `tedi versions`, `tedi sources show` and the metrics.
import type { Database } from '../../lib/db';

export interface VersionTiming {
  probeEveryTick: boolean;
  /** Median gap between the version's revisions (ms); null until there are two gaps. */
  observedIntervalMs: number | null;
  /** When the current revision was committed; null before the first. */
  lastRevisionAt: Date | null;
  /** While the breaker is open: when the master next runs its probe-only check. */
  nextProbeAt: Date | null;
  breakerCooldownMinutes: number | null;
  probeIntervalMinHours: number | null;
  probeIntervalMaxHours: number | null;
}

/** The timing of the given versions (all when `ids` is omitted), by version id. */
export async function versionTimings(db: Database, ids?: number[]): Promise<Map<number, VersionTiming>> {
  const { rows } = await db.pool.query<VersionTiming & { id: number }>(
    `SELECT v.id, s.probe_every_tick AS "probeEveryTick",
            (extract(epoch FROM observed_release_interval(v.id)) * 1000)::float8 AS "observedIntervalMs",
            lr.created_at AS "lastRevisionAt",
            breaker_next_probe_at(v.breaker_opened_at, v.breaker_probed_at, c.breaker_cooldown_minutes) AS "nextProbeAt",
            c.breaker_cooldown_minutes AS "breakerCooldownMinutes",
            c.probe_interval_min_hours AS "probeIntervalMinHours",
            c.probe_interval_max_hours AS "probeIntervalMaxHours"
       FROM dataset_versions v
       JOIN data_sources s ON s.id = v.data_source_id
       LEFT JOIN data_source_configs c ON c.data_source_id = s.id
       LEFT JOIN dataset_revisions lr ON lr.dataset_version_id = v.id AND lr.revision = v.current_revision
      WHERE $1::int[] IS NULL OR v.id = ANY($1::int[])`,
    [ids ?? null],
  );
  return new Map(rows.map(({ id, ...t }) => [id, t]));
}
