-- The compact store (issue #8). Observations repeated their series key, unit and attribute labels on
-- every row and kept the row hash as 32 hex characters: 330 bytes per observation against 195 for the
-- same rows in a plain table. Now the key lives once in `series`, each distinct unit + attribute set once
-- in `observation_labels`, and the hash is 16 bytes. An observation is identified by (series, period,
-- valid_from), its primary key and the as-of index at once; the surrogate id and its index are gone.
--
-- Every existing row is carried over with its revision range (valid_from / valid_to), its period and
-- value, so every revision reads exactly as before (test/unit/compact-store-migration.test.ts). The old
-- merge never inserted two rows of one (series, period) in one revision, so the new key is unique; were a
-- hand-edited store to break that, the migration fails as a whole and changes nothing.
-- A row hash that is not hex (none were ever written, but a hand-edited row might be) becomes a hash that
-- matches nothing: the next load then compares that row by content and brings its hash up to date.

CREATE TABLE "series" (
    "id" BIGSERIAL NOT NULL,
    "dataset_version_id" INTEGER NOT NULL,
    "series_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "series_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "observation_labels" (
    "id" BIGSERIAL NOT NULL,
    "dataset_version_id" INTEGER NOT NULL,
    "digest" BYTEA NOT NULL,
    "unit" TEXT,
    "attributes" JSONB,

    CONSTRAINT "observation_labels_pkey" PRIMARY KEY ("id")
);

INSERT INTO "series" ("dataset_version_id", "series_key")
SELECT DISTINCT "dataset_version_id", "series_key" FROM "observations" ORDER BY 1, 2;

-- The digest rule is the merge's (activities/store/merge-revision.ts, LABELS_DIGEST).
INSERT INTO "observation_labels" ("dataset_version_id", "digest", "unit", "attributes")
SELECT DISTINCT ON ("dataset_version_id", "digest") "dataset_version_id", "digest", "unit", "attributes"
  FROM (SELECT "dataset_version_id", "unit", "attributes",
               sha256(convert_to(jsonb_build_array("unit", "attributes")::text, 'UTF8')) AS "digest"
          FROM "observations" WHERE "unit" IS NOT NULL OR "attributes" IS NOT NULL) AS l
 ORDER BY "dataset_version_id", "digest";

CREATE UNIQUE INDEX "series_dataset_version_id_series_key_key" ON "series"("dataset_version_id", "series_key");
CREATE UNIQUE INDEX "observation_labels_dataset_version_id_digest_key" ON "observation_labels"("dataset_version_id", "digest");

-- The old table steps aside (its indexes first: their names are taken again below).
DROP INDEX "observations_as_of_idx";
DROP INDEX "observations_current_key";
ALTER TABLE "observations" RENAME TO "observations_before_compact";
ALTER TABLE "observations_before_compact" RENAME CONSTRAINT "observations_pkey" TO "observations_before_compact_pkey";

CREATE TABLE "observations" (
    "series_id" BIGINT NOT NULL,
    "labels_id" BIGINT,
    "dataset_version_id" INTEGER NOT NULL,
    "valid_from" INTEGER NOT NULL,
    "valid_to" INTEGER,
    "period" TEXT NOT NULL,
    "value" DECIMAL,
    "row_hash" BYTEA NOT NULL,

    CONSTRAINT "observations_pkey" PRIMARY KEY ("series_id","period","valid_from")
);

INSERT INTO "observations" ("series_id", "labels_id", "dataset_version_id", "valid_from", "valid_to",
                            "period", "value", "row_hash")
SELECT s."id", l."id", o."dataset_version_id", o."valid_from", o."valid_to", o."period", o."value",
       CASE WHEN o."row_hash" ~ '^([0-9a-f]{2})+$' THEN decode(o."row_hash", 'hex')
            ELSE substring(sha256(convert_to('not hex: ' || o."row_hash", 'UTF8')) FROM 1 FOR 16) END
  FROM "observations_before_compact" o
  JOIN "series" s ON s."dataset_version_id" = o."dataset_version_id" AND s."series_key" = o."series_key"
  LEFT JOIN "observation_labels" l
         ON l."dataset_version_id" = o."dataset_version_id"
        AND l."digest" = sha256(convert_to(jsonb_build_array(o."unit", o."attributes")::text, 'UTF8'))
        AND (o."unit" IS NOT NULL OR o."attributes" IS NOT NULL)
 ORDER BY s."id", o."period", o."valid_from";

DROP TABLE "observations_before_compact";

-- Hand-managed (schema.prisma cannot express a partial index): at most one current row per
-- (series, period); historical rows (valid_to set) may repeat the key.
CREATE UNIQUE INDEX observations_current_key ON observations (dataset_version_id, series_id, period) WHERE valid_to IS NULL;

ALTER TABLE "series" ADD CONSTRAINT "series_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "observation_labels" ADD CONSTRAINT "observation_labels_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "observations" ADD CONSTRAINT "observations_series_id_fkey" FOREIGN KEY ("series_id") REFERENCES "series"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "observations" ADD CONSTRAINT "observations_labels_id_fkey" FOREIGN KEY ("labels_id") REFERENCES "observation_labels"("id") ON DELETE NO ACTION ON UPDATE CASCADE;
-- No foreign key from observations.dataset_version_id: the series' key ties each observation to its
-- version (and cascades), and a second per-row check cost ~40 % of a first load's insert.

ANALYZE "series";
ANALYZE "observation_labels";
ANALYZE "observations";
