-- Current and superseded extractions (issue 17). A document's current extraction is its latest
-- one; when a newer model extracts it again, the older model's rows stay as history, marked
-- superseded (by which run and model, when) in the transaction that writes the new rows
-- (medkb/nlp/supersede.py). The graph loader reads current rows only, so a later night never
-- loads superseded rows again.

ALTER TABLE extracted_mentions
    ADD COLUMN superseded_by_run   text,            -- NULL = current
    ADD COLUMN superseded_by_model text,
    ADD COLUMN superseded_at       timestamptz;
ALTER TABLE extracted_assertions
    ADD COLUMN superseded_by_run   text,
    ADD COLUMN superseded_by_model text,
    ADD COLUMN superseded_at       timestamptz;
CREATE INDEX extracted_mentions_current ON extracted_mentions (doc_id) WHERE superseded_by_run IS NULL;
CREATE INDEX extracted_assertions_current ON extracted_assertions (doc_id) WHERE superseded_by_run IS NULL;
CREATE INDEX extracted_mentions_superseded ON extracted_mentions (superseded_by_run) WHERE superseded_by_run IS NOT NULL;
CREATE INDEX extracted_assertions_superseded ON extracted_assertions (superseded_by_run) WHERE superseded_by_run IS NOT NULL;

-- One row per (document, model) extraction, also for a document in which the model found nothing
-- (that document's older evidence is superseded all the same). At most one current row per document.
CREATE TABLE document_extractions (
    doc_id              text NOT NULL,            -- PMID:<pmid>
    model               text NOT NULL,
    run_id              text NOT NULL,
    mentions            integer NOT NULL DEFAULT 0,
    assertions          integer NOT NULL DEFAULT 0,
    extracted_at        timestamptz NOT NULL DEFAULT now(),
    superseded_by_run   text,                     -- NULL = the document's current extraction
    superseded_by_model text,
    superseded_at       timestamptz,
    PRIMARY KEY (doc_id, model)
);
CREATE UNIQUE INDEX document_extractions_one_current ON document_extractions (doc_id) WHERE superseded_by_run IS NULL;
CREATE INDEX document_extractions_run ON document_extractions (run_id);
CREATE INDEX document_extractions_superseded ON document_extractions (superseded_by_run) WHERE superseded_by_run IS NOT NULL;

-- Documents extracted before this migration. Where one model's rows are all a document has, that
-- extraction is its current one. Where a document holds rows of several models (what issue 17
-- found after a promotion) nothing records which is newer, so none is marked current: such a
-- document has no current extraction record and `medkb kb reextract` re-extracts it.
INSERT INTO document_extractions (doc_id, model, run_id, mentions, assertions)
SELECT doc_id, min(model), max(run_id), sum(m), sum(a)
FROM (
    SELECT doc_id, model, run_id, 1 AS m, 0 AS a FROM extracted_mentions
    UNION ALL
    SELECT doc_id, model, run_id, 0 AS m, 1 AS a FROM extracted_assertions
) rows
GROUP BY doc_id
HAVING count(DISTINCT model) = 1;
