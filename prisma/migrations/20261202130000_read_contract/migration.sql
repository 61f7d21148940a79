-- The read contract (issue #10): what consumers (analysts, dashboards, the CLI `data` command, the HTTP API)
-- read, in a schema of its own, `tedi_read`, so nobody depends on the internal tables in `public` (their
-- compact layout is free to change) or sees the per-run staging tables in `tedi_staging`.
--
-- Views and functions only, no data: every object reads the tables in `public` as the migration's role
-- (a view runs with its owner's rights), and the functions read the views, so the read-only role
-- `tedi_reader` needs rights on `tedi_read` alone. The functions are LANGUAGE sql, STABLE and not STRICT,
-- so PostgreSQL inlines them into the calling query: a caller's `WHERE series_key = ...` or
-- `dimensions @> ...` reaches the indexes (series_dataset_version_id_series_key_key, series_dimensions_idx,
-- the observations primary key (series_id, period, valid_from), observations_current_key).
--
-- Prisma knows none of this (the datasource reads only `public`), so scripts/check-drift.ts never sees it;
-- like the other hand-managed objects it lives in SQL only. A later migration changing a view must
-- CREATE OR REPLACE it (or drop and recreate it with its COMMENTs and GRANTs).

CREATE SCHEMA IF NOT EXISTS tedi_read;
COMMENT ON SCHEMA tedi_read IS
  'TEDI''s read contract: stable views and functions over the versioned store. Read these, not the tables in public.';

-- ---------------------------------------------------------------------------------------------------------
-- sources: one row per dataset version of every catalog source (a source with no version yet: one row with
-- version NULL), with its schedule and health.
CREATE VIEW tedi_read.sources AS
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
       v.source_reliability_score AS reliability_score
  FROM data_sources ds
  LEFT JOIN dataset_versions v ON v.data_source_id = ds.id
  LEFT JOIN datasets d ON d.id = v.dataset_id
  -- The cadences of lib/scheduling/frequency.ts expectedCadenceMs (calendar months counted from
  -- 2001-01-01) plus FRESHNESS_GRACE_MS (12 h) of lib/scheduling/freshness.ts; keep them in step.
  LEFT JOIN LATERAL (
    SELECT coalesce(v.last_success_at, v.created_at)
           + CASE ds.update_frequency
               WHEN 'weekly' THEN interval '7 days'
               WHEN 'monthly' THEN interval '31 days'
               WHEN 'quarterly' THEN interval '90 days'
               WHEN 'semi_annual' THEN interval '181 days'
               WHEN 'annual' THEN interval '365 days'
             END
           + interval '12 hours' AS due_by
  ) f ON ds.update_frequency <> 'on_event';

COMMENT ON VIEW tedi_read.sources IS
  'Every catalog source, one row per dataset version (version NULL when it has none yet), with its schedule and health.';
COMMENT ON COLUMN tedi_read.sources.source IS 'The source''s catalog name, e.g. world_bank_agriculture: the key every other view and function takes.';
COMMENT ON COLUMN tedi_read.sources.title IS 'Human title of the source.';
COMMENT ON COLUMN tedi_read.sources.organization IS 'Who publishes the data.';
COMMENT ON COLUMN tedi_read.sources.vertical IS 'agriculture, realestate, employment or business.';
COMMENT ON COLUMN tedi_read.sources.connector IS 'The source spec that fetches it (sources/specs).';
COMMENT ON COLUMN tedi_read.sources.cadence IS 'How often the source publishes: weekly, monthly, quarterly, semi_annual, annual or on_event (imported by an operator).';
COMMENT ON COLUMN tedi_read.sources.is_active IS 'Whether TEDI checks the source at all.';
COMMENT ON COLUMN tedi_read.sources.version IS 'The dataset version label, e.g. current or 2024.Q1.';
COMMENT ON COLUMN tedi_read.sources.version_id IS 'Internal id of the dataset version, fixed for its life: a join key (observation_history.version_id), not a name to keep.';
COMMENT ON COLUMN tedi_read.sources.dataset IS 'The dataset''s slug.';
COMMENT ON COLUMN tedi_read.sources.current_revision IS 'The latest revision of this version (0: no data yet). Revisions count from 1.';
COMMENT ON COLUMN tedi_read.sources.check_enabled IS 'Whether the scheduler checks this version.';
COMMENT ON COLUMN tedi_read.sources.last_checked_at IS 'When the last check finished, whatever its outcome.';
COMMENT ON COLUMN tedi_read.sources.last_success_at IS 'When the last check succeeded (new revision or no change).';
COMMENT ON COLUMN tedi_read.sources.next_check_at IS 'When the next automatic check is due (NULL: at the next scheduler run, or never for on_event).';
COMMENT ON COLUMN tedi_read.sources.due_by IS 'Past this instant without a successful check the version is overdue: last success (or creation) + cadence + 12 h grace. NULL for on_event.';
COMMENT ON COLUMN tedi_read.sources.freshness IS 'fresh, overdue, never_checked, on_event or inactive (as `npm run tedi -- versions list` says).';
COMMENT ON COLUMN tedi_read.sources.breaker_state IS 'closed, or open after repeated failures (automatic checks stop until an operator resets it).';
COMMENT ON COLUMN tedi_read.sources.breaker_opened_at IS 'When the circuit breaker opened; NULL while closed.';
COMMENT ON COLUMN tedi_read.sources.consecutive_failures IS 'Failed ingestions in a row since the last success.';
COMMENT ON COLUMN tedi_read.sources.reliability_score IS 'Share of recent ingestions that succeeded, 0 to 1.';

-- ---------------------------------------------------------------------------------------------------------
CREATE VIEW tedi_read.revisions AS
SELECT ds.name AS source,
       v.version,
       r.revision,
       r.created_at,
       r.record_count,
       r.records_added,
       r.records_updated,
       r.records_removed,
       r.records_kept,
       r.checksum,
       r.probe_token,
       r.accepted_override
  FROM dataset_revisions r
  JOIN dataset_versions v ON v.id = r.dataset_version_id
  JOIN data_sources ds ON ds.id = v.data_source_id;

COMMENT ON VIEW tedi_read.revisions IS
  'Every revision of every dataset version: each check that found a change made one, immutable once committed.';
COMMENT ON COLUMN tedi_read.revisions.source IS 'The source''s catalog name.';
COMMENT ON COLUMN tedi_read.revisions.version IS 'The dataset version label.';
COMMENT ON COLUMN tedi_read.revisions.revision IS 'Revision number, 1, 2, ... within the version.';
COMMENT ON COLUMN tedi_read.revisions.created_at IS 'When the revision was committed: what observations_as_of_date compares with.';
COMMENT ON COLUMN tedi_read.revisions.record_count IS 'Observations current in this revision.';
COMMENT ON COLUMN tedi_read.revisions.records_added IS 'Observations new in this revision.';
COMMENT ON COLUMN tedi_read.revisions.records_updated IS 'Observations whose value, unit or attributes changed in this revision.';
COMMENT ON COLUMN tedi_read.revisions.records_removed IS 'Observations no longer current from this revision on.';
COMMENT ON COLUMN tedi_read.revisions.records_kept IS 'Observations absent from the snapshot but kept at their last value because the snapshot had rejected rows.';
COMMENT ON COLUMN tedi_read.revisions.checksum IS 'Content hash of the revision''s canonical rows.';
COMMENT ON COLUMN tedi_read.revisions.probe_token IS 'The source''s own release token seen when the revision was made (e.g. World Bank lastupdated), NULL when the source has none.';
COMMENT ON COLUMN tedi_read.revisions.accepted_override IS 'What an operator accepted for this revision that a snapshot guard would otherwise have refused (e.g. a large removal); NULL normally.';

-- ---------------------------------------------------------------------------------------------------------
CREATE VIEW tedi_read.series AS
SELECT ds.name AS source,
       v.version,
       s.series_key,
       s.dimensions,
       s.created_at
  FROM series s
  JOIN dataset_versions v ON v.id = s.dataset_version_id
  JOIN data_sources ds ON ds.id = v.data_source_id;

COMMENT ON VIEW tedi_read.series IS
  'Every series of every dataset version, never deleted: a series with no current observation stays readable as of the revisions in which it had some.';
COMMENT ON COLUMN tedi_read.series.source IS 'The source''s catalog name.';
COMMENT ON COLUMN tedi_read.series.version IS 'The dataset version label.';
COMMENT ON COLUMN tedi_read.series.series_key IS 'Identifies the series within its version: a prefix and its dimension values joined by |, e.g. AG.PRD.CROP.XD|BEN.';
COMMENT ON COLUMN tedi_read.series.dimensions IS 'The named dimensions the key is made of, e.g. {"indicator": "AG.PRD.CROP.XD", "country": "BEN"}; filter with dimensions @> ''{"country": "BEN"}'' (GIN-indexed). NULL for a source that names none.';
COMMENT ON COLUMN tedi_read.series.created_at IS 'When the series was first stored.';

-- ---------------------------------------------------------------------------------------------------------
-- observation_history: every stored row with its revision range. The joins to dataset_revisions are LEFT
-- joins on a unique key, so a query that uses neither date never reads them (join removal).
CREATE VIEW tedi_read.observation_history AS
SELECT ds.name AS source,
       v.version,
       o.dataset_version_id AS version_id,
       s.series_key,
       s.dimensions,
       o.period,
       o.value,
       l.unit,
       l.attributes,
       o.valid_from,
       o.valid_to,
       rf.created_at AS valid_from_at,
       rt.created_at AS valid_to_at
  FROM observations o
  JOIN series s ON s.id = o.series_id AND s.dataset_version_id = o.dataset_version_id
  JOIN dataset_versions v ON v.id = o.dataset_version_id
  JOIN data_sources ds ON ds.id = v.data_source_id
  LEFT JOIN observation_labels l ON l.id = o.labels_id
  LEFT JOIN dataset_revisions rf ON rf.dataset_version_id = o.dataset_version_id AND rf.revision = o.valid_from
  LEFT JOIN dataset_revisions rt ON rt.dataset_version_id = o.dataset_version_id AND rt.revision = o.valid_to;

COMMENT ON VIEW tedi_read.observation_history IS
  'Every value an observation ever had: current from revision valid_from up to, not including, valid_to (NULL: still current). A row is never changed except to set valid_to.';
COMMENT ON COLUMN tedi_read.observation_history.source IS 'The source''s catalog name.';
COMMENT ON COLUMN tedi_read.observation_history.version IS 'The dataset version label.';
COMMENT ON COLUMN tedi_read.observation_history.version_id IS 'Internal id of the dataset version (tedi_read.sources.version_id): filter on it to reach the indexes directly.';
COMMENT ON COLUMN tedi_read.observation_history.series_key IS 'The series (see tedi_read.series).';
COMMENT ON COLUMN tedi_read.observation_history.dimensions IS 'The series'' named dimensions (see tedi_read.series).';
COMMENT ON COLUMN tedi_read.observation_history.period IS 'Period label as the source gives it: 2023, 2023-Q1, 2023-07. Compared as text.';
COMMENT ON COLUMN tedi_read.observation_history.value IS 'The value, exact (numeric, no float rounding); NULL when the source gives none.';
COMMENT ON COLUMN tedi_read.observation_history.unit IS 'Unit of the value, as the source gives it.';
COMMENT ON COLUMN tedi_read.observation_history.attributes IS 'Source-specific extras: flags, labels, notes (JSON object).';
COMMENT ON COLUMN tedi_read.observation_history.valid_from IS 'The revision that stored this value.';
COMMENT ON COLUMN tedi_read.observation_history.valid_to IS 'The revision from which this value is no longer current (changed or removed); NULL while current.';
COMMENT ON COLUMN tedi_read.observation_history.valid_from_at IS 'When revision valid_from was committed.';
COMMENT ON COLUMN tedi_read.observation_history.valid_to_at IS 'When revision valid_to was committed; NULL while current.';

-- ---------------------------------------------------------------------------------------------------------
CREATE VIEW tedi_read.observations_current AS
SELECT ds.name AS source,
       v.version,
       s.series_key,
       s.dimensions,
       o.period,
       o.value,
       l.unit,
       l.attributes,
       o.valid_from
  FROM observations o
  JOIN series s ON s.id = o.series_id AND s.dataset_version_id = o.dataset_version_id
  JOIN dataset_versions v ON v.id = o.dataset_version_id
  JOIN data_sources ds ON ds.id = v.data_source_id
  LEFT JOIN observation_labels l ON l.id = o.labels_id
 WHERE o.valid_to IS NULL;

COMMENT ON VIEW tedi_read.observations_current IS
  'The observations of every dataset version as of its latest revision.';
COMMENT ON COLUMN tedi_read.observations_current.source IS 'The source''s catalog name.';
COMMENT ON COLUMN tedi_read.observations_current.version IS 'The dataset version label.';
COMMENT ON COLUMN tedi_read.observations_current.series_key IS 'The series (see tedi_read.series).';
COMMENT ON COLUMN tedi_read.observations_current.dimensions IS 'The series'' named dimensions (see tedi_read.series).';
COMMENT ON COLUMN tedi_read.observations_current.period IS 'Period label as the source gives it: 2023, 2023-Q1, 2023-07. Compared as text.';
COMMENT ON COLUMN tedi_read.observations_current.value IS 'The value, exact (numeric); NULL when the source gives none.';
COMMENT ON COLUMN tedi_read.observations_current.unit IS 'Unit of the value, as the source gives it.';
COMMENT ON COLUMN tedi_read.observations_current.attributes IS 'Source-specific extras: flags, labels, notes (JSON object).';
COMMENT ON COLUMN tedi_read.observations_current.valid_from IS 'The revision that stored this value.';

-- ---------------------------------------------------------------------------------------------------------
-- As of a revision. Revision 0 (or any number below the first) is the empty store; a number above the
-- latest reads the latest.
CREATE OR REPLACE FUNCTION tedi_read.observations_as_of(p_source text, p_version text, p_revision int)
RETURNS TABLE (source text, version text, series_key text, dimensions jsonb, period text, value numeric,
               unit text, attributes jsonb, valid_from int, valid_to int)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT h.source, h.version, h.series_key, h.dimensions, h.period, h.value, h.unit, h.attributes,
         h.valid_from, h.valid_to
    FROM tedi_read.observation_history h
   -- One version, found first (an InitPlan), so the series index (dataset_version_id, series_key) and the
   -- observations primary key are used whatever the join order statistics would suggest.
   WHERE h.version_id = (SELECT s.version_id FROM tedi_read.sources s WHERE s.source = p_source AND s.version = p_version)
     AND h.valid_from <= p_revision AND (h.valid_to IS NULL OR h.valid_to > p_revision)
$$;

COMMENT ON FUNCTION tedi_read.observations_as_of(text, text, int) IS
  'The observations of a dataset version as they were at a revision: SELECT * FROM tedi_read.observations_as_of(''world_bank_agriculture'', ''current'', 3). Filter and order the result like a table; filters on series_key and dimensions use the indexes.';

-- The revision a version had at an instant: the latest committed at or before it (0 before the first).
CREATE OR REPLACE FUNCTION tedi_read.revision_at(p_source text, p_version text, p_at timestamptz)
RETURNS int
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT coalesce(max(r.revision), 0)
    FROM tedi_read.revisions r
   WHERE r.source = p_source AND r.version = p_version AND r.created_at <= p_at
$$;

COMMENT ON FUNCTION tedi_read.revision_at(text, text, timestamptz) IS
  'The revision of a dataset version current at an instant: the latest created at or before it; 0 if none was.';

CREATE OR REPLACE FUNCTION tedi_read.observations_as_of_date(p_source text, p_version text, p_at timestamptz)
RETURNS TABLE (source text, version text, series_key text, dimensions jsonb, period text, value numeric,
               unit text, attributes jsonb, valid_from int, valid_to int)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT * FROM tedi_read.observations_as_of(p_source, p_version, tedi_read.revision_at(p_source, p_version, p_at))
$$;

COMMENT ON FUNCTION tedi_read.observations_as_of_date(text, text, timestamptz) IS
  'What TEDI held at an instant: the observations as of the latest revision created at or before it, e.g. tedi_read.observations_as_of_date(''world_bank_agriculture'', ''current'', ''2026-03-01T00:00:00Z''). Empty before the first revision.';

-- ---------------------------------------------------------------------------------------------------------
-- The diff between two revisions, per observation. A row current at one revision and not the other is a
-- change; a (series, period) with a row on both sides is 'updated' unless the two rows say the same (a
-- value removed and later restored unchanged is no change). Works in either direction.
CREATE OR REPLACE FUNCTION tedi_read.diff(p_source text, p_version text, p_from_revision int, p_to_revision int)
RETURNS TABLE (series_key text, period text, change text, old_value numeric, new_value numeric,
               old_unit text, new_unit text, old_attributes jsonb, new_attributes jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  WITH touched AS (
    SELECT h.series_key, h.period, h.value, h.unit, h.attributes,
           (h.valid_from <= p_from_revision AND (h.valid_to IS NULL OR h.valid_to > p_from_revision)) AS at_from,
           (h.valid_from <= p_to_revision AND (h.valid_to IS NULL OR h.valid_to > p_to_revision)) AS at_to
      FROM tedi_read.observation_history h
     WHERE h.version_id = (SELECT s.version_id FROM tedi_read.sources s WHERE s.source = p_source AND s.version = p_version)
       AND h.valid_from <= greatest(p_from_revision, p_to_revision)
       AND (h.valid_to IS NULL OR h.valid_to > least(p_from_revision, p_to_revision))
  ),
  old AS (SELECT * FROM touched WHERE at_from AND NOT at_to),
  new AS (SELECT * FROM touched WHERE at_to AND NOT at_from)
  SELECT coalesce(n.series_key, o.series_key),
         coalesce(n.period, o.period),
         CASE WHEN o.series_key IS NULL THEN 'added' WHEN n.series_key IS NULL THEN 'removed' ELSE 'updated' END,
         o.value, n.value, o.unit, n.unit, o.attributes, n.attributes
    FROM old o
    FULL JOIN new n ON n.series_key = o.series_key AND n.period = o.period
   WHERE o.series_key IS NULL OR n.series_key IS NULL
      OR o.value IS DISTINCT FROM n.value OR o.unit IS DISTINCT FROM n.unit
      OR o.attributes IS DISTINCT FROM n.attributes
$$;

COMMENT ON FUNCTION tedi_read.diff(text, text, int, int) IS
  'What changed between two revisions of a dataset version, one row per (series_key, period): change is added, updated (old_* -> new_*) or removed. SELECT * FROM tedi_read.diff(''world_bank_agriculture'', ''current'', 2, 3) ORDER BY series_key, period.';

-- ---------------------------------------------------------------------------------------------------------
-- The read-only role. Roles belong to the cluster, not the database, so it may exist already (another
-- database on this server, a replayed migration): created only when missing. NOLOGIN: an administrator
-- gives it a login, e.g. `CREATE ROLE analyst LOGIN PASSWORD '...' IN ROLE tedi_reader` (see README).
-- Two databases migrating at once may both find it missing: the loser of that race keeps the winner's.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tedi_reader') THEN
    BEGIN
      CREATE ROLE tedi_reader NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;
COMMENT ON ROLE tedi_reader IS 'Reads TEDI''s read contract (schema tedi_read) and nothing else.';

GRANT USAGE ON SCHEMA tedi_read TO tedi_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA tedi_read TO tedi_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tedi_read TO tedi_reader;
