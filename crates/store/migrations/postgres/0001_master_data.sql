-- Master data (PostgreSQL): divisions, organisation units, service items, FAQs, the working-day calendar.
-- Every table carries the tenant (the county's GB/T 2260 code) so counties can share a cluster.

CREATE TABLE divisions (
    tenant      TEXT NOT NULL,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('county', 'township', 'village')),
    parent_code TEXT,
    kind        TEXT NOT NULL,
    PRIMARY KEY (tenant, code),
    FOREIGN KEY (tenant, parent_code) REFERENCES divisions (tenant, code)
);
CREATE INDEX divisions_parent ON divisions (tenant, parent_code);

CREATE TABLE org_units (
    tenant        TEXT NOT NULL,
    code          TEXT NOT NULL,
    name_zh       TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    short_zh      TEXT NOT NULL,
    duties_zh     TEXT NOT NULL,
    phone         TEXT NOT NULL,
    address       TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('department', 'township', 'village')),
    division_code TEXT,
    position      BIGINT NOT NULL,
    PRIMARY KEY (tenant, code),
    FOREIGN KEY (tenant, division_code) REFERENCES divisions (tenant, code)
);

-- The full item lives in `document` (the import format, JSON); the columns beside it are what
-- queries filter and sort on.
CREATE TABLE service_items (
    tenant          TEXT NOT NULL,
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    department_code TEXT NOT NULL,
    level           TEXT NOT NULL,
    item_type       TEXT NOT NULL,
    online_level    BIGINT NOT NULL,
    position        BIGINT NOT NULL,
    document        TEXT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant, code),
    FOREIGN KEY (tenant, department_code) REFERENCES org_units (tenant, code)
);
CREATE INDEX service_items_department ON service_items (tenant, department_code);

CREATE TABLE faqs (
    tenant          TEXT NOT NULL,
    position        BIGINT NOT NULL,
    question        TEXT NOT NULL,
    answer          TEXT NOT NULL,
    item_code       TEXT,
    department_code TEXT NOT NULL,
    PRIMARY KEY (tenant, position),
    FOREIGN KEY (tenant, item_code) REFERENCES service_items (tenant, code),
    FOREIGN KEY (tenant, department_code) REFERENCES org_units (tenant, code)
);
CREATE INDEX faqs_item ON faqs (tenant, item_code);

CREATE TABLE calendar_years (
    tenant     TEXT NOT NULL,
    year       BIGINT NOT NULL,
    document   TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, year)
);

-- Searches that found nothing: the demand the catalog misses.
CREATE TABLE search_misses (
    tenant     TEXT NOT NULL,
    query      TEXT NOT NULL,
    times      BIGINT NOT NULL,
    first_at   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant, query)
);
