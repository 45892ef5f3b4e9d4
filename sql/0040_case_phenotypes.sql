-- Phenotype-driven diagnosis (issue 16): HPO terms per case, from any source, and what a
-- phenopacket case carries beyond a FHIR patient. Case keys are the pseudonymous staging keys.

-- Observed and excluded HPO terms of a case: from phenopackets, from FHIR coded findings
-- (evidence 'snomed:<code>'), from the notes' text ('note').
CREATE TABLE case_phenotypes (
    source      text NOT NULL,
    case_key    text NOT NULL,
    hpo_id      text NOT NULL,
    excluded    boolean NOT NULL DEFAULT false,
    onset       text,                          -- HP onset class or ISO 8601 age, as given
    evidence    text NOT NULL,                 -- 'phenopacket', 'snomed:<code>', 'note' ...
    run_id      text NOT NULL,
    PRIMARY KEY (source, case_key, hpo_id, excluded)
);
CREATE INDEX case_phenotypes_case ON case_phenotypes (case_key);
CREATE INDEX case_phenotypes_hpo ON case_phenotypes (hpo_id);

-- A phenopacket case: its stated diagnosis (the benchmark's truth), onset, age, the published
-- source it came from (the own-PMID protocol needs it) and the id problems found at ingest.
ALTER TABLE staged_cases ADD COLUMN diagnosis text;          -- OMIM:…, ORPHA:…, MONDO:…
ALTER TABLE staged_cases ADD COLUMN diagnosis_label text;
ALTER TABLE staged_cases ADD COLUMN onset text;
ALTER TABLE staged_cases ADD COLUMN age text;                -- ISO 8601 duration at last encounter
ALTER TABLE staged_cases ADD COLUMN reference text;          -- e.g. PMID:15266616 (a published paper)
ALTER TABLE staged_cases ADD COLUMN term_notes jsonb NOT NULL DEFAULT '[]'::jsonb;  -- replaced/unknown ids
