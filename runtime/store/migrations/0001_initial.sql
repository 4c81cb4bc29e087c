-- One schema for SQLite and PostgreSQL: only TEXT, BIGINT and BYTEA columns, ids are
-- time-ordered UUIDs (v7) made by the runtime, times are Unix milliseconds, structured
-- values are JSON text. Every tenant row carries org_id, and every query filters by it.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    username TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    role TEXT NOT NULL,
    identities TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, email)
);

-- Only a SHA-256 of each token is kept; the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE environments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    -- JSON destination for plugin and strategy errors, or NULL.
    error_logger TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    -- Credentials, encrypted by the runtime before they get here.
    secret BYTEA,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, kind, name)
);

-- Content-addressed per organisation: the same upload twice is one row.
CREATE TABLE plugins (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    hash TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    size BIGINT NOT NULL,
    sdk TEXT NOT NULL,
    contract_version TEXT NOT NULL,
    handlers TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, hash)
);

-- Every change to a flow is a new version; runs keep the version they started with.
CREATE TABLE flows (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    environment_id TEXT NOT NULL REFERENCES environments (id),
    label TEXT NOT NULL,
    vars TEXT NOT NULL,
    fields TEXT NOT NULL,
    params TEXT NOT NULL,
    plugin_hash TEXT NOT NULL,
    strategy_hash TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name, version),
    FOREIGN KEY (org_id, plugin_hash) REFERENCES plugins (org_id, hash)
);

-- `version` increases with every step; a step commits only if nobody else's did first.
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    flow_id TEXT NOT NULL REFERENCES flows (id),
    flow_name TEXT NOT NULL,
    requester_id TEXT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL,
    notification BIGINT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX runs_by_org ON runs (org_id, id);

-- The audit trail. Rows are only ever inserted.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    run_id TEXT,
    kind TEXT NOT NULL,
    actor_id TEXT,
    actor_email TEXT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_by_org ON events (org_id, id);
CREATE INDEX events_by_run ON events (run_id, id);

-- Durable timers. A worker leases due rows (lease_until) and deletes a row in the same
-- transaction as the step it fired, so a step happens once even if a lease runs out.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    run_id TEXT NOT NULL REFERENCES runs (id),
    trigger TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL,
    lease_owner TEXT,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_by_due ON jobs (due_at);
CREATE INDEX jobs_by_run ON jobs (run_id);

-- Responses kept for `Idempotency-Key` retries; status 0 marks a request still running.
CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, key)
);
