-- What the extraction stage found, waiting for the graph loader. Keyed so that re-extracting
-- a document with the same model replaces its rows instead of adding to them.

CREATE TABLE extracted_mentions (
    doc_id      text NOT NULL,             -- PMID:<pmid>
    start_off   integer NOT NULL,
    end_off     integer NOT NULL,
    text        text NOT NULL,
    type        text NOT NULL,
    concept_id  text,                      -- NULL = unlinked
    score       real NOT NULL,
    model       text NOT NULL,
    run_id      text NOT NULL,
    PRIMARY KEY (doc_id, start_off, end_off, type, model)
);
CREATE INDEX extracted_mentions_run ON extracted_mentions (run_id);

CREATE TABLE extracted_assertions (
    doc_id      text NOT NULL,
    subject_id  text NOT NULL,
    predicate   text NOT NULL,
    object_id   text NOT NULL,
    sentence    text NOT NULL,
    start_off   integer NOT NULL,          -- the sentence's offsets in the document
    end_off     integer NOT NULL,
    score       real NOT NULL,
    model       text NOT NULL,
    run_id      text NOT NULL,
    PRIMARY KEY (doc_id, subject_id, predicate, object_id, start_off, model)
);
CREATE INDEX extracted_assertions_run ON extracted_assertions (run_id);
