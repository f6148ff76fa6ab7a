-- People and access: residents and staff, one-time sign-in codes, sessions, access tokens,
-- family links, and the tamper-evident audit trail. Identity and phone numbers are stored
-- encrypted (`*_enc`) and found by a keyed hash (`*_hash`); see the vault in the app crate.

CREATE TABLE users (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('resident', 'staff')),
    -- Staff sign-in name, lowercase; NULL for residents.
    username        TEXT,
    display_name    TEXT NOT NULL,
    phone_enc       TEXT,
    phone_hash      TEXT,
    id_number_enc   TEXT,
    id_number_hash  TEXT,
    -- Set when the person completed real-name details (name + identity number).
    real_name_at    BIGINT,
    password_hash   TEXT,
    totp_secret_enc TEXT,
    unit_code       TEXT,
    division_code   TEXT,
    -- Space-separated role names.
    roles           TEXT NOT NULL,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    disabled        BIGINT NOT NULL DEFAULT 0,
    -- Who created the account (for family members and agents: the resident or office).
    created_by      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, unit_code) REFERENCES org_units (tenant, code),
    FOREIGN KEY (tenant, division_code) REFERENCES divisions (tenant, code)
);
CREATE UNIQUE INDEX users_username ON users (tenant, username);
CREATE UNIQUE INDEX users_phone ON users (tenant, phone_hash);
CREATE INDEX users_id_number ON users (tenant, id_number_hash);

-- A resident acts for the family members they added (elderly parents, children).
CREATE TABLE family_links (
    tenant     TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    member_id  TEXT NOT NULL,
    relation   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, owner_id, member_id),
    FOREIGN KEY (tenant, owner_id) REFERENCES users (tenant, id),
    FOREIGN KEY (tenant, member_id) REFERENCES users (tenant, id)
);

CREATE TABLE otp_codes (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    phone_hash TEXT NOT NULL,
    ip         TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    sent_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX otp_codes_phone ON otp_codes (tenant, phone_hash, sent_at);
CREATE INDEX otp_codes_ip ON otp_codes (tenant, ip, sent_at);

CREATE TABLE sessions (
    id_hash      TEXT NOT NULL PRIMARY KEY,
    tenant       TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    -- Absolute end, whatever the activity.
    expires_at   BIGINT NOT NULL,
    -- A staff session waiting for its second factor is not yet signed in.
    pending_totp BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT,
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id)
);
CREATE INDEX sessions_user ON sessions (tenant, user_id);

CREATE TABLE api_tokens (
    id_hash      TEXT NOT NULL PRIMARY KEY,
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, id)
);
CREATE UNIQUE INDEX api_tokens_id ON api_tokens (tenant, id);

CREATE TABLE audit_log (
    tenant     TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    unit       TEXT NOT NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (tenant, seq)
);
CREATE INDEX audit_log_actor ON audit_log (tenant, actor, seq);

-- The end of each tenant's chain; updating it first serialises appends.
CREATE TABLE audit_heads (
    tenant TEXT NOT NULL PRIMARY KEY,
    seq    BIGINT NOT NULL,
    hash   TEXT NOT NULL
);
