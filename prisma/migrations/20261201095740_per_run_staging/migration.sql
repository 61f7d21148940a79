-- Staging moves out of the shared tables: each ingestion stages into its own UNLOGGED table in the
-- tedi_staging schema (activities/store/staging.ts), dropped when the run finishes, so nothing bloats and
-- no scratch data sits beside the store in public. Rows still in the old tables belong to runs that have
-- finished (their staging is cleared at finish) or will restage on retry.
DROP TABLE "staged_observations";

DROP TABLE "staged_records";

CREATE SCHEMA IF NOT EXISTS tedi_staging;
