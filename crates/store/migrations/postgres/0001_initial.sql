-- Bulwark's PostgreSQL schema, version 1: advisories, devices, their software and their weaknesses.
--
-- This mirrors migrations/sqlite/0001_initial.sql table for table and column for column, with the same
-- names and meanings, so that both backends return identical results. PostgreSQL-specific choices:
-- * Every time is a BIGINT count of microseconds since the Unix epoch, UTC, exactly as in SQLite (not
--   TIMESTAMPTZ): the application converts times in one place for both backends, integers compare and
--   sort exactly, and a stored value that is not a representable time is reported as corrupt, not
--   clamped or shifted by a session time zone.
-- * Row ids are `BIGINT GENERATED ALWAYS AS IDENTITY`; the application relies on ids growing in insert
--   order within one table (history and open weaknesses are listed in that order).
-- * JSON lives in TEXT columns that only the application reads back, as in SQLite (no JSONB: the record
--   is reloaded byte for byte, and no SQL looks inside it).
-- * Text that is ordered by the database (`advisories.id`, `devices.name`) uses the "C" collation, so
--   that it sorts by code point as SQLite's BINARY collation does, whatever the database's locale.
--   Equality is exact on every column (PostgreSQL's default collations are deterministic), so composed
--   and decomposed spellings of a name are two names, as in SQLite.

-- Advisory records. `record` is the whole `Advisory` as JSON; `modified` and `withdrawn` are its
-- RFC 3339 times parsed, so that a re-import compares instants, not strings.
CREATE TABLE advisories (
    id        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    modified  BIGINT NOT NULL,
    withdrawn BIGINT,
    record    TEXT   NOT NULL
);

-- Devices, one row per unique name. `tags` is a JSON array of strings.
CREATE TABLE devices (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         TEXT COLLATE "C" NOT NULL UNIQUE,
    os           TEXT,
    device_group TEXT,
    tags         TEXT   NOT NULL,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL
);

-- Each device's current software set (replaced as a whole by every inventory ingest).
CREATE TABLE device_software (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id      BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    ecosystem      TEXT   NOT NULL,
    release        TEXT,
    name           TEXT   NOT NULL,
    version        TEXT   NOT NULL,
    source_name    TEXT,
    source_version TEXT,
    purl           TEXT,
    cpe            TEXT
);
CREATE INDEX device_software_by_device ON device_software (device_id);

-- What appeared on and disappeared from each device's software set, and when.
CREATE TABLE inventory_changes (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id      BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at             BIGINT NOT NULL,
    change         TEXT   NOT NULL CHECK (change IN ('appeared', 'disappeared')),
    ecosystem      TEXT   NOT NULL,
    release        TEXT,
    name           TEXT   NOT NULL,
    version        TEXT   NOT NULL,
    source_name    TEXT,
    source_version TEXT,
    purl           TEXT,
    cpe            TEXT
);
CREATE INDEX inventory_changes_by_device ON inventory_changes (device_id, at);

-- Weaknesses: one row per period during which a vulnerability was detected on a device through one
-- software version. `resolved` is NULL while the row is open; a weakness that comes back after being
-- resolved gets a new row, so the history of earlier periods is kept. `advisory_ids` is a JSON array.
CREATE TABLE weaknesses (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id        BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    ecosystem        TEXT   NOT NULL,
    release          TEXT,
    name             TEXT   NOT NULL,
    version          TEXT   NOT NULL,
    vulnerability_id TEXT   NOT NULL,
    advisory_ids     TEXT   NOT NULL,
    first_detected   BIGINT NOT NULL,
    resolved         BIGINT
);
CREATE INDEX weaknesses_by_device ON weaknesses (device_id, first_detected);
CREATE INDEX weaknesses_open ON weaknesses (device_id) WHERE resolved IS NULL;
