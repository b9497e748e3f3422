-- CreateEnum
CREATE TYPE "JobState" AS ENUM ('queued', 'running', 'ok', 'error', 'cancelled');

-- Jobs run (issue 26). A job recorded before they did was a reference with a
-- free-text status: it never ran here, so it becomes a cancelled job whose
-- message keeps that status (its history gets the one event).

-- AlterTable
ALTER TABLE "data_item" ADD COLUMN     "job_id" INTEGER;

-- AlterTable
ALTER TABLE "job" ADD COLUMN     "attempt" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "claimed_by" VARCHAR(200),
ADD COLUMN     "executor" VARCHAR(50),
ADD COLUMN     "exit_code" INTEGER,
ADD COLUMN     "finished_at" TIMESTAMP(3),
ADD COLUMN     "handle" VARCHAR(200),
ADD COLUMN     "inputs" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "message" VARCHAR(2000) NOT NULL DEFAULT '',
ADD COLUMN     "outputs" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "reason" VARCHAR(20),
ADD COLUMN     "started_at" TIMESTAMP(3),
ADD COLUMN     "state" "JobState" NOT NULL DEFAULT 'queued',
ADD COLUMN     "submitter_id" INTEGER,
ADD CONSTRAINT "job_reason_known" CHECK ("reason" IN ('exit', 'timeout', 'output-limit', 'lost', 'system'));

UPDATE "job" SET "state" = 'cancelled', "finished_at" = "created_at",
  "message" = left('recorded before jobs ran, with the status: ' || "status", 2000);

ALTER TABLE "job" DROP COLUMN "status";

-- CreateTable
CREATE TABLE "job_event" (
    "id" BIGSERIAL NOT NULL,
    "job_id" INTEGER NOT NULL,
    "state" "JobState" NOT NULL,
    "reason" VARCHAR(20),
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_event_pkey" PRIMARY KEY ("id")
);

INSERT INTO "job_event" ("job_id", "state", "at") SELECT "id", 'cancelled', "created_at" FROM "job";

-- As every table's (20261123190000_change_notifications): each commit announces it.
CREATE TRIGGER job_event_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "job_event" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();

-- CreateTable
CREATE TABLE "worker" (
    "name" VARCHAR(200) NOT NULL,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "worker_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "data_item_job_id_idx" ON "data_item"("job_id");

-- CreateIndex
CREATE INDEX "job_event_job_id_id_idx" ON "job_event"("job_id", "id");

-- CreateIndex
CREATE INDEX "job_state_id_idx" ON "job"("state", "id");

-- CreateIndex
CREATE INDEX "job_submitter_id_idx" ON "job"("submitter_id");

-- AddForeignKey
ALTER TABLE "job" ADD CONSTRAINT "job_submitter_id_fkey" FOREIGN KEY ("submitter_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_event" ADD CONSTRAINT "job_event_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "data_item" ADD CONSTRAINT "data_item_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "job"("id") ON DELETE SET NULL ON UPDATE CASCADE;
