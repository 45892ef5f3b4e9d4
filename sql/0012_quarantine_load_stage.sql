-- The graph loader quarantines extracted records the graph cannot hold (a non-CURIE id, a score
-- outside 0..1, an assertion without its sentence), with the record as payload.
ALTER TABLE quarantine DROP CONSTRAINT IF EXISTS quarantine_stage_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_stage_check CHECK (stage IN ('ingest', 'validate', 'load'));
