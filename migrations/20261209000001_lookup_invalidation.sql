-- Each `serve` process keeps the organisation behind an API key and the application behind
-- an id or uid in memory (domain::service::lookups). These triggers tell every process to drop
-- them when one may have changed, whoever changed it: the API, the portal, the CLI or psql.
-- Statement-level, and only for the columns the lookups read: recording a key's last use
-- (every minute per key in use) or editing an application's name notifies nobody.
CREATE FUNCTION hookline_lookups_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hookline_lookups', TG_ARGV[0]);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_lookups
    AFTER UPDATE OF key_hash, org_id, revoked_at OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_lookups_changed('keys');

CREATE TRIGGER applications_lookups
    AFTER UPDATE OF id, uid, org_id OR DELETE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_lookups_changed('apps');
