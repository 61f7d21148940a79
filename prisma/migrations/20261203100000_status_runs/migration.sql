-- The status page's runs (issue #10): what an operator needs beside the read contract to follow ingestions,
-- in the same schema and under the same rules (views only, read as the migration's role, documented
-- columns, SELECT for tedi_reader). Two views:
--   tedi_read.runs           every ingestion run from the audit log: status, timing, counts, error, and the
--                            Temporal workflow id and run id to find it in the Web UI;
--   tedi_read.revision_runs  the run that made each revision, from the revision's own ingest key, so the
--                            link outlives the log row (the log is cleaned after TEDI_LOG_RETENTION_DAYS).
-- Nothing in public changes; like the read contract, Prisma does not see it.

-- ---------------------------------------------------------------------------------------------------------
CREATE VIEW tedi_read.runs AS
SELECT ds.name AS source,
       v.version,
       l.workflow_id,
       l.run_id,
       l.status::text AS status,
       l.trigger,
       l.started_at,
       l.finished_at,
       l.duration_ms,
       l.revision,
       l.records_added,
       l.records_updated,
       l.records_unchanged,
       l.records_removed,
       l.records_rejected,
       l.records_kept,
       l.error_class,
       l.error_message,
       l.accepted_override
  FROM ingestion_logs l
  JOIN dataset_versions v ON v.id = l.dataset_version_id
  JOIN data_sources ds ON ds.id = v.data_source_id;

COMMENT ON VIEW tedi_read.runs IS
  'Every ingestion run of every dataset version, from the audit log (kept TEDI_LOG_RETENTION_DAYS days): status, timing, counts, error, and the Temporal workflow and run ids.';
COMMENT ON COLUMN tedi_read.runs.source IS 'The source''s catalog name.';
COMMENT ON COLUMN tedi_read.runs.version IS 'The dataset version label.';
COMMENT ON COLUMN tedi_read.runs.workflow_id IS 'The Temporal workflow id of the run, e.g. ingest-world_bank_business-current-20261128T120000Z.';
COMMENT ON COLUMN tedi_read.runs.run_id IS 'The Temporal run id: with workflow_id, names the run in the Temporal Web UI.';
COMMENT ON COLUMN tedi_read.runs.status IS 'running, success (a new revision), no_change, failed or skipped.';
COMMENT ON COLUMN tedi_read.runs.trigger IS 'What started the run: schedule, manual or event.';
COMMENT ON COLUMN tedi_read.runs.started_at IS 'When the run began.';
COMMENT ON COLUMN tedi_read.runs.finished_at IS 'When the run ended; NULL while it runs.';
COMMENT ON COLUMN tedi_read.runs.duration_ms IS 'How long the run took, in milliseconds; NULL while it runs.';
COMMENT ON COLUMN tedi_read.runs.revision IS 'The revision the run made (tedi_read.revisions.revision); NULL when it made none.';
COMMENT ON COLUMN tedi_read.runs.records_added IS 'Observations new in the run''s revision.';
COMMENT ON COLUMN tedi_read.runs.records_updated IS 'Observations whose value, unit or attributes the run changed.';
COMMENT ON COLUMN tedi_read.runs.records_unchanged IS 'Observations the run found as they were.';
COMMENT ON COLUMN tedi_read.runs.records_removed IS 'Observations the run''s revision no longer has.';
COMMENT ON COLUMN tedi_read.runs.records_rejected IS 'Source rows the run refused (validation); their reasons are in the audit log.';
COMMENT ON COLUMN tedi_read.runs.records_kept IS 'Observations absent from the snapshot but kept at their last value because the snapshot had rejected rows.';
COMMENT ON COLUMN tedi_read.runs.error_class IS 'The failure type of a failed run (SourceUnavailable, InvalidPayload, SuspiciousSnapshot, ...); NULL otherwise.';
COMMENT ON COLUMN tedi_read.runs.error_message IS 'What went wrong, as the run reported it (credentials masked); NULL when nothing did.';
COMMENT ON COLUMN tedi_read.runs.accepted_override IS 'What an operator accepted for this run that a snapshot guard would otherwise have refused; NULL normally.';

-- ---------------------------------------------------------------------------------------------------------
-- A revision's ingest key is `<workflow id>/<run id>` (activities/ingestion/ingest-key.ts). A run id has no
-- '/', a workflow id may (a version label can), so the key is split at its last '/'.
CREATE VIEW tedi_read.revision_runs AS
SELECT ds.name AS source,
       v.version,
       r.revision,
       CASE WHEN strpos(r.ingest_key, '/') > 0
            THEN left(r.ingest_key, length(r.ingest_key) - strpos(reverse(r.ingest_key), '/'))
            ELSE r.ingest_key
       END AS workflow_id,
       CASE WHEN strpos(r.ingest_key, '/') > 0
            THEN right(r.ingest_key, strpos(reverse(r.ingest_key), '/') - 1)
       END AS run_id
  FROM dataset_revisions r
  JOIN dataset_versions v ON v.id = r.dataset_version_id
  JOIN data_sources ds ON ds.id = v.data_source_id;

COMMENT ON VIEW tedi_read.revision_runs IS
  'The Temporal run that made each revision (from the revision''s ingest key, so it outlives the audit log).';
COMMENT ON COLUMN tedi_read.revision_runs.source IS 'The source''s catalog name.';
COMMENT ON COLUMN tedi_read.revision_runs.version IS 'The dataset version label.';
COMMENT ON COLUMN tedi_read.revision_runs.revision IS 'Revision number (tedi_read.revisions.revision).';
COMMENT ON COLUMN tedi_read.revision_runs.workflow_id IS 'The Temporal workflow id of the run that committed the revision.';
COMMENT ON COLUMN tedi_read.revision_runs.run_id IS 'The Temporal run id of that run; NULL for a revision whose key names no run.';

GRANT SELECT ON tedi_read.runs, tedi_read.revision_runs TO tedi_reader;
