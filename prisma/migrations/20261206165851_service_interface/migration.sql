-- A program's interface: a CWL CommandLineTool (the subset src/domain/interfaces/
-- loads), kept as the administrator sent it (JSON, not JSONB: its members keep
-- their order); has_interface says whether there is one, so that lists of
-- services show it without reading the documents.
ALTER TABLE "service" ADD COLUMN     "has_interface" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "interface" JSON;

-- Prisma does not manage CHECK constraints (a later diff leaves them alone): they
-- hold what the domain also checks, whoever writes. Only a program carries an
-- interface, and has_interface is true exactly when it does.
ALTER TABLE "service" ADD CONSTRAINT "service_interface_program" CHECK ("interface" IS NULL OR "type" = 'program');
ALTER TABLE "service" ADD CONSTRAINT "service_has_interface" CHECK ("has_interface" = ("interface" IS NOT NULL));
