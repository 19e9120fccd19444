-- Bulwark's SQLite schema, version 7: sign-in sessions of the web console. Only the SHA-256 digest of
-- the session cookie is kept, as for API tokens. A session ends at `expires_at` (absolute lifetime), when
-- unused for the idle timeout (from `last_seen_at`, kept to the minute), or at `ended_at` (sign-out).
-- Times are BIGINT microseconds since the Unix epoch, UTC. The PostgreSQL migration 0007 is the same.
-- (Version 6 is left to the change-sequence migration.)
CREATE TABLE console_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    digest       TEXT   NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
