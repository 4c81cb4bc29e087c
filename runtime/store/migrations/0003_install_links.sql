-- Slack install links already used. A link's `state` is sealed and names its organisation;
-- its nonce is recorded here when the link is redeemed, so the same link cannot connect a
-- second workspace. Rows are dropped once the link has expired anyway.
CREATE TABLE slack_install_links (
    nonce TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    expires_at BIGINT NOT NULL
);
CREATE INDEX slack_install_links_by_expiry ON slack_install_links (expires_at);
