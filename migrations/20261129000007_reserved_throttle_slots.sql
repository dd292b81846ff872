-- A throttled delivery is put back on a send slot reserved for it, and sent when that slot
-- comes, instead of asking the throttle again (and being put back again) every time it is
-- claimed: each row of a throttled backlog is now deferred at most once.
ALTER TABLE deliveries ADD COLUMN throttle_slot BOOLEAN NOT NULL DEFAULT false;
