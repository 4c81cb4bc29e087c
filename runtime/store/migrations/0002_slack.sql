-- Slack workspaces connected to organisations by the OAuth install. A workspace belongs to
-- one organisation; the team id on every inbound payload selects it.
CREATE TABLE slack_workspaces (
    team_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    team_name TEXT NOT NULL,
    bot_user_id TEXT NOT NULL,
    -- The bot token, sealed by the runtime (XChaCha20-Poly1305) before it gets here.
    bot_token BYTEA NOT NULL,
    -- JSON list of email domains whose people become members on first use.
    domains TEXT NOT NULL,
    installed_at BIGINT NOT NULL
);
CREATE INDEX slack_workspaces_by_org ON slack_workspaces (org_id);

-- Slack users matched to Assent users (by email, once).
CREATE TABLE slack_users (
    team_id TEXT NOT NULL,
    slack_user_id TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, slack_user_id)
);

-- Request cards posted for a run, so they can be updated in place.
CREATE TABLE slack_messages (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    run_id TEXT NOT NULL REFERENCES runs (id),
    notification BIGINT NOT NULL,
    destination TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (run_id, notification, destination)
);

-- Jobs are steps (timers, queued escalation) or notices (messages to deliver after a step).
-- A step that cancels its run's timers leaves undelivered notices alone.
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'step';
