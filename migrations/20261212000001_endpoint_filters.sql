-- Payload filters (domain::filter): a CEL expression per endpoint over the message's payload,
-- event type, channels and tags, checked when the endpoint is saved and evaluated at ingest.
ALTER TABLE endpoints ADD COLUMN filter TEXT CHECK (length(filter) <= 2000);

-- ingest reads the filtered endpoints of a message's application (when not cached)
CREATE INDEX endpoints_filtered ON endpoints (app_id) WHERE filter IS NOT NULL;

-- every `serve` process caches each application's filters (domain::service::lookups): tell
-- them when one may have changed, whoever changed it
CREATE TRIGGER endpoints_filters_lookups
    AFTER INSERT OR DELETE OR UPDATE OF filter, app_id ON endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION hookline_lookups_changed('filters');
