-- Applications (办件): the case, its timeline, the materials uploaded for it, and the outbox of
-- notifications. A change to a case, its timeline entry, its audit entry and its outbox rows
-- are written in one transaction, so a notification is never lost nor sent for a change that
-- did not happen.

CREATE TABLE cases (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    -- Given on submission (nine characters, see the domain's CaseRef); NULL for a draft.
    reference       TEXT,
    item_code       TEXT NOT NULL,
    process_code    TEXT NOT NULL,
    -- The person the case is for, and who filed it: themselves, a family member, a village
    -- agent (with `consent_id`) or a window clerk at the hall.
    applicant_id    TEXT NOT NULL,
    filed_by        TEXT NOT NULL,
    filed_as        TEXT NOT NULL CHECK (filed_as IN ('self', 'family', 'agent', 'clerk')),
    consent_id      TEXT,
    -- The unit that handles it, and the applicant's division (scope for township offices).
    unit_code       TEXT NOT NULL,
    division_code   TEXT,
    stage           TEXT NOT NULL CHECK (stage IN ('draft', 'submitted', 'in_progress',
                        'supplement', 'delivered', 'not_accepted', 'closed', 'withdrawn')),
    step            BIGINT,
    outcome         TEXT CHECK (outcome IN ('approved', 'denied')),
    -- Form answers as a JSON object of field key to canonical text.
    answers         TEXT NOT NULL,
    -- The decision clock (JSON, see the domain's LegalClock) once accepted.
    clock           TEXT,
    statutory_days  BIGINT NOT NULL,
    promised_days   BIGINT NOT NULL,
    -- Dates (YYYY-MM-DD, Beijing): received for intake, and the current due dates, kept up to
    -- date with every change so worklists sort and filter by them.
    received_on     TEXT,
    due_on          TEXT,
    promised_on     TEXT,
    -- A client's key for one submission: the same key twice is the same submission.
    idempotency_key TEXT,
    -- Bumped by every change; a change made from a stale read fails instead of overwriting.
    version         BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    submitted_at    BIGINT,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, applicant_id) REFERENCES users (tenant, id),
    FOREIGN KEY (tenant, filed_by) REFERENCES users (tenant, id),
    FOREIGN KEY (tenant, consent_id) REFERENCES agent_consents (tenant, id)
);
CREATE UNIQUE INDEX cases_reference ON cases (tenant, reference);
CREATE UNIQUE INDEX cases_idempotency ON cases (tenant, filed_by, idempotency_key);
CREATE INDEX cases_worklist ON cases (tenant, unit_code, stage, due_on);
CREATE INDEX cases_due ON cases (tenant, stage, due_on);
CREATE INDEX cases_applicant ON cases (tenant, applicant_id, created_at);

-- Every step of a case, in order: the timeline residents and staff see.
CREATE TABLE case_events (
    tenant     TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_unit TEXT,
    action     TEXT NOT NULL,
    from_stage TEXT,
    to_stage   TEXT NOT NULL,
    -- What the action said (reason, supplement list, note) as JSON.
    detail     TEXT NOT NULL,
    PRIMARY KEY (tenant, case_id, seq),
    FOREIGN KEY (tenant, case_id) REFERENCES cases (tenant, id)
);

-- Files uploaded for a case's materials; the bytes live in the object store under `sha256`.
CREATE TABLE case_materials (
    tenant        TEXT NOT NULL,
    id            TEXT NOT NULL,
    case_id       TEXT NOT NULL,
    material      TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    uploaded_by   TEXT NOT NULL,
    uploaded_at   BIGINT NOT NULL,
    -- Set when a supplement replaced it or the applicant removed it from a draft.
    superseded_at BIGINT,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, case_id) REFERENCES cases (tenant, id)
);
CREATE INDEX case_materials_case ON case_materials (tenant, case_id, uploaded_at);

-- Notifications to deliver, one row per recipient and channel, written with the change.
CREATE TABLE outbox (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    event           TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('inbox', 'sms', 'email', 'webhook')),
    recipient       TEXT NOT NULL,
    case_id         TEXT,
    -- Template arguments as JSON.
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    -- Given up after the last retry: shown to administrators (dead letters).
    dead_at         BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX outbox_due ON outbox (delivered_at, dead_at, next_attempt_at);

-- The in-app inbox: what a person or an office was told.
CREATE TABLE inbox (
    tenant     TEXT NOT NULL,
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    event      TEXT NOT NULL,
    case_id    TEXT,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX inbox_user ON inbox (tenant, user_id, created_at);
