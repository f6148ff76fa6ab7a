-- Requests and complaints (诉求, the 12345 loop): the request, its timeline, its photos; the
-- dispatches routing learns from, keyword rules, and API keys of Open311 clients.

CREATE TABLE requests (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    -- Nine characters a person can read out (see the domain's CaseRef).
    reference       TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('consultation', 'help', 'complaint', 'report',
                        'suggestion', 'praise')),
    category        TEXT NOT NULL,
    urgency         TEXT NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    text            TEXT NOT NULL,
    township_code   TEXT,
    village_code    TEXT,
    lat             REAL,
    lon             REAL,
    address         TEXT,
    -- Whether the handling unit may see who asked, and whether it may be published.
    anonymous       BIGINT NOT NULL,
    disclose        BIGINT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('app', 'hotline', 'api', 'open311')),
    -- The resident who filed it (none for a caller or an Open311 client's user).
    requester_id    TEXT,
    -- A caller's or client user's name and phone number, encrypted.
    contact_name_enc  TEXT,
    contact_phone_enc TEXT,
    -- The Open311 service code it was filed under, if any.
    service_code    TEXT,
    stage           TEXT NOT NULL CHECK (stage IN ('filed', 'dispatched', 'in_hand', 'replied',
                        'closed', 'merged')),
    unit_code       TEXT,
    -- The loop's state (see the domain's RequestState) as JSON.
    state           TEXT NOT NULL,
    -- Deadlines of the current round (milliseconds, UTC).
    sign_by         BIGINT,
    contact_by      BIGINT,
    resolve_by      BIGINT,
    dispatched_at   BIGINT,
    signed_at       BIGINT,
    replied_at      BIGINT,
    closed_at       BIGINT,
    reply_text      TEXT,
    rating          BIGINT,
    merged_into     TEXT,
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, requester_id) REFERENCES users (tenant, id)
);
CREATE UNIQUE INDEX requests_reference ON requests (tenant, reference);
CREATE INDEX requests_queue ON requests (tenant, stage, created_at);
CREATE INDEX requests_unit ON requests (tenant, unit_code, stage, resolve_by);
CREATE INDEX requests_requester ON requests (tenant, requester_id, created_at);
CREATE INDEX requests_place ON requests (tenant, township_code, created_at);
CREATE INDEX requests_updated ON requests (tenant, updated_at);

CREATE TABLE request_events (
    tenant     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_unit TEXT,
    action     TEXT NOT NULL,
    from_stage TEXT,
    to_stage   TEXT NOT NULL,
    detail     TEXT NOT NULL,
    PRIMARY KEY (tenant, request_id, seq),
    FOREIGN KEY (tenant, request_id) REFERENCES requests (tenant, id)
);

CREATE TABLE request_photos (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    -- 'request' (with the filing) or 'reply' (with the unit's answer).
    part        TEXT NOT NULL CHECK (part IN ('request', 'reply')),
    file_name   TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, request_id) REFERENCES requests (tenant, id)
);
CREATE INDEX request_photos_request ON request_photos (tenant, request_id, uploaded_at);

-- What routing learns from: each dispatch and whether the unit kept it.
CREATE TABLE routing_history (
    tenant        TEXT NOT NULL,
    id            TEXT NOT NULL,
    text          TEXT NOT NULL,
    township_code TEXT,
    unit_code     TEXT NOT NULL,
    accepted      BIGINT NOT NULL,
    at            BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- "Requests containing KEYWORD go to UNIT", added by administrators.
CREATE TABLE routing_rules (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    keyword    TEXT NOT NULL,
    unit_code  TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX routing_rules_keyword ON routing_rules (tenant, keyword, unit_code);

-- Keys of Open311 clients (stored hashed; shown once when created).
CREATE TABLE api_keys (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);

-- Notifications and inbox messages about a request.
ALTER TABLE outbox ADD COLUMN request_id TEXT;
ALTER TABLE inbox ADD COLUMN request_id TEXT;
