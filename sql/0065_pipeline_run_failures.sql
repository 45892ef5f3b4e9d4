-- A failed run says where and why: the Airflow failure callback (plugins/medkb_dagkit.py) sets
-- status 'failed' with the task that failed for good and a one-line reason, instead of leaving the
-- row 'running' forever. `reason` names the exception class and the record or service, never a
-- patient identifier (medkb errors name pseudonymised keys only).

ALTER TABLE pipeline_runs
    ADD COLUMN failed_task text,
    ADD COLUMN reason      text;

CREATE INDEX pipeline_runs_kind_started ON pipeline_runs (kind, started_at DESC);
