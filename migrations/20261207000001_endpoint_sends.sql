-- The sends in flight to each endpoint, across every worker process, so that
-- HOOKLINE_ENDPOINT_CONCURRENCY holds for the whole deployment rather than per process.
-- One row per endpoint holds the lease end of each send in flight: a worker reserves sends
-- here before it starts them and removes them when it records their attempts; a send whose
-- worker died leaves with its lease, so nothing leaks. The counts live in the row that is
-- locked (not in rows counted from a snapshot), so that two workers reserving at once see
-- each other's reservations.
CREATE TABLE endpoint_sends (
    endpoint_id TEXT PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    leases TIMESTAMPTZ[] NOT NULL,
    -- how many the last reservation was granted (what the reserving statement returns)
    last_grant INT NOT NULL
);

-- The leases in `leases` still running.
CREATE FUNCTION endpoint_sends_live(leases TIMESTAMPTZ[]) RETURNS TIMESTAMPTZ[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(l), '{}') FROM unnest(leases) AS l WHERE l > now()
$$;

-- `leases` without one occurrence of each element of `done` (a multiset difference), and
-- without the leases that have run out.
CREATE FUNCTION endpoint_sends_without(leases TIMESTAMPTZ[], done TIMESTAMPTZ[]) RETURNS TIMESTAMPTZ[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(a.l), '{}')
    FROM (SELECT l, row_number() OVER (PARTITION BY l) AS nth FROM unnest(leases) AS l) a
    WHERE a.l > now() AND a.nth > (SELECT count(*) FROM unnest(done) AS d WHERE d = a.l)
$$;

-- What a reservation leaves: `kept` (the leases still running that did not end) and up to
-- `asked` more sends held until `lease`, within `cap` in all.
CREATE FUNCTION endpoint_sends_add(kept TIMESTAMPTZ[], asked INT, lease TIMESTAMPTZ, cap INT) RETURNS TIMESTAMPTZ[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT kept || array_fill(lease, ARRAY[greatest(0, least(asked, cap - cardinality(kept)))])
$$;
