-- Ingestion (issue 3): revised/retracted citations, the quarantine, pseudonymised patient records.

-- A revised citation (higher Version) replaces the old one: the old row stays, marked superseded.
ALTER TABLE staged_documents ADD COLUMN superseded boolean NOT NULL DEFAULT false;
ALTER TABLE staged_documents ADD COLUMN origin text;                 -- file or request it came from
-- Warnings from validation that did not stop the row (e.g. a title-only citation).
ALTER TABLE staged_documents ADD COLUMN validation_notes jsonb NOT NULL DEFAULT '[]'::jsonb;

-- Every DeleteCitation seen, also for keys never staged (they may arrive later or never).
CREATE TABLE retractions (
    source       text NOT NULL,
    source_key   text NOT NULL,
    origin       text,
    run_id       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, source_key)
);

-- Rows (or whole files) held back with the reasons and the raw payload, until an operator releases them.
CREATE TABLE quarantine (
    id           bigserial PRIMARY KEY,
    source       text NOT NULL,
    source_key   text NOT NULL,                 -- record key, or the file name for an unreadable file
    version      integer NOT NULL DEFAULT 1,
    stage        text NOT NULL CHECK (stage IN ('ingest', 'validate')),
    reasons      jsonb NOT NULL,                -- [{expectation, column, observed, message}]
    payload      jsonb NOT NULL,                -- the raw record (pseudonymised for patient data)
    run_id       text NOT NULL,
    status       text NOT NULL DEFAULT 'quarantined' CHECK (status IN ('quarantined', 'released')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    released_at  timestamptz,
    UNIQUE (source, source_key, version, stage)
);
CREATE INDEX quarantine_status ON quarantine (status);
CREATE INDEX quarantine_run ON quarantine (run_id);

-- One case per (pseudonymised) patient. No names, addresses, telecom or identifiers; birth year only.
CREATE TABLE staged_cases (
    source        text NOT NULL,                -- fhir
    case_key      text NOT NULL,                -- keyed HMAC of the patient id
    version       integer NOT NULL DEFAULT 1,
    gender        text,
    birth_year    integer,
    deceased      boolean NOT NULL DEFAULT false,
    content_hash  text NOT NULL,
    origin        text,
    state         text NOT NULL DEFAULT 'staged'
                  CHECK (state IN ('staged', 'validated', 'extracted', 'loaded', 'quarantined')),
    run_id        text NOT NULL,
    staged_at     timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, case_key, version)
);

-- The clinical facts of a case: conditions, observations, medications, procedures, encounters, notes.
CREATE TABLE staged_clinical_records (
    source         text NOT NULL,
    record_key     text NOT NULL,               -- keyed HMAC of the resource id (+ component index)
    version        integer NOT NULL DEFAULT 1,
    case_key       text NOT NULL,
    resource_type  text NOT NULL,
    code_system    text,
    code           text,
    display        text,
    value          double precision,
    value_text     text,
    unit           text,
    effective_at   timestamptz,
    note_text      text,                        -- DocumentReference text, patient's names masked
    payload        jsonb NOT NULL,              -- the pseudonymised resource
    content_hash   text NOT NULL,
    state          text NOT NULL DEFAULT 'staged'
                   CHECK (state IN ('staged', 'validated', 'extracted', 'loaded', 'quarantined')),
    run_id         text NOT NULL,
    staged_at      timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, record_key, version)
);
CREATE INDEX staged_clinical_records_case ON staged_clinical_records (case_key);
CREATE INDEX staged_clinical_records_state ON staged_clinical_records (state);
