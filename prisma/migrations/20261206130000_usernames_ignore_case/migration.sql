-- Usernames are unique regardless of case: `Admin` and `ADMIN` are the name `admin`
-- is, and a login may use any case. A database holding usernames that differ only
-- by case stops here, naming them, with nothing changed: rename all but one first.
DO $$
DECLARE
  clashes text;
BEGIN
  SELECT string_agg(names, '; ') INTO clashes FROM (
    SELECT string_agg(username, ', ' ORDER BY id) AS names FROM "user" GROUP BY lower(username) HAVING count(*) > 1
  ) AS clashing;
  IF clashes IS NOT NULL THEN
    RAISE EXCEPTION 'usernames that differ only by case must be renamed before this migration, all but one of each group (psql: UPDATE "user" SET username = ''<new name>'' WHERE username = ''<old name>''): %', clashes;
  END IF;
END
$$;

ALTER TABLE "user" ADD COLUMN "username_key" VARCHAR(100) NOT NULL DEFAULT '';

CREATE FUNCTION mobyle2_fold_username() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.username_key := lower(NEW.username);
  RETURN NEW;
END
$$;
CREATE TRIGGER user_username_folded BEFORE INSERT OR UPDATE ON "user" FOR EACH ROW EXECUTE FUNCTION mobyle2_fold_username();

UPDATE "user" SET username_key = lower(username);
CREATE UNIQUE INDEX "user_username_key_key" ON "user"("username_key");
