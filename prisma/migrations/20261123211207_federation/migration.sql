-- DropIndex
DROP INDEX "service_name_project_scope_server_id_key";

-- AlterTable
ALTER TABLE "server" ADD COLUMN     "last_sync_at" TIMESTAMP(3),
ADD COLUMN     "last_sync_error" VARCHAR(2000),
ADD COLUMN     "sync_claimed_until" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "service" ADD COLUMN     "imported" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "imported_project" VARCHAR(100) NOT NULL DEFAULT '';

-- CreateIndex
CREATE UNIQUE INDEX "service_name_project_scope_imported_project_server_id_key" ON "service"("name", "project_scope", "imported_project", "server_id");
