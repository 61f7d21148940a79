-- CreateEnum
CREATE TYPE "DeliveryStatus" AS ENUM ('pending', 'delivered', 'failed');

-- CreateTable
CREATE TABLE "change_events" (
    "id" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "dataset_version_id" INTEGER NOT NULL,
    "source_name" TEXT NOT NULL,
    "revision" INTEGER NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "change_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_subscriptions" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "secret_encrypted" TEXT NOT NULL,
    "sources" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "active" BOOLEAN NOT NULL DEFAULT true,
    "dispatched_through" BIGINT NOT NULL DEFAULT 0,
    "disabled_reason" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "subscription_id" INTEGER NOT NULL,
    "event_id" BIGINT NOT NULL,
    "status" "DeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "redeliveries" INTEGER NOT NULL DEFAULT 0,
    "started_at" TIMESTAMPTZ(3),
    "last_attempt_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "last_http_status" INTEGER,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_attempts" (
    "id" BIGSERIAL NOT NULL,
    "delivery_id" BIGINT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "http_status" INTEGER,
    "outcome" TEXT NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "change_events_source_name_id_idx" ON "change_events"("source_name", "id");

-- CreateIndex
CREATE UNIQUE INDEX "change_events_dataset_version_id_revision_key" ON "change_events"("dataset_version_id", "revision");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_subscriptions_name_key" ON "webhook_subscriptions"("name");

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_started_at_idx" ON "webhook_deliveries"("status", "started_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_subscription_id_event_id_key" ON "webhook_deliveries"("subscription_id", "event_id");

-- CreateIndex
CREATE INDEX "webhook_attempts_delivery_id_attempt_idx" ON "webhook_attempts"("delivery_id", "attempt");

-- AddForeignKey
ALTER TABLE "change_events" ADD CONSTRAINT "change_events_dataset_version_id_fkey" FOREIGN KEY ("dataset_version_id") REFERENCES "dataset_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_subscription_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "webhook_subscriptions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "change_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- ---------------------------------------------------------------------------------------------------------
-- Hand-written: the change feed in the read contract, for consumers that poll with SQL instead of taking
-- webhooks or the SSE stream. `WHERE id > <last id seen> ORDER BY id` is the whole protocol.
CREATE VIEW tedi_read.changes AS
SELECT e.id,
       e.type,
       e.source_name AS source,
       v.version,
       e.revision,
       e.payload,
       e.created_at
  FROM change_events e
  JOIN dataset_versions v ON v.id = e.dataset_version_id;

COMMENT ON VIEW tedi_read.changes IS
  'The change feed: one row per committed revision, written in the revision''s own transaction; ids only grow.';
COMMENT ON COLUMN tedi_read.changes.id IS 'Event id: events commit in id order (the outbox insert takes a lock held to commit), so WHERE id > the last one you saw misses none.';
COMMENT ON COLUMN tedi_read.changes.type IS 'revision.created';
COMMENT ON COLUMN tedi_read.changes.source IS 'The source''s catalog name.';
COMMENT ON COLUMN tedi_read.changes.version IS 'The dataset version label.';
COMMENT ON COLUMN tedi_read.changes.revision IS 'The revision that was committed.';
COMMENT ON COLUMN tedi_read.changes.payload IS 'The event as webhooks and the SSE stream deliver it: counts, previous revision, API links.';
COMMENT ON COLUMN tedi_read.changes.created_at IS 'When the revision was committed.';

GRANT SELECT ON tedi_read.changes TO tedi_reader;
