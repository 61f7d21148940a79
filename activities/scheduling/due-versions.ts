// What the master scheduler asks the database: which dataset versions are due, one page at a time.
import type { ActivityDeps } from '../deps';

export interface DueVersion {
  datasetVersionId: number;
  source: string;
  version: string;
  vertical: string;
  /** Due, but the circuit breaker is open: the master skips it and says so, or runs its half-open probe. */
  breakerOpen: boolean;
  /** While open: when it opened and when its half-open probe is due (ISO); null while closed. */
  breakerOpenedAt: string | null;
  nextProbeAt: string | null;
  /** Open and its cool-down is over at `asOf`: the master runs one probe-only check instead of skipping it. */
  probeDue: boolean;
}

export interface DuePage {
  versions: DueVersion[];
  /** Pass back as `afterId` for the next page; null when this was the last page. */
  nextAfterId: number | null;
}

export function schedulingActivities(deps: ActivityDeps) {
  /**
   * Versions due at `asOf` (the schedule's nominal time, so a retried master sees the same set):
   * automatic checks enabled, source active, not on-event, and next check reached or a cheap probe
   * (data_sources.probe_every_tick: due at every tick). Keyset-paged by id so a huge catalog never loads at
   * once. The only implementation of the due rule (no TypeScript twin to drift from it); an open breaker is
   * returned flagged, with whether its cool-down is over (breaker_next_probe_at() reached: the master runs
   * its half-open probe) or not (the master skips it and logs why). Pinned in test/workflows/policies.test.ts
   * and test/workflows/half-open-breaker.test.ts.
   */
  async function findDueVersions(input: { asOf: string; afterId: number; limit: number }): Promise<DuePage> {
    const { rows } = await deps.db.pool.query<{
      id: number;
      source: string;
      version: string;
      vertical: string;
      breaker_open: boolean;
      breaker_opened_at: Date | null;
      next_probe_at: Date | null;
      probe_due: boolean;
    }>(
      `SELECT v.id, s.name AS source, v.version, s.vertical::text AS vertical,
              v.breaker_opened_at IS NOT NULL AS breaker_open, v.breaker_opened_at,
              breaker_next_probe_at(v.breaker_opened_at, v.breaker_probed_at, c.breaker_cooldown_minutes) AS next_probe_at,
              coalesce(breaker_next_probe_at(v.breaker_opened_at, v.breaker_probed_at, c.breaker_cooldown_minutes)
                       <= $1::timestamptz, false) AS probe_due
         FROM dataset_versions v JOIN data_sources s ON s.id = v.data_source_id
         LEFT JOIN data_source_configs c ON c.data_source_id = s.id
        WHERE v.check_enabled AND s.is_active AND s.update_frequency <> 'on_event'
          AND (v.next_check_at IS NULL OR v.next_check_at <= $1::timestamptz OR s.probe_every_tick)
          AND v.id > $2
        ORDER BY v.id
        LIMIT $3`,
      [input.asOf, input.afterId, input.limit],
    );

    return {
      versions: rows.map((r) => ({
        datasetVersionId: r.id,
        source: r.source,
        version: r.version,
        vertical: r.vertical,
        breakerOpen: r.breaker_open,
        breakerOpenedAt: r.breaker_opened_at?.toISOString() ?? null,
        nextProbeAt: r.next_probe_at?.toISOString() ?? null,
        probeDue: r.probe_due,
      })),
      nextAfterId: rows.length === input.limit ? rows[rows.length - 1]!.id : null,
    };
  }

  return { findDueVersions };
}
