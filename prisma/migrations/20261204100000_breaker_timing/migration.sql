-- Issue #11: a half-open breaker, checks timed to real publication, freshness right on day one.

-- AlterTable
ALTER TABLE "data_source_configs" ADD COLUMN     "breaker_cooldown_minutes" INTEGER NOT NULL DEFAULT 360,
ADD COLUMN     "probe_interval_max_hours" INTEGER NOT NULL DEFAULT 720,
ADD COLUMN     "probe_interval_min_hours" INTEGER NOT NULL DEFAULT 24;

-- AlterTable
ALTER TABLE "data_sources" ADD COLUMN     "probe_every_tick" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "dataset_versions" ADD COLUMN     "breaker_probed_at" TIMESTAMPTZ(3),
ALTER COLUMN "source_reliability_score" DROP NOT NULL,
ALTER COLUMN "source_reliability_score" DROP DEFAULT;

-- Hand-managed from here on (Prisma sees no functions or views).

-- A score of 1 with no finished ingestion behind it was a default, not a measurement: "n/a" now.
UPDATE dataset_versions v SET source_reliability_score = NULL
 WHERE NOT EXISTS (SELECT 1 FROM ingestion_logs l
                    WHERE l.dataset_version_id = v.id AND l.status IN ('success', 'no_change', 'failed'));

-- The observed release interval of a dataset version: the median gap between its revisions' creation,
-- NULL until there are at least two gaps (three revisions). The one implementation: the probe interval
-- (activities/ingestion/audit-log.ts), the CLI and tedi_read.sources all call it. SECURITY DEFINER: a
-- function in a view runs with the reader's rights, and tedi_reader may read no table in public; it returns
-- one interval, never a row.
CREATE FUNCTION observed_release_interval(integer) RETURNS interval
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT CASE WHEN count(g.gap) >= 2 THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY g.gap) END
    FROM (SELECT created_at - lag(created_at) OVER (ORDER BY revision) AS gap
            FROM dataset_revisions WHERE dataset_version_id = $1) g
$$;

-- When the master next runs a half-open (probe-only) check of an open breaker: a cool-down after the last
-- failed half-open probe, or after the opening when there was none; NULL while the breaker is closed.
-- The one implementation: findDueVersions (activities/scheduling/due-versions.ts) and tedi_read.sources.
CREATE FUNCTION breaker_next_probe_at(opened_at timestamptz, probed_at timestamptz, cooldown_minutes integer)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(probed_at, opened_at) + make_interval(mins => cooldown_minutes)
$$;

-- tedi_read.sources: freshness right on day one (a never-loaded version is overdue a grace after its first
-- due tick, not a cadence after its creation), sources probed at every tick overdue when no new release came
-- within their cadence, and the new columns (appended: CREATE OR REPLACE keeps the existing ones in place).
CREATE OR REPLACE VIEW tedi_read.sources AS
SELECT ds.name AS source,
       ds.title,
       ds.organization,
       ds.vertical::text AS vertical,
       ds.connector,
       ds.update_frequency::text AS cadence,
       ds.is_active,
       v.version,
       v.id AS version_id,
       d.slug AS dataset,
       coalesce(v.current_revision, 0) AS current_revision,
       v.check_enabled,
       v.last_checked_at,
       v.last_success_at,
       v.next_check_at,
       f.due_by,
       CASE
         WHEN v.id IS NULL OR NOT ds.is_active OR NOT v.check_enabled THEN 'inactive'
         WHEN ds.update_frequency = 'on_event' THEN 'on_event'
         WHEN now() > f.due_by THEN 'overdue'
         WHEN v.last_success_at IS NOT NULL THEN 'fresh'
         ELSE 'never_checked'
       END AS freshness,
       CASE WHEN v.id IS NULL THEN NULL WHEN v.breaker_opened_at IS NULL THEN 'closed' ELSE 'open' END AS breaker_state,
       v.breaker_opened_at,
       v.consecutive_failures,
       v.source_reliability_score AS reliability_score,
       observed_release_interval(v.id) AS observed_release_interval,
       ds.probe_every_tick,
       breaker_next_probe_at(v.breaker_opened_at, v.breaker_probed_at, c.breaker_cooldown_minutes) AS next_breaker_probe_at
  FROM data_sources ds
  LEFT JOIN data_source_configs c ON c.data_source_id = ds.id
  LEFT JOIN dataset_versions v ON v.data_source_id = ds.id
  LEFT JOIN datasets d ON d.id = v.dataset_id
  LEFT JOIN dataset_revisions lr ON lr.dataset_version_id = v.id AND lr.revision = v.current_revision
  -- lib/scheduling/freshness.ts in SQL: the cadences of lib/scheduling/frequency.ts expectedCadenceMs
  -- (calendar months counted from 2001-01-01) and FRESHNESS_GRACE_MS (12 h); keep them in step
  -- (test/unit/read-contract.test.ts compares the two).
  LEFT JOIN LATERAL (
    SELECT CASE
             WHEN v.last_success_at IS NULL THEN
               CASE WHEN v.last_checked_at IS NULL AND v.next_check_at > v.created_at THEN v.next_check_at
                    ELSE v.created_at END
               + interval '12 hours'
             ELSE
               CASE WHEN ds.probe_every_tick THEN least(v.last_success_at, coalesce(lr.created_at, v.last_success_at))
                    ELSE v.last_success_at END
               + CASE ds.update_frequency
                   WHEN 'weekly' THEN interval '7 days'
                   WHEN 'monthly' THEN interval '31 days'
                   WHEN 'quarterly' THEN interval '90 days'
                   WHEN 'semi_annual' THEN interval '181 days'
                   WHEN 'annual' THEN interval '365 days'
                 END
               + interval '12 hours'
           END AS due_by
  ) f ON ds.update_frequency <> 'on_event';

COMMENT ON COLUMN tedi_read.sources.due_by IS 'Past this instant the version is overdue. Never loaded: its first due tick (creation, or a later first next_check_at) + 12 h grace. Loaded: last success + cadence + 12 h; for a source probed at every tick, the earlier of the last success and its current revision''s creation (no new release within the cadence). NULL for on_event.';
COMMENT ON COLUMN tedi_read.sources.reliability_score IS 'Share of the last 20 finished ingestions that did not fail, 0 to 1; NULL (n/a) before the first one. Recomputed after each ingestion.';
COMMENT ON COLUMN tedi_read.sources.observed_release_interval IS 'Median interval between the creation of consecutive revisions (the release interval the data shows), NULL until there are two intervals.';
COMMENT ON COLUMN tedi_read.sources.probe_every_tick IS 'The source''s probe is cheap: the scheduler probes it at every run; its cadence is only the freshness expectation.';
COMMENT ON COLUMN tedi_read.sources.next_breaker_probe_at IS 'While the breaker is open: when the scheduler next runs one probe-only check of it (a cool-down after the opening or the last failed probe). NULL while closed.';
