-- AlterTable
ALTER TABLE "worker" ADD COLUMN     "problems" JSONB NOT NULL DEFAULT '{}';
