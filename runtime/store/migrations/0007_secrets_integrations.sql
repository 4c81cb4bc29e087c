-- Named secrets per environment (Sym's `sym_secret`). The value is sealed by the runtime
-- under the server's key before it gets here; `key_id` names that key, so a key rotation
-- finds the rows still sealed under the previous one. No API ever returns `sealed`.
CREATE TABLE secrets (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    sealed BYTEA NOT NULL,
    key_id TEXT NOT NULL,
    set_by TEXT,
    set_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, environment_id, name)
);

-- The first schema's `integrations` table was never written to: integrations are named per
-- environment, as Sym's are, and reference secrets by name rather than holding one.
DROP TABLE integrations;

-- Integrations per environment (Sym's `sym_integration`): a type, an external id and
-- settings (JSON); settings ending in `_secret` name a secret of the same environment.
CREATE TABLE integrations (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    environment_id TEXT NOT NULL REFERENCES environments (id),
    name TEXT NOT NULL,
    integration_type TEXT NOT NULL,
    external_id TEXT NOT NULL,
    settings TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_by TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, environment_id, name)
);
