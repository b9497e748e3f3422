-- AlterTable
ALTER TABLE "job" ALTER COLUMN "executor" SET DEFAULT 'local';

-- AlterTable
ALTER TABLE "worker" ADD COLUMN     "executors" VARCHAR(50)[] DEFAULT ARRAY[]::VARCHAR(50)[];

-- Each job's executor is chosen when it is submitted, and dispatchers claim the
-- jobs of their own executor: those queued before routes existed go to the local one.
UPDATE "job" SET "executor" = 'local' WHERE "state" = 'queued' AND "executor" IS NULL;
