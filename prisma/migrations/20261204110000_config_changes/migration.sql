-- CreateTable
CREATE TABLE "config_changes" (
    "id" BIGSERIAL NOT NULL,
    "data_source_id" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "old_value" JSONB,
    "new_value" JSONB,
    "changed_by" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "command" TEXT NOT NULL,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "config_changes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "config_changes_data_source_id_changed_at_idx" ON "config_changes"("data_source_id", "changed_at");

-- AddForeignKey
ALTER TABLE "config_changes" ADD CONSTRAINT "config_changes_data_source_id_fkey" FOREIGN KEY ("data_source_id") REFERENCES "data_sources"("id") ON DELETE CASCADE ON UPDATE CASCADE;
