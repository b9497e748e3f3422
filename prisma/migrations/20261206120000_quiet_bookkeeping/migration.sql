-- Bookkeeping is no change anyone's remembered answer misses: recording when a
-- user last logged in or a key was last used must not make every process forget
-- its users and keys (src/domain/read-model.ts). The user and api_key triggers
-- fire per row, only when something besides that column changed; the payload is
-- the same as before ('data:user', 'data:api_key'), sent once per transaction.
DROP TRIGGER user_changed ON "user";
DROP TRIGGER api_key_changed ON "api_key";

CREATE TRIGGER user_changed AFTER INSERT OR DELETE ON "user" FOR EACH ROW EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER user_truncated AFTER TRUNCATE ON "user" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER user_updated AFTER UPDATE ON "user" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_login_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_login_at'))
  EXECUTE FUNCTION mobyle2_announce_change();

CREATE TRIGGER api_key_changed AFTER INSERT OR DELETE ON "api_key" FOR EACH ROW EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER api_key_truncated AFTER TRUNCATE ON "api_key" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER api_key_updated AFTER UPDATE ON "api_key" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
  EXECUTE FUNCTION mobyle2_announce_change();

-- A peer's claim for a sync (sync_claimed_until) is the syncing processes' own
-- bookkeeping: the sync's outcome, when it comes, changes the row again.
DROP TRIGGER server_changed ON "server";
CREATE TRIGGER server_changed AFTER INSERT OR DELETE ON "server" FOR EACH ROW EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER server_truncated AFTER TRUNCATE ON "server" FOR EACH STATEMENT EXECUTE FUNCTION mobyle2_announce_change();
CREATE TRIGGER server_updated AFTER UPDATE ON "server" FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'sync_claimed_until') IS DISTINCT FROM (to_jsonb(NEW) - 'sync_claimed_until'))
  EXECUTE FUNCTION mobyle2_announce_change();
