-- Retractions the graph has taken (issue 13: the cost of a night). A night used to re-apply every
-- retracted key ever staged; now it applies the pending ones (graph_retracted_run IS NULL) and
-- records which load applied them. Rolling that load back (`medkb kb rollback RUN`) clears the
-- mark, so the next night applies them again, as before. Rows retracted before this migration are
-- pending: the first night after it applies them all once (idempotent in the graph).

ALTER TABLE staged_documents ADD COLUMN graph_retracted_run text;
CREATE INDEX staged_documents_retraction_pending ON staged_documents (source_key)
    WHERE retracted AND graph_retracted_run IS NULL;
CREATE INDEX staged_documents_retraction_run ON staged_documents (graph_retracted_run)
    WHERE graph_retracted_run IS NOT NULL;
