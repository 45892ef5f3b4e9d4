-- Pipeline runs, per-source watermarks and the staged literature.
-- Later stages move `state` forward (staged -> validated -> extracted -> loaded), so a failed
-- night resumes where it stopped instead of redoing everything.

CREATE TABLE pipeline_runs (
    run_id       text PRIMARY KEY,
    kind         text NOT NULL,                 -- nightly refresh, manual ingest, training ...
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    counts       jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE source_watermarks (
    source      text PRIMARY KEY,
    position    text NOT NULL,                  -- last file processed or last date window
    run_id      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staged_documents (
    source        text NOT NULL,                -- medline, pubmed, pubtator, bioc
    source_key    text NOT NULL,                -- the PMID for PubMed/MEDLINE
    version       integer NOT NULL DEFAULT 1,
    title         text NOT NULL DEFAULT '',
    abstract      text NOT NULL DEFAULT '',
    language      text,
    journal       text,
    pub_year      integer,
    mesh_terms    jsonb NOT NULL DEFAULT '[]'::jsonb,
    content_hash  text NOT NULL,
    retracted     boolean NOT NULL DEFAULT false,
    state         text NOT NULL DEFAULT 'staged'
                  CHECK (state IN ('staged', 'validated', 'extracted', 'loaded', 'quarantined')),
    run_id        text NOT NULL,
    staged_at     timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, source_key, version)
);
CREATE INDEX staged_documents_state ON staged_documents (state);
CREATE INDEX staged_documents_key ON staged_documents (source_key);
