-- An organisation's flows filter (Sym's `sym_flows_filter`): a plugin whose `get_flows`
-- decides which flows each person is offered, and the vars it is given. At most one.
CREATE TABLE flows_filters (
    org_id TEXT PRIMARY KEY REFERENCES organizations (id),
    plugin_hash TEXT NOT NULL,
    vars TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (org_id, plugin_hash) REFERENCES plugins (org_id, hash)
);
