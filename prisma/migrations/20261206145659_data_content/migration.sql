-- Data items hold content: bytes in the blob store (src/storage/), named by their
-- sha256, one "blob" row per blob. An item refers to its blob's row, which cannot
-- go while any item does (RESTRICT); the row's lock orders an upload placing the
-- file with the sweep removing it (src/domain/blobs.ts).
CREATE TABLE "blob" (
    "sha256" CHAR(64) NOT NULL,
    "size" BIGINT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blob_pkey" PRIMARY KEY ("sha256")
);

-- Items recorded before hold no content: the empty blob, whose file the server
-- puts in place at its next start (its sweep does).
INSERT INTO "blob" ("sha256", "size")
  SELECT 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 0 WHERE EXISTS (SELECT 1 FROM "data_item");

ALTER TABLE "data_item" ADD COLUMN "blob_sha256" CHAR(64) NOT NULL DEFAULT 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
ADD COLUMN "format" VARCHAR(100),
ADD COLUMN "media_type" VARCHAR(255) NOT NULL DEFAULT 'application/octet-stream',
ADD COLUMN "size" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN "uploader_id" INTEGER;
ALTER TABLE "data_item" ALTER COLUMN "blob_sha256" DROP DEFAULT;

CREATE INDEX "data_item_blob_sha256_idx" ON "data_item"("blob_sha256");
CREATE INDEX "data_item_uploader_id_idx" ON "data_item"("uploader_id");

ALTER TABLE "data_item" ADD CONSTRAINT "data_item_blob_sha256_fkey" FOREIGN KEY ("blob_sha256") REFERENCES "blob"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "data_item" ADD CONSTRAINT "data_item_uploader_id_fkey" FOREIGN KEY ("uploader_id") REFERENCES "user"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- As every table (migrations change_notifications and change_tables): each commit
-- that changes it says so, for every process's read model.
CREATE TRIGGER blob_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "blob" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
