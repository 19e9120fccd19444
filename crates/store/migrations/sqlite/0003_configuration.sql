-- Bulwark's SQLite schema, version 3: configuration assessments behind the Secure Score for Devices.
-- Conventions as in 0001 (times are BIGINT microseconds since the Unix epoch, UTC; JSON in TEXT columns
-- only the application reads). The PostgreSQL migration 0003 mirrors it.

-- The latest result of each check on each device, per source (`bulwark`: Bulwark's checks over facts the
-- agent collected; `openscap`: an XCCDF result file; `osquery`: Bulwark's checks over osquery rows). An
-- assessment replaces the device's rows of its source as a whole. `result` is the whole `CheckResult` as
-- JSON (title, category, weight, status, evidence); `status` repeats its status for reading at a glance.
CREATE TABLE config_results (
    id          INTEGER PRIMARY KEY,
    device_id   BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    source      TEXT   NOT NULL CHECK (source IN ('bulwark', 'openscap', 'osquery')),
    check_id    TEXT   NOT NULL,
    status      TEXT   NOT NULL CHECK (status IN ('pass', 'fail', 'notApplicable', 'notSelected',
                                                  'informational', 'notCollected', 'error')),
    result      TEXT   NOT NULL,
    assessed_at BIGINT NOT NULL,
    UNIQUE (device_id, source, check_id)
);

-- Checks that are not Bulwark's own (OpenSCAP rules), so that their titles, descriptions and
-- remediations are kept: `definition` is the whole `ConfigCheck` as JSON. Bulwark's checks are compiled in.
CREATE TABLE config_checks (
    check_id   TEXT NOT NULL PRIMARY KEY,
    definition TEXT NOT NULL
);
