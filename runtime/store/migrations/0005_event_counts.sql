-- Plugins count a person's past requests (`get-event-count`): runs by requester, and the
-- audit entries of one kind on those runs.
CREATE INDEX runs_by_requester ON runs (org_id, requester_id);
CREATE INDEX events_by_kind ON events (org_id, kind, run_id);
