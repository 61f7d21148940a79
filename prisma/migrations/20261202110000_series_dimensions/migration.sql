-- Series identity with named dimensions (issue #9): each series stores the dimensions its key is made of,
-- as its source's spec declares them, so a consumer filters by country or indicator with
-- `dimensions @> '{"country": "BEN"}'` (the GIN index) instead of parsing keys. Existing series get theirs
-- from their next load; until then the column is NULL.
ALTER TABLE "series" ADD COLUMN "dimensions" JSONB;

CREATE INDEX "series_dimensions_idx" ON "series" USING GIN ("dimensions" jsonb_path_ops);
