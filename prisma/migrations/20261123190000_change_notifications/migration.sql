-- Every committed change to the data announces itself on the channel
-- mobyle2_changes, so that each server process sharing this database drops what
-- it has cached (src/domain/read-cache.ts). Triggers, not the application, send
-- it: the notice leaves with the commit and only with it, whoever wrote (a
-- server, the command line, psql), and a process killed after its commit cannot
-- leave the others stale. Identical notices of one transaction are sent once.

CREATE FUNCTION mobyle2_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mobyle2_changes', 'data');
  RETURN NULL;
END
$$;

-- A failed login changes no data anyone reads, but each process's login throttle
-- needs to know which usernames and addresses have failures on record, to skip
-- its query for everyone else: each one recorded and each one forgotten.
CREATE FUNCTION mobyle2_announce_login_failure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('mobyle2_changes', json_build_object('failure',
      json_build_object('id', NEW.id, 'username', NEW.username, 'address', NEW.address))::text);
  ELSE
    PERFORM pg_notify('mobyle2_changes', json_build_object('forgotten', OLD.id)::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER server_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "server" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER service_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "service" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER user_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "user" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER api_key_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "api_key" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER group_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "group" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER group_member_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "group_member" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER project_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "project" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER project_member_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "project_member" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER project_group_grant_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "project_group_grant" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER job_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "job" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER data_item_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "data_item" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER favorite_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "favorite" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER login_failure_changed AFTER INSERT OR DELETE ON "login_failure" FOR EACH ROW EXECUTE FUNCTION mobyle2_announce_login_failure();
