-- The storage parameters that `store::partitions::DELIVERIES_STORAGE` gives every new
-- deliveries partition, for the partitions made before it: vacuum and analyze after a small
-- fraction of the partition changed, not PostgreSQL's fifth. The claim walks the due index
-- from its oldest entry, where each delivery that ended since the last vacuum leaves a dead
-- entry. (Keep the two lists equal.)
DO $$
DECLARE
    part REGCLASS;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'deliveries'::regclass LOOP
        EXECUTE format('ALTER TABLE %s SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 5000, '
                       'autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000)', part);
    END LOOP;
END $$;
