-- Metadata values are strings, as every Svix SDK reads them (checked on input from now on).
-- Values an earlier version stored otherwise become their JSON text, so that editing such an
-- application or endpoint later is not refused for a field the edit did not touch.
UPDATE applications SET metadata = (
    SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) = 'string' THEN value
                                      ELSE to_jsonb(coalesce(value #>> '{}', '')) END)
    FROM jsonb_each(metadata))
WHERE jsonb_typeof(metadata) = 'object'
  AND EXISTS (SELECT 1 FROM jsonb_each(metadata) WHERE jsonb_typeof(value) <> 'string');

UPDATE endpoints SET metadata = (
    SELECT jsonb_object_agg(key, CASE WHEN jsonb_typeof(value) = 'string' THEN value
                                      ELSE to_jsonb(coalesce(value #>> '{}', '')) END)
    FROM jsonb_each(metadata))
WHERE jsonb_typeof(metadata) = 'object'
  AND EXISTS (SELECT 1 FROM jsonb_each(metadata) WHERE jsonb_typeof(value) <> 'string');
