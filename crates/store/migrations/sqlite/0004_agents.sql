-- Second factors and village agents.
--
-- A TOTP secret is stored encrypted as soon as enrolment starts; it guards sign-in only once the
-- staff member has proved it with a code (`totp_confirmed_at`). The last accepted time step is
-- kept so one code cannot be replayed within its 30 seconds.
ALTER TABLE users ADD COLUMN totp_confirmed_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Scanned evidence (signed consent forms), kept in the database so every server process sees it.
CREATE TABLE files (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    bytes      BLOB NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- A resident's consent for a village agent to apply on their behalf for one item.
CREATE TABLE agent_consents (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    item_code   TEXT NOT NULL,
    -- `paper_scan` (a signed form, `file_id`) or `sms_code` (the resident read back a code).
    method      TEXT NOT NULL CHECK (method IN ('paper_scan', 'sms_code')),
    file_id     TEXT,
    recorded_at BIGINT NOT NULL,
    revoked_at  BIGINT,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, agent_id) REFERENCES users (tenant, id),
    FOREIGN KEY (tenant, resident_id) REFERENCES users (tenant, id),
    FOREIGN KEY (tenant, file_id) REFERENCES files (tenant, id)
);
CREATE INDEX agent_consents_agent ON agent_consents (tenant, agent_id, recorded_at);
CREATE INDEX agent_consents_resident ON agent_consents (tenant, resident_id, recorded_at);
