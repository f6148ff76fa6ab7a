-- The relay looks only for notifications still to be delivered. An index of those alone stays
-- as small as the backlog however many have been delivered, and a delivery takes its row out of
-- the index instead of moving it to another place in it. Dead letters, which administrators
-- list, get an index of their own.
DROP INDEX outbox_due;
CREATE INDEX outbox_pending ON outbox (next_attempt_at, created_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_dead ON outbox (tenant, dead_at) WHERE dead_at IS NOT NULL;
