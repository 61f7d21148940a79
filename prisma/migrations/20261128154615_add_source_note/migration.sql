-- AlterTable
ALTER TABLE "data_sources" ADD COLUMN     "note" TEXT;
