-- Group names are keys (/groups/{name}, members' groups, project grants) and, like
-- usernames, one name whatever their case. A database holding group names that
-- differ only by case stops here, naming them, with nothing changed.
DO $$
DECLARE
  clashes text;
BEGIN
  SELECT string_agg(names, '; ') INTO clashes FROM (
    SELECT string_agg(name, ', ' ORDER BY id) AS names FROM "group" GROUP BY lower(name) HAVING count(*) > 1
  ) AS clashing;
  IF clashes IS NOT NULL THEN
    RAISE EXCEPTION 'group names that differ only by case must be renamed before this migration, all but one of each group (psql: UPDATE "group" SET name = ''<new name>'' WHERE name = ''<old name>''): %', clashes;
  END IF;
END
$$;

ALTER TABLE "group" ADD COLUMN "name_key" VARCHAR(100) NOT NULL DEFAULT '';

CREATE FUNCTION mobyle2_fold_group_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.name_key := lower(NEW.name);
  RETURN NEW;
END
$$;
CREATE TRIGGER group_name_folded BEFORE INSERT OR UPDATE ON "group" FOR EACH ROW EXECUTE FUNCTION mobyle2_fold_group_name();

UPDATE "group" SET name_key = lower(name);
CREATE UNIQUE INDEX "group_name_key_key" ON "group"("name_key");
