-- A change notice names the table it changed ('data:service'), so that a cache
-- holding only some tables' rows (the login records: users and API keys) stays
-- when others change. 'data' alone, as older versions send it, still means
-- "anything may have changed"; a process that does not know a notice takes it so.
CREATE OR REPLACE FUNCTION mobyle2_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mobyle2_changes', 'data:' || TG_TABLE_NAME);
  RETURN NULL;
END
$$;
