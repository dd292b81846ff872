-- Message search (domain::search): `path = value` terms ask that the payload contain a JSON
-- document, the other words are a full-text query over the payload's values. Both are answered
-- from GIN indexes on expressions of the stored payload text, so no column is added and the
-- payload is still delivered byte for byte.

-- The payload as jsonb, or NULL when PostgreSQL's jsonb cannot hold it although JSON can (a
-- \u0000 escape, a lone surrogate, a number beyond numeric's range) or when it is a raw,
-- non-JSON payload: an index expression that raised would refuse the message at ingest.
-- Its COST (and the words' below) tells the planner what computing it per row takes, some
-- microseconds: a search then reads its index unless the first page is near (a common word),
-- rather than walking the application's messages newest first recomputing it for each.
CREATE FUNCTION hookline_payload_jsonb(payload TEXT) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE COST 2000 AS $$
BEGIN
    RETURN payload::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

-- The words of a payload: of its string and number values when it is JSON (keys are not
-- words a person looks for), of the text otherwise; NULL when they exceed what a tsvector
-- holds (1 MiB of words and positions), as raising would refuse the message. plpgsql, naming
-- nothing outside pg_catalog: an SQL function's body is resolved by the search_path of its
-- caller, which is empty in autovacuum's ANALYZE (and, from PostgreSQL 17, in CREATE INDEX).
CREATE FUNCTION hookline_payload_words(payload TEXT) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL UNSAFE COST 5000 AS $$
BEGIN
    BEGIN
        RETURN jsonb_to_tsvector('simple'::regconfig, payload::jsonb, '["string", "numeric"]');
    EXCEPTION WHEN others THEN
        NULL; -- not JSON jsonb can hold, or too many words: try the text
    END;
    BEGIN
        RETURN to_tsvector('simple'::regconfig, payload);
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
END $$;

-- ON ONLY the parent: instant, where indexing a large history here would stop every insert
-- until it was done. Each partition's index is built CONCURRENTLY by the running servers
-- (domain::store::partition_indexes), and partitions made from now on get them when attached.
CREATE INDEX messages_payload_fields ON ONLY messages USING gin (hookline_payload_jsonb(payload) jsonb_path_ops);
CREATE INDEX messages_payload_words ON ONLY messages USING gin (hookline_payload_words(payload));
