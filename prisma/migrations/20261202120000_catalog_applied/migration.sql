-- AlterTable
ALTER TABLE "data_sources" ADD COLUMN     "catalog_applied" JSONB;
