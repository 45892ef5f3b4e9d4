"""What the knowledge base holds right now, for the MedKB page in the Airflow UI (plugins/medkb_page.py).

Read-only by construction: the Postgres session is opened READ ONLY and the graph is read in read
transactions, so neither store can be changed from here. Each section reads one store; a store (or
table) that has no data yet gives an empty section with a `note` saying why, never an error, so the
page still renders on a fresh machine and before the later stages (rules, relation models) land.
Patient data never appears: quarantine examples show the record key, which for patient records
is already the keyed pseudonym.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from medkb.db.postgres import PostgresUnavailable, connect, fetch_all
from medkb.kb.client import GraphClient
from medkb.settings import Settings

NIGHTS = 30
EXAMPLES_PER_REASON = 3


@dataclass(frozen=True)
class SourceRefresh:
    """The last refresh of one source: its watermark (the window or file it reached) and that run."""

    source: str
    window: str
    run_id: str
    updated_at: dt.datetime
    run_status: str | None
    documents: int  # staged rows of this source (all states)


@dataclass(frozen=True)
class Night:
    """What one night (UTC day) added: staged documents, extracted mentions and assertions, quarantined records."""

    day: dt.date
    documents: int
    mentions: int
    assertions: int
    quarantined: int


@dataclass(frozen=True)
class QuarantineReason:
    """Records held back for one reason (a failed expectation), with a few example keys."""

    reason: str
    records: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Champion:
    """The champion of one model kind, with the scores it was chosen on."""

    kind: str
    version: str
    created: dt.datetime
    primary: str | None  # the dev set the gate compares on
    scores: Mapping[str, float]  # e.g. {"precision": .., "recall": .., "f1": ..}


@dataclass(frozen=True)
class PromotionDecision:
    """The last champion/challenger decision of one kind, with its reasons."""

    kind: str
    version: str
    against: str | None
    action: str
    reasons: tuple[str, ...]
    decided_at: dt.datetime


@dataclass(frozen=True)
class DiagnosisRun:
    """The last diagnosis re-run: how many cases it re-evaluated and how many results changed."""

    run_id: str
    finished_at: dt.datetime | None
    cases_evaluated: int
    results_changed: int


@dataclass(frozen=True)
class GraphTotals:
    documents: int
    assertions: int
    runs: int
    last_run: str | None


@dataclass(frozen=True)
class Overview:
    generated_at: dt.datetime
    sources: tuple[SourceRefresh, ...]
    nights: tuple[Night, ...]
    quarantine: tuple[QuarantineReason, ...]
    quarantined_total: int
    champions: tuple[Champion, ...]
    decisions: tuple[PromotionDecision, ...]
    diagnosis: DiagnosisRun | None
    graph: GraphTotals | None
    notes: Mapping[str, str] = field(default_factory=dict)  # section -> why it is empty

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sources(conn: Any) -> list[SourceRefresh]:
    rows = fetch_all(
        conn,
        """SELECT w.source, w.position, w.run_id, w.updated_at, r.status AS run_status,
                  (SELECT count(*) FROM staged_documents d WHERE d.source = w.source) AS documents
           FROM source_watermarks w LEFT JOIN pipeline_runs r ON r.run_id = w.run_id
           WHERE w.source NOT LIKE %s
           ORDER BY w.source""",
        ("%:cursor",),  # pubmed:cursor is the progress inside a window, not a finished refresh
    )
    return [SourceRefresh(r["source"], r["position"], r["run_id"], r["updated_at"], r["run_status"],
                          int(r["documents"])) for r in rows]


def _nights(conn: Any, today: dt.date, nights: int) -> list[Night]:
    """One row per UTC day, oldest first, zeros included. Mentions and assertions carry no time of
    their own: they count on the day their run started (pipeline_runs)."""
    rows = fetch_all(
        conn,
        """WITH days AS (
               SELECT generate_series(%(first)s::date, %(last)s::date, interval '1 day')::date AS day),
           docs AS (SELECT (staged_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
                    FROM staged_documents GROUP BY 1),
           ments AS (SELECT (r.started_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
                     FROM extracted_mentions m JOIN pipeline_runs r USING (run_id) GROUP BY 1),
           asserts AS (SELECT (r.started_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
                       FROM extracted_assertions a JOIN pipeline_runs r USING (run_id) GROUP BY 1),
           quar AS (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
                    FROM quarantine GROUP BY 1)
           SELECT days.day, coalesce(docs.n, 0) AS documents, coalesce(ments.n, 0) AS mentions,
                  coalesce(asserts.n, 0) AS assertions, coalesce(quar.n, 0) AS quarantined
           FROM days LEFT JOIN docs USING (day) LEFT JOIN ments USING (day)
                LEFT JOIN asserts USING (day) LEFT JOIN quar USING (day)
           ORDER BY days.day""",
        {"first": today - dt.timedelta(days=nights - 1), "last": today},
    )
    return [Night(r["day"], int(r["documents"]), int(r["mentions"]), int(r["assertions"]), int(r["quarantined"]))
            for r in rows]


def _quarantine(conn: Any, examples: int) -> tuple[list[QuarantineReason], int]:
    """Held-back records (status quarantined) by failed expectation; a record failing two counts under both."""
    rows = fetch_all(
        conn,
        """WITH held AS (SELECT id, source, source_key, created_at, reasons FROM quarantine
                         WHERE status = 'quarantined'),
           why AS (SELECT DISTINCT h.id, h.source, h.source_key, h.created_at,
                          coalesce(r->>'expectation', r->>'reason', 'unspecified') AS reason
                   FROM held h CROSS JOIN LATERAL jsonb_array_elements(
                        CASE WHEN jsonb_typeof(h.reasons) = 'array' THEN h.reasons ELSE '[]'::jsonb END) r),
           ranked AS (SELECT *, row_number() OVER (PARTITION BY reason ORDER BY created_at DESC, id DESC) AS k
                      FROM why)
           SELECT reason, count(*) AS records,
                  array_agg(source || ':' || source_key ORDER BY k) FILTER (WHERE k <= %(ex)s) AS examples
           FROM ranked GROUP BY reason ORDER BY count(*) DESC, reason""",
        {"ex": examples},
    )
    total = fetch_all(conn, "SELECT count(*) AS n FROM quarantine WHERE status = 'quarantined'")[0]["n"]
    return [QuarantineReason(r["reason"], int(r["records"]), tuple(r["examples"] or ())) for r in rows], int(total)


def primary_scores(metrics: Mapping[str, Any]) -> tuple[str | None, dict[str, float]]:
    """The headline scores of a model's metrics.json: micro P/R/F1 on its primary dev set (NER and
    relation models both write {"primary": file, "dev": {file: {"micro": {...}}}}); otherwise the
    numeric top-level values, so a model kind with another layout still shows something true."""
    primary = metrics.get("primary")
    dev = metrics.get("dev")
    if isinstance(primary, str) and isinstance(dev, Mapping) and isinstance(dev.get(primary), Mapping):
        block = dev[primary]
        micro = block.get("micro", block)
        return primary, {k: float(v) for k, v in micro.items() if isinstance(v, (int, float))}
    return None, {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _models(conn: Any) -> tuple[list[Champion], list[PromotionDecision]]:
    champions = []
    for r in fetch_all(conn, "SELECT kind, version, created, metrics FROM model_registry "
                             "WHERE status = 'champion' ORDER BY kind"):
        primary, scores = primary_scores(r["metrics"] or {})
        champions.append(Champion(r["kind"], r["version"], r["created"], primary, scores))
    decisions = [
        PromotionDecision(r["kind"], r["version"], r["against"], r["action"],
                          tuple(str(x) for x in (r["reasons"] if isinstance(r["reasons"], list) else [r["reasons"]])),
                          r["decided_at"])
        for r in fetch_all(
            conn,
            """SELECT DISTINCT ON (kind) kind, version, against, action, reasons, decided_at
               FROM model_decisions ORDER BY kind, decided_at DESC, id DESC""",
        )
    ]
    return champions, decisions


def _table_exists(conn: Any, name: str) -> bool:
    return fetch_all(conn, "SELECT to_regclass(%s) IS NOT NULL AS there", (name,))[0]["there"]


# Names the rules' re-run summary may give its two figures (medkb.rules.incremental.RerunSummary,
# recorded as the counts of the `diagnose` pipeline run by medkb/pipelines/diagnose.py).
_EVALUATED = ("evaluated", "re_evaluated", "reevaluated", "cases_evaluated")
_CHANGED = ("changed", "results_changed", "cases_changed")


def _first_int(counts: Mapping[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        if isinstance(counts.get(name), (int, float)):
            return int(counts[name])
    return None


def _diagnosis(conn: Any) -> DiagnosisRun | None:
    """The last finished re-run of the rules (medkb.rules.incremental): from its own results tables
    (diagnosis_runs, migration 0050) when they exist, results changed being that run's rows in
    diagnosis_diffs; else from pipeline_runs. None until a run has finished."""
    if _table_exists(conn, "diagnosis_runs"):
        rows = fetch_all(
            conn,
            """SELECT r.run_id, r.finished_at, r.counts,
                      (SELECT count(*) FROM diagnosis_diffs d WHERE d.run_id = r.run_id) AS diffs
               FROM diagnosis_runs r WHERE r.finished_at IS NOT NULL
               ORDER BY r.finished_at DESC, r.started_at DESC LIMIT 1""",
        )
        if rows:
            counts = rows[0]["counts"] or {}
            return DiagnosisRun(rows[0]["run_id"], rows[0]["finished_at"], _first_int(counts, _EVALUATED) or 0,
                                int(rows[0]["diffs"]))
    return _diagnosis_pipeline_run(conn)


def _diagnosis_pipeline_run(conn: Any) -> DiagnosisRun | None:
    """The last succeeded diagnosis run from pipeline_runs (kind `diagnose`) with the counts its
    re-run recorded: cases re-evaluated, and results changed (given, or new + changed + withdrawn
    of the recorded diff). None until a run exists."""
    rows = fetch_all(
        conn,
        """SELECT run_id, finished_at, counts FROM pipeline_runs
           WHERE kind = 'diagnose' AND status = 'succeeded'
           ORDER BY finished_at DESC NULLS LAST, started_at DESC LIMIT 1""",
    )
    if not rows:
        return None
    counts = rows[0]["counts"] or {}
    changed = _first_int(counts, _CHANGED)
    diff = counts.get("diffs", counts.get("diff"))
    if changed is None and isinstance(diff, Mapping):
        changed = sum(int(v) for k, v in diff.items() if k in ("new", "changed", "withdrawn") and isinstance(v, int))
    return DiagnosisRun(rows[0]["run_id"], rows[0]["finished_at"], _first_int(counts, _EVALUATED) or 0, changed or 0)


def _graph(settings: Settings) -> GraphTotals:
    with GraphClient(settings.neo4j) as graph:
        (row,) = graph.read(
            """CALL () { MATCH (d:Document) RETURN count(d) AS documents }
               CALL () { MATCH (a:Assertion) RETURN count(a) AS assertions }
               CALL () { MATCH (r:Run) RETURN count(r) AS runs }
               CALL () { OPTIONAL MATCH (r:Run) WITH r ORDER BY r.id DESC LIMIT 1 RETURN r.id AS last_run }
               RETURN documents, assertions, runs, last_run"""
        )
    return GraphTotals(int(row["documents"]), int(row["assertions"]), int(row["runs"]), row["last_run"])


def read_overview(settings: Settings, *, today: dt.date | None = None, nights: int = NIGHTS,
                  examples: int = EXAMPLES_PER_REASON, with_graph: bool = True) -> Overview:
    """Every figure of the page, read in one READ ONLY Postgres transaction (one consistent snapshot)
    and one graph read. A store that is down or empty yields an empty section and a note."""
    today = today or dt.datetime.now(dt.UTC).date()
    notes: dict[str, str] = {}
    sources: list[SourceRefresh] = []
    night_rows: list[Night] = []
    reasons: list[QuarantineReason] = []
    total = 0
    champions: list[Champion] = []
    decisions: list[PromotionDecision] = []
    diagnosis = None
    try:
        with connect(settings) as conn:
            conn.set_session(readonly=True, isolation_level="REPEATABLE READ")
            if not _table_exists(conn, "staged_documents"):
                notes["postgres"] = "the project database has no tables yet: run `medkb db migrate`"
            else:
                sources = _sources(conn)
                night_rows = _nights(conn, today, nights)
                reasons, total = _quarantine(conn, examples)
                if _table_exists(conn, "model_registry"):
                    champions, decisions = _models(conn)
                diagnosis = _diagnosis(conn)
    except PostgresUnavailable as exc:
        notes["postgres"] = str(exc)
    if not sources and "postgres" not in notes:
        notes["sources"] = "no source has been refreshed yet (no watermark in source_watermarks)"
    if not champions and "postgres" not in notes:
        notes["champions"] = "no champion model in the registry yet: `medkb model promote VERSION` makes one"
    if not decisions and "postgres" not in notes:
        notes["decisions"] = "no promotion decision recorded yet"
    if diagnosis is None and "postgres" not in notes:
        notes["diagnosis"] = "no diagnosis run recorded yet (`medkb diagnose --changed` or the medkb_diagnose DAG makes one)"
    if not reasons and "postgres" not in notes:
        notes["quarantine"] = "nothing in the quarantine"
    graph = None
    if with_graph:
        try:
            graph = _graph(settings)
        except Exception as exc:  # noqa: BLE001  a graph that is down is a note on the page, not a 500
            notes["graph"] = f"the graph at {settings.neo4j.uri} could not be read: {type(exc).__name__}: {exc}"
    return Overview(dt.datetime.now(dt.UTC), tuple(sources), tuple(night_rows), tuple(reasons), total,
                    tuple(champions), tuple(decisions), diagnosis, graph, notes)
