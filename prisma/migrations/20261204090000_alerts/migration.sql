-- CreateEnum
CREATE TYPE "AlertChannelKind" AS ENUM ('webhook', 'slack', 'email');

-- CreateTable
CREATE TABLE "alert_channels" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "AlertChannelKind" NOT NULL,
    "target" TEXT NOT NULL,
    "secret_encrypted" TEXT NOT NULL,
    "kinds" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "sources" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "active" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_channels_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "incidents" (
    "id" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "dataset_version_id" INTEGER NOT NULL,
    "source_name" TEXT NOT NULL,
    "subject" TEXT NOT NULL DEFAULT '',
    "summary" TEXT NOT NULL,
    "details" JSONB,
    "opened_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "incidents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_notifications" (
    "id" BIGSERIAL NOT NULL,
    "incident_id" BIGINT NOT NULL,
    "channel_id" INTEGER NOT NULL,
    "transition" TEXT NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_notifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_series_checks" (
    "dataset_version_id" INTEGER NOT NULL,
    "revision" INTEGER NOT NULL,

    CONSTRAINT "alert_series_checks_pkey" PRIMARY KEY ("dataset_version_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "alert_channels_name_key" ON "alert_channels"("name");

-- CreateIndex
CREATE INDEX "incidents_dataset_version_id_opened_at_idx" ON "incidents"("dataset_version_id", "opened_at");

-- CreateIndex
CREATE INDEX "alert_notifications_status_started_at_idx" ON "alert_notifications"("status", "started_at");

-- CreateIndex
CREATE UNIQUE INDEX "alert_notifications_incident_id_channel_id_transition_key" ON "alert_notifications"("incident_id", "channel_id", "transition");

-- AddForeignKey
ALTER TABLE "incidents" ADD CONSTRAINT "incidents_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_notifications" ADD CONSTRAINT "alert_notifications_incident_id_fkey" FOREIGN KEY ("incident_id") REFERENCES "incidents"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_notifications" ADD CONSTRAINT "alert_notifications_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "alert_channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_series_checks" ADD CONSTRAINT "alert_series_checks_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Hand-managed (scripts/check-drift.ts HAND_MANAGED_STATEMENTS): at most one open incident per condition,
-- so the evaluator's "open it unless it is open" is one INSERT ... ON CONFLICT DO NOTHING.
CREATE UNIQUE INDEX "incidents_open_key" ON "incidents"("kind", "dataset_version_id", "subject") WHERE "resolved_at" IS NULL;

-- Revisions that existed before alerts did are old news: their series changes are never told.
INSERT INTO "alert_series_checks" ("dataset_version_id", "revision")
SELECT "id", "current_revision" FROM "dataset_versions" WHERE "current_revision" > 0;
