-- CreateTable
CREATE TABLE "host_rate_limits" (
    "host" TEXT NOT NULL,
    "requests_per_second" DOUBLE PRECISION NOT NULL,
    "note" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "host_rate_limits_pkey" PRIMARY KEY ("host")
);

-- CreateTable
CREATE TABLE "rate_budget_slots" (
    "bucket" TEXT NOT NULL,
    "next_slot_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "rate_budget_slots_pkey" PRIMARY KEY ("bucket")
);

