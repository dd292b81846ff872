-- attempts.delivery_id references deliveries ON DELETE CASCADE: without an index, deleting an
-- endpoint or application scanned the whole attempt log once per delivery.
CREATE INDEX attempts_delivery ON attempts (delivery_id);
