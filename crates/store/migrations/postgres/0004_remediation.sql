-- Bulwark's PostgreSQL schema, version 4: identity (users, API tokens), exceptions, remediation activities,
-- the audit trail, webhooks with their delivery outbox, and settings. Conventions as in 0001 (times are
-- BIGINT microseconds since the Unix epoch, UTC; JSON in TEXT columns only the application reads). The
-- SQLite migration 0004 is the same. As in 0001: ids are `BIGINT GENERATED ALWAYS AS IDENTITY` (never
-- reused, like SQLite's AUTOINCREMENT ids of the tables whose rows are deleted), text keys use the "C"
-- collation, and `global` is a BOOLEAN (SQLite stores it as 0 or 1; both decode it as a bool).

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT   NOT NULL,
    role          TEXT   NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

-- API tokens: only the SHA-256 digest of the token is kept.
CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    prefix       TEXT   NOT NULL,
    digest       TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

-- Exceptions. `kind` is `recommendation` or `cve`; `target` the recommendation id or CVE id. `review`
-- and `baseline` are JSON (`ReviewMark`, `CoverageFacts`).
CREATE TABLE exceptions (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind               TEXT    NOT NULL CHECK (kind IN ('recommendation', 'cve')),
    target             TEXT COLLATE "C" NOT NULL,
    justification      TEXT    NOT NULL,
    context            TEXT    NOT NULL,
    global             BOOLEAN NOT NULL,
    created_by         TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    expires_at         BIGINT  NOT NULL,
    canceled_by        TEXT,
    canceled_at        BIGINT,
    review             TEXT,
    expiry_recorded_at BIGINT,
    baseline           TEXT,
    last_covered_at    BIGINT
);
CREATE INDEX exceptions_target ON exceptions (kind, target);

-- The device groups of a device-group exception, each cancelable on its own.
CREATE TABLE exception_groups (
    exception_id BIGINT NOT NULL REFERENCES exceptions(id),
    group_name   TEXT COLLATE "C" NOT NULL,
    canceled_by  TEXT,
    canceled_at  BIGINT,
    PRIMARY KEY (exception_id, group_name)
);

-- Remediation activities. `fields` is the requested part (`TaskFields`) as JSON.
CREATE TABLE remediation_tasks (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recommendation_id       TEXT   NOT NULL,
    fields                  TEXT   NOT NULL,
    status                  TEXT   NOT NULL CHECK (status IN ('Active', 'Completed')),
    status_last_modified_on BIGINT NOT NULL,
    completion_method       TEXT,
    completer_email         TEXT
);

-- The audit trail: append-only; every entry holds the previous entry's hash. `seq` counts from 1
-- without gaps; `before` and `after` are the entity's JSON.
CREATE TABLE audit_log (
    seq       BIGINT NOT NULL PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT   NOT NULL,
    action    TEXT   NOT NULL,
    entity    TEXT   NOT NULL,
    entity_id TEXT   NOT NULL,
    before    TEXT,
    after     TEXT,
    prev_hash TEXT   NOT NULL,
    hash      TEXT   NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, seq);

-- Webhooks. `events` is a JSON array of event names (empty: every event).
CREATE TABLE webhooks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url        TEXT   NOT NULL,
    secret     TEXT   NOT NULL,
    events     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- The outbox: one row per event and webhook. `dedup_key` makes an enqueue idempotent per webhook.
CREATE TABLE webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks(id),
    event           TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    dedup_key       TEXT COLLATE "C",
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    delivered_at    BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    UNIQUE (webhook_id, dedup_key)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at);

-- Installation settings; `value` is JSON.
CREATE TABLE settings (
    key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
