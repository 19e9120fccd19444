-- Bulwark's SQLite schema, version 1: advisories, devices, their software and their weaknesses.
--
-- Conventions (the PostgreSQL migrations mirror this schema with the same names and meanings):
-- * Every time is a BIGINT count of microseconds since the Unix epoch, UTC. Integers compare and sort
--   exactly on every backend, whatever the offset or precision of the text a time came from.
-- * Row ids are 64-bit integers assigned by the database (`INTEGER PRIMARY KEY` is SQLite's spelling;
--   PostgreSQL uses `BIGINT GENERATED ALWAYS AS IDENTITY`).
-- * JSON lives in TEXT columns that only the application reads back; no SQL function looks inside it.
-- * `ecosystem` holds the OSV ecosystem name without its release (`Debian`, `crates.io`, `Rocky Linux`);
--   `release` holds the normalised release (`12`, `3.18`) or NULL when there is none.

-- Advisory records. `record` is the whole `Advisory` as JSON, reloaded as is; `modified` and
-- `withdrawn` are the record's RFC 3339 times parsed, so that a re-import compares times, not strings.
CREATE TABLE advisories (
    id        TEXT   NOT NULL PRIMARY KEY,
    modified  BIGINT NOT NULL,
    withdrawn BIGINT,
    record    TEXT   NOT NULL
);

-- Devices, one row per unique name. `tags` is a JSON array of strings.
CREATE TABLE devices (
    id           INTEGER PRIMARY KEY,
    name         TEXT   NOT NULL UNIQUE,
    os           TEXT,
    device_group TEXT,
    tags         TEXT   NOT NULL,
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL
);

-- Each device's current software set (replaced as a whole by every inventory ingest).
CREATE TABLE device_software (
    id             INTEGER PRIMARY KEY,
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
    id             INTEGER PRIMARY KEY,
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
    id               INTEGER PRIMARY KEY,
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
