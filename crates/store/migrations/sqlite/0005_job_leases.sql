-- Bulwark's SQLite schema, version 5: leases of background jobs, so that of several processes on one
-- database only the holder runs a job, and another takes over when the holder stops renewing (it died).
-- Times are BIGINT microseconds since the Unix epoch, UTC. The PostgreSQL migration 0005 is the same.
CREATE TABLE job_leases (
    job        TEXT   NOT NULL PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
