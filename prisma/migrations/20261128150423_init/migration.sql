-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Vertical" AS ENUM ('agriculture', 'realestate', 'employment', 'business');

-- CreateEnum
CREATE TYPE "UpdateFrequency" AS ENUM ('weekly', 'monthly', 'quarterly', 'semi_annual', 'annual', 'on_event');

-- CreateEnum
CREATE TYPE "AuthType" AS ENUM ('none', 'api_key', 'bearer', 'basic');

-- CreateEnum
CREATE TYPE "IngestionStatus" AS ENUM ('running', 'success', 'no_change', 'failed', 'skipped');

-- CreateTable
CREATE TABLE "data_sources" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "organization" TEXT NOT NULL,
    "source_type" TEXT NOT NULL DEFAULT 'external',
    "vertical" "Vertical" NOT NULL,
    "connector" TEXT NOT NULL,
    "update_frequency" "UpdateFrequency" NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "params" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "data_sources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "data_source_configs" (
    "id" SERIAL NOT NULL,
    "data_source_id" INTEGER NOT NULL,
    "base_url" TEXT NOT NULL,
    "auth_type" "AuthType" NOT NULL DEFAULT 'none',
    "api_key_encrypted" TEXT,
    "username" TEXT,
    "rate_limit_per_second" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "timeout_ms" INTEGER NOT NULL DEFAULT 60000,
    "max_retries" INTEGER NOT NULL DEFAULT 5,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "data_source_configs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "datasets" (
    "id" SERIAL NOT NULL,
    "slug" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT,
    "vertical" "Vertical" NOT NULL,
    "data_source_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "datasets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset_versions" (
    "id" SERIAL NOT NULL,
    "dataset_id" INTEGER NOT NULL,
    "data_source_id" INTEGER NOT NULL,
    "version" TEXT NOT NULL,
    "check_enabled" BOOLEAN NOT NULL DEFAULT true,
    "last_checked_at" TIMESTAMPTZ(3),
    "next_check_at" TIMESTAMPTZ(3),
    "last_success_at" TIMESTAMPTZ(3),
    "last_checksum" TEXT,
    "last_probe_token" TEXT,
    "current_revision" INTEGER NOT NULL DEFAULT 0,
    "source_reliability_score" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "breaker_opened_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "dataset_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ingestion_logs" (
    "id" BIGSERIAL NOT NULL,
    "dataset_version_id" INTEGER NOT NULL,
    "status" "IngestionStatus" NOT NULL,
    "trigger" TEXT NOT NULL DEFAULT 'schedule',
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "records_added" INTEGER NOT NULL DEFAULT 0,
    "records_updated" INTEGER NOT NULL DEFAULT 0,
    "records_unchanged" INTEGER NOT NULL DEFAULT 0,
    "records_removed" INTEGER NOT NULL DEFAULT 0,
    "records_rejected" INTEGER NOT NULL DEFAULT 0,
    "bytes_fetched" BIGINT NOT NULL DEFAULT 0,
    "checksum" TEXT,
    "probe_token" TEXT,
    "revision" INTEGER,
    "error_class" TEXT,
    "error_message" TEXT,
    "rejects" JSONB,
    "workflow_id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ingestion_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dataset_revisions" (
    "id" SERIAL NOT NULL,
    "dataset_version_id" INTEGER NOT NULL,
    "revision" INTEGER NOT NULL,
    "checksum" TEXT NOT NULL,
    "probe_token" TEXT,
    "record_count" INTEGER NOT NULL,
    "records_added" INTEGER NOT NULL DEFAULT 0,
    "records_updated" INTEGER NOT NULL DEFAULT 0,
    "records_removed" INTEGER NOT NULL DEFAULT 0,
    "ingest_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "dataset_revisions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "observations" (
    "id" BIGSERIAL NOT NULL,
    "dataset_version_id" INTEGER NOT NULL,
    "series_key" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "value" DECIMAL,
    "unit" TEXT,
    "attributes" JSONB,
    "row_hash" TEXT NOT NULL,
    "valid_from" INTEGER NOT NULL,
    "valid_to" INTEGER,

    CONSTRAINT "observations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "staged_records" (
    "ingest_key" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "payload" JSONB NOT NULL,

    CONSTRAINT "staged_records_pkey" PRIMARY KEY ("ingest_key","seq")
);

-- CreateTable
CREATE TABLE "staged_observations" (
    "ingest_key" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "series_key" TEXT NOT NULL,
    "period" TEXT NOT NULL,
    "value" DECIMAL,
    "unit" TEXT,
    "attributes" JSONB,
    "row_hash" TEXT NOT NULL,

    CONSTRAINT "staged_observations_pkey" PRIMARY KEY ("ingest_key","seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "data_sources_name_key" ON "data_sources"("name");

-- CreateIndex
CREATE UNIQUE INDEX "data_source_configs_data_source_id_key" ON "data_source_configs"("data_source_id");

-- CreateIndex
CREATE UNIQUE INDEX "datasets_slug_key" ON "datasets"("slug");

-- CreateIndex
CREATE INDEX "dataset_versions_due_idx" ON "dataset_versions"("check_enabled", "next_check_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "dataset_versions_dataset_id_version_key" ON "dataset_versions"("dataset_id", "version");

-- CreateIndex
CREATE INDEX "ingestion_logs_dataset_version_id_started_at_idx" ON "ingestion_logs"("dataset_version_id", "started_at" DESC);

-- CreateIndex
CREATE INDEX "ingestion_logs_created_at_idx" ON "ingestion_logs"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "ingestion_logs_workflow_id_run_id_key" ON "ingestion_logs"("workflow_id", "run_id");

-- CreateIndex
CREATE UNIQUE INDEX "dataset_revisions_ingest_key_key" ON "dataset_revisions"("ingest_key");

-- CreateIndex
CREATE UNIQUE INDEX "dataset_revisions_dataset_version_id_revision_key" ON "dataset_revisions"("dataset_version_id", "revision");

-- CreateIndex
CREATE INDEX "observations_as_of_idx" ON "observations"("dataset_version_id", "series_key", "period", "valid_from");

-- CreateIndex
CREATE INDEX "staged_observations_ingest_key_series_key_period_idx" ON "staged_observations"("ingest_key", "series_key", "period");

-- AddForeignKey
ALTER TABLE "data_source_configs" ADD CONSTRAINT "data_source_configs_data_source_id_fkey" FOREIGN KEY ("data_source_id") REFERENCES "data_sources"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_data_source_id_fkey" FOREIGN KEY ("data_source_id") REFERENCES "data_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_versions" ADD CONSTRAINT "dataset_versions_data_source_id_fkey" FOREIGN KEY ("data_source_id") REFERENCES "data_sources"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ingestion_logs" ADD CONSTRAINT "ingestion_logs_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dataset_revisions" ADD CONSTRAINT "dataset_revisions_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "observations" ADD CONSTRAINT "observations_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
