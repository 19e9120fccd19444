-- Bulwark's PostgreSQL schema, version 2: threat context (NVD, KEV, EPSS), device value, device groups
-- and score history. Mirrors migrations/sqlite/0002_threat_groups_scores.sql table for table and column
-- for column; the conventions of 0001 hold (BIGINT microseconds, JSON in TEXT, "C" collation for text
-- the database orders).

CREATE TABLE nvd_records (
    cve_id        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    last_modified BIGINT NOT NULL,
    record        TEXT   NOT NULL
);

CREATE TABLE kev_entries (
    cve_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    date_added BIGINT NOT NULL,
    entry      TEXT   NOT NULL
);

CREATE TABLE epss_scores (
    cve_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    epss       DOUBLE PRECISION NOT NULL,
    percentile DOUBLE PRECISION NOT NULL,
    score_date BIGINT
);

CREATE TABLE feed_state (
    feed        TEXT   NOT NULL PRIMARY KEY,
    version     TEXT,
    released    TEXT,
    imported_at BIGINT NOT NULL
);

ALTER TABLE devices ADD COLUMN value TEXT NOT NULL DEFAULT 'Normal' CHECK (value IN ('Low', 'Normal', 'High'));

CREATE TABLE device_groups (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    description TEXT   NOT NULL,
    rank        BIGINT NOT NULL,
    rules       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE score_snapshots (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            BIGINT NOT NULL,
    scope         TEXT   NOT NULL CHECK (scope IN ('organization', 'group', 'device')),
    scope_name    TEXT COLLATE "C" NOT NULL,
    exposure      DOUBLE PRECISION NOT NULL,
    configuration DOUBLE PRECISION
);
CREATE INDEX score_snapshots_by_scope ON score_snapshots (scope, scope_name, at);
