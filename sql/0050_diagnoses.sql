-- Diagnostic results (issue 16): what the rule engine suggested for each case, why, with which rule
-- set and graph state, and what changed between runs. Case keys are the pseudonymous staging keys.

-- One row per diagnose run (`medkb diagnose --changed`, the medkb_diagnose DAG).
CREATE TABLE diagnosis_runs (
    run_id           text PRIMARY KEY,            -- 'diagnose-…'
    ruleset_version  text NOT NULL,
    graph_run        text,                        -- the latest graph Run the evaluation saw
    graph_seq        bigint NOT NULL DEFAULT 0,   -- diagnosis_graph_changes.seq seen
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    counts           jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- The graph's runs as the engine saw them, one row per (run, status) the first time it was seen,
-- with the concepts that run touched (read through run provenance when it was seen, so a later
-- rollback, which removes that provenance, can still be traced to its concepts).
CREATE TABLE diagnosis_graph_changes (
    seq          bigserial PRIMARY KEY,
    graph_run    text NOT NULL,
    status       text NOT NULL DEFAULT '',
    everything   boolean NOT NULL DEFAULT false,  -- a seed: it may touch any concept
    concepts     text[] NOT NULL DEFAULT '{}',
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (graph_run, status)
);

-- The current evaluation of each case: what it was built from and what it touched in the graph.
CREATE TABLE diagnosis_evaluations (
    source           text NOT NULL,
    case_key         text NOT NULL,
    record_hash      text NOT NULL,               -- store.RECORD_HASHES at evaluation time
    ruleset_version  text NOT NULL,
    graph_run        text,
    graph_seq        bigint NOT NULL DEFAULT 0,
    touched          text[] NOT NULL DEFAULT '{}', -- graph concept ids the evaluation read
    as_of            date,
    not_evaluable    jsonb NOT NULL DEFAULT '[]'::jsonb,  -- [{rule, reason}]
    notes            jsonb NOT NULL DEFAULT '[]'::jsonb,
    run_id           text NOT NULL REFERENCES diagnosis_runs (run_id),
    evaluated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, case_key)
);

-- The suggestions of each case's current evaluation, with their explanation.
CREATE TABLE diagnosis_suggestions (
    source           text NOT NULL,
    case_key         text NOT NULL,
    suggestion_key   text NOT NULL,               -- 'rule:anaemia', 'ade:MESH:…|MESH:…', 'rank:OMIM:…'
    kind             text NOT NULL CHECK (kind IN ('rule', 'adverse_drug_event', 'phenotype_ranking')),
    name             text NOT NULL,
    codes            jsonb NOT NULL DEFAULT '{}'::jsonb,
    strength         text NOT NULL,
    score            double precision,
    recommendation   text NOT NULL DEFAULT '',
    explanation      jsonb NOT NULL,
    text             text NOT NULL,
    fingerprint      text NOT NULL,               -- what a diff compares
    ruleset_version  text NOT NULL,
    graph_run        text,
    run_id           text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, case_key, suggestion_key),
    FOREIGN KEY (source, case_key) REFERENCES diagnosis_evaluations (source, case_key) ON DELETE CASCADE
);

-- What each run changed: a suggestion that appeared, changed (facts, evidence or strength) or was withdrawn.
CREATE TABLE diagnosis_diffs (
    id               bigserial PRIMARY KEY,
    run_id           text NOT NULL REFERENCES diagnosis_runs (run_id),
    source           text NOT NULL,
    case_key         text NOT NULL,
    suggestion_key   text NOT NULL,
    change           text NOT NULL CHECK (change IN ('new', 'changed', 'withdrawn')),
    reason           text NOT NULL,               -- why the case was re-evaluated
    before           jsonb,
    after            jsonb,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX diagnosis_diffs_run ON diagnosis_diffs (run_id);
CREATE INDEX diagnosis_diffs_case ON diagnosis_diffs (source, case_key);
