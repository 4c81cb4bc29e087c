-- A flow's strategy as a whole (Sym's `sym_strategy`): its type and the integration it acts
-- through, as JSON. `strategy_hash` still names a strategy plugin, so the plugin stays
-- referenced; a row from before this column has only that hash.
ALTER TABLE flows ADD COLUMN strategy TEXT;
