-- `medkb kb rollback RUN` undoes a night in both stores: the graph, and in Postgres the run's
-- documents go back to `extracted` (the next night loads them again) and the run's record says
-- it was rolled back, when, and what the rollback did.

ALTER TABLE pipeline_runs DROP CONSTRAINT IF EXISTS pipeline_runs_status_check;
ALTER TABLE pipeline_runs ADD CONSTRAINT pipeline_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'failed', 'rolled_back'));
ALTER TABLE pipeline_runs
    ADD COLUMN rolled_back_at timestamptz,
    ADD COLUMN rollback       jsonb;
