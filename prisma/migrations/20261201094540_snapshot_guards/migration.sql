-- AlterTable
ALTER TABLE "data_source_configs" ADD COLUMN     "allow_empty_snapshot" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "max_body_bytes" BIGINT NOT NULL DEFAULT 2147483648,
ADD COLUMN     "max_removed_ratio" DOUBLE PRECISION NOT NULL DEFAULT 0.2;

-- AlterTable
ALTER TABLE "dataset_revisions" ADD COLUMN     "accepted_override" TEXT,
ADD COLUMN     "records_kept" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "ingestion_logs" ADD COLUMN     "accepted_override" TEXT,
ADD COLUMN     "records_kept" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "staged_observations" ADD COLUMN     "record_seq" INTEGER NOT NULL DEFAULT 0;
