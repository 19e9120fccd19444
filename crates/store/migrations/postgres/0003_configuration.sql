-- Bulwark's PostgreSQL schema, version 3: configuration assessments behind the Secure Score for Devices.
-- Mirrors migrations/sqlite/0003_configuration.sql table for table and column for column; the conventions
-- of 0001 hold (BIGINT microseconds, JSON in TEXT, "C" collation for text the database orders).

CREATE TABLE config_results (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    source      TEXT COLLATE "C" NOT NULL CHECK (source IN ('bulwark', 'openscap', 'osquery')),
    check_id    TEXT COLLATE "C" NOT NULL,
    status      TEXT   NOT NULL CHECK (status IN ('pass', 'fail', 'notApplicable', 'notSelected',
                                                  'informational', 'notCollected', 'error')),
    result      TEXT   NOT NULL,
    assessed_at BIGINT NOT NULL,
    UNIQUE (device_id, source, check_id)
);

CREATE TABLE config_checks (
    check_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    definition TEXT NOT NULL
);
