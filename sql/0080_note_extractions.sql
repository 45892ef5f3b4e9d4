-- Which version of each clinical note the note-phenotype stage has read, and with which extractor
-- (pipelines/records_refresh.extract_notes): a note is read again only when its content or the
-- serving model changed. The phenotypes themselves go to case_phenotypes (evidence 'note ...').
CREATE TABLE note_extractions (
    source        text NOT NULL,
    record_key    text NOT NULL,
    case_key      text NOT NULL,
    content_hash  text NOT NULL,
    model         text NOT NULL,
    phenotypes    integer NOT NULL,
    run_id        text NOT NULL,
    extracted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, record_key)
);
CREATE INDEX note_extractions_case ON note_extractions (source, case_key);
