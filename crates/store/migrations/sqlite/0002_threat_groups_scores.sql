-- Bulwark's SQLite schema, version 2: threat context (NVD, KEV, EPSS), device value, device groups and
-- score history. Conventions as in 0001 (times are BIGINT microseconds since the Unix epoch, UTC; JSON in
-- TEXT columns only the application reads). The PostgreSQL migration 0002 mirrors it.

-- NVD CVE records: `record` is the whole `NvdRecord` as JSON; `last_modified` is its lastModified time
-- parsed, so that a re-import replaces a record only with a newer one.
CREATE TABLE nvd_records (
    cve_id        TEXT   NOT NULL PRIMARY KEY,
    last_modified BIGINT NOT NULL,
    record        TEXT   NOT NULL
);

-- CISA KEV entries (the catalog is replaced as a whole by each import). `date_added` is midnight UTC of
-- the entry's dateAdded; `entry` is the `KevEntry` as JSON.
CREATE TABLE kev_entries (
    cve_id     TEXT   NOT NULL PRIMARY KEY,
    date_added BIGINT NOT NULL,
    entry      TEXT   NOT NULL
);

-- FIRST EPSS scores, one row per CVE. `score_date` is the score date the file named (NULL when it named
-- none); a row is only replaced by a score of the same or a later date, or by an undated one.
CREATE TABLE epss_scores (
    cve_id     TEXT   NOT NULL PRIMARY KEY,
    epss       DOUBLE PRECISION NOT NULL,
    percentile DOUBLE PRECISION NOT NULL,
    score_date BIGINT
);

-- What was last imported of each threat feed (`kev`, `epss`): its version or model, its release or score
-- date as given, and when it was imported.
CREATE TABLE feed_state (
    feed        TEXT   NOT NULL PRIMARY KEY,
    version     TEXT,
    released    TEXT,
    imported_at BIGINT NOT NULL
);

-- A device's value (`Low`, `Normal`, `High`), which weights it in group and organisation scores.
ALTER TABLE devices ADD COLUMN value TEXT NOT NULL DEFAULT 'Normal' CHECK (value IN ('Low', 'Normal', 'High'));

-- Device groups. A device belongs to the group it is explicitly assigned to (`devices.device_group`),
-- else to the first group by `rank` whose rules all match it. `rules` is a JSON array of rules.
CREATE TABLE device_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    description TEXT   NOT NULL,
    rank        BIGINT NOT NULL,
    rules       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Score history: one row per scope (`organization`, `group`, `device`) and time. `configuration` is the
-- secure score for devices (NULL when nothing was assessed).
CREATE TABLE score_snapshots (
    id            INTEGER PRIMARY KEY,
    at            BIGINT NOT NULL,
    scope         TEXT   NOT NULL CHECK (scope IN ('organization', 'group', 'device')),
    scope_name    TEXT   NOT NULL,
    exposure      DOUBLE PRECISION NOT NULL,
    configuration DOUBLE PRECISION
);
CREATE INDEX score_snapshots_by_scope ON score_snapshots (scope, scope_name, at);
