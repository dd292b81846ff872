-- The retention sweep finds messages whose payload has outlived its retention period.
CREATE INDEX messages_expiring ON messages (expires_at) WHERE payload IS NOT NULL;
