-- Files already staged (by name and content), so a drop folder can be re-scanned every night
-- without re-reading what landed; written in the transaction that stages the file's rows.
CREATE TABLE ingested_files (
    source       text NOT NULL,
    name         text NOT NULL,
    sha256       text NOT NULL,
    run_id       text NOT NULL,
    counts       jsonb NOT NULL DEFAULT '{}'::jsonb,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, name, sha256)
);
