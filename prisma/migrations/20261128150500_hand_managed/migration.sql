-- What schema.prisma cannot express. scripts/check-drift.ts ignores these objects by name
-- (HAND_MANAGED_STATEMENTS); keep that list in step with this file.

-- At most one current row per (series, period) in a dataset version: the load path upserts against it,
-- and the historical rows (valid_to set) may repeat the key.
CREATE UNIQUE INDEX observations_current_key ON observations (dataset_version_id, series_key, period) WHERE valid_to IS NULL;

-- Scratch tables, refilled by every ingestion: skip the WAL. Their content does not survive a crash,
-- which only means that ingestion is retried.
ALTER TABLE staged_records SET UNLOGGED;
ALTER TABLE staged_observations SET UNLOGGED;
