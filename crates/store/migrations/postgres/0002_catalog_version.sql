-- One counter per tenant, raised by every import in the same transaction. Each server process
-- keeps the catalog in memory and reloads it (and its search index) when the counter moves, so
-- several processes sharing one database stay current.
CREATE TABLE catalog_versions (
    tenant     TEXT NOT NULL PRIMARY KEY,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
