-- A Slurm job outlives the process that submitted it (issue 27): another process
-- adopts it, raising the job's attempt, and finds its directory by this one.

-- AlterTable
ALTER TABLE "job" ADD COLUMN     "run_attempt" INTEGER;
