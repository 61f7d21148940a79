// What the master scheduler asks the database: which dataset versions are due, one page at a time.
import type { ActivityDeps } from '../deps';

export interface DueVersion {
  datasetVersionId: number;
  source: string;
  version: string;
  vertical: string;
  /** Due, but the circuit breaker is open: the master skips it and says so. */
  breakerOpen: boolean;
}

export interface DuePage {
  versions: DueVersion[];
  /** Pass back as `afterId` for the next page; null when this was the last page. */
  nextAfterId: number | null;
}

export function schedulingActivities(deps: ActivityDeps) {
  /**
   * Versions due at `asOf` (the schedule's nominal time, so a retried master sees the same set):
   * automatic checks enabled, source active, not on-event, next check reached. Served by
   * dataset_versions_due_idx; keyset-paged by id so a huge catalog never loads at once.
   * The only implementation of the due rule (no TypeScript twin to drift from it); an open breaker is
   * returned flagged, for the master to count as skipped. Pinned in test/workflows/policies.test.ts.
   */
  async function findDueVersions(input: { asOf: string; afterId: number; limit: number }): Promise<DuePage> {
    const { rows } = await deps.db.pool.query<{
      id: number;
      source: string;
      version: string;
      vertical: string;
      breaker_open: boolean;
    }>(
      `SELECT v.id, s.name AS source, v.version, s.vertical::text AS vertical,
              v.breaker_opened_at IS NOT NULL AS breaker_open
         FROM dataset_versions v JOIN data_sources s ON s.id = v.data_source_id
        WHERE v.check_enabled AND s.is_active AND s.update_frequency <> 'on_event'
          AND (v.next_check_at IS NULL OR v.next_check_at <= $1::timestamptz)
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
      })),
      nextAfterId: rows.length === input.limit ? rows[rows.length - 1]!.id : null,
    };
  }

  return { findDueVersions };
}
