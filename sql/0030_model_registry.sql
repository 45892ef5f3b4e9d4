-- Model registry: one row per trained model version (its files live in the registry directory),
-- and every champion/challenger decision with its reasons. At most one champion per kind.

CREATE TABLE model_registry (
    version     text PRIMARY KEY,              -- e.g. ner-20261128-1
    kind        text NOT NULL DEFAULT 'ner',
    parent      text REFERENCES model_registry (version),
    created     timestamptz NOT NULL DEFAULT now(),
    path        text NOT NULL,                 -- the model directory
    metrics     jsonb NOT NULL,                -- {"primary": dev file, "dev": {file: scores}}
    status      text NOT NULL DEFAULT 'challenger'
                CHECK (status IN ('challenger', 'champion', 'retired')),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX model_registry_one_champion ON model_registry (kind) WHERE status = 'champion';

CREATE TABLE model_decisions (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    version     text NOT NULL REFERENCES model_registry (version),
    against     text REFERENCES model_registry (version),   -- the champion it was compared with
    action      text NOT NULL CHECK (action IN ('promote', 'reject', 'force', 'rollback')),
    reasons     jsonb NOT NULL,
    decided_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_decisions_kind ON model_decisions (kind, decided_at);
