"""medkb.overview reads every figure of the MedKB page from the real stores, read-only, and says
why a section is empty instead of failing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg2
import pytest

from medkb import overview
from medkb.db.postgres import execute, fetch_all
from medkb.overview import primary_scores, read_overview

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 11, 30)
NOON = dt.time(12, tzinfo=dt.UTC)


def at(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), NOON)


def ner_metrics(f1: float) -> dict[str, Any]:
    micro = {"precision": f1 - 1, "recall": f1 + 1, "f1": f1}
    return {"primary": "CDR_DevelopmentSet", "dev": {"CDR_DevelopmentSet": {"micro": micro, "Chemical": micro}}}


def fill_postgres(conn: Any) -> None:
    """Two nights of activity inside the window, one far outside it, and a run-less extraction."""
    for run, kind, started in (("night-a", "nightly_refresh", at(2)), ("night-b", "nightly_refresh", at(0)),
                               ("old", "nightly_refresh", at(40))):
        execute(conn, "INSERT INTO pipeline_runs (run_id, kind, started_at, status) VALUES (%s, %s, %s, 'succeeded')",
                (run, kind, started))
    docs = [("medline", f"a{i}", "night-a", at(2)) for i in range(3)] + \
           [("pubmed", f"b{i}", "night-b", at(0)) for i in range(2)] + [("medline", "old1", "old", at(40))]
    for source, key, run, when in docs:
        execute(conn, "INSERT INTO staged_documents (source, source_key, content_hash, run_id, staged_at) "
                      "VALUES (%s, %s, 'h', %s, %s)", (source, key, run, when))
    for i, run in enumerate(["night-a"] * 4 + ["night-b"] + ["never-recorded"]):
        execute(conn, "INSERT INTO extracted_mentions (doc_id, start_off, end_off, text, type, score, model, run_id) "
                      "VALUES ('PMID:1', %s, %s, 'x', 'Chemical', 0.9, 'm', %s)", (i, i + 1, run))
    for i in range(2):
        execute(conn, "INSERT INTO extracted_assertions (doc_id, subject_id, predicate, object_id, sentence, start_off, "
                      "end_off, score, model, run_id) VALUES ('PMID:1', 'MESH:C1', 'INDUCES', 'MESH:D1', 's', %s, 9, "
                      "0.8, 'm', 'night-a')", (i,))
    null_title = {"expectation": "expect_column_values_to_not_be_null", "column": "title"}
    bad_year = {"expectation": "expect_column_values_to_be_between", "column": "pub_year"}
    for key, reasons, status, when in (
        ("q1", [null_title], "quarantined", at(2)), ("q2", [null_title, bad_year], "quarantined", at(0)),
        ("q3", [null_title, null_title], "quarantined", at(0)), ("q4", [bad_year], "released", at(0)),
    ):
        execute(conn, "INSERT INTO quarantine (source, source_key, stage, reasons, payload, run_id, status, created_at) "
                      "VALUES ('medline', %s, 'validate', %s, '{}', 'night-b', %s, %s)",
                (key, json.dumps(reasons), status, when))
    for source, position, run in (("medline", "pubmed20n0014.xml.gz", "night-a"),
                                  ("pubmed", "2026-11-29..2026-11-30|edat|", "night-b"),
                                  ("pubmed:cursor", '{"window": "x"}', "night-b")):
        execute(conn, "INSERT INTO source_watermarks (source, position, run_id, updated_at) VALUES (%s, %s, %s, %s)",
                (source, position, run, at(0)))
    for version, status, f1, created in (("ner-1", "retired", 80.0, at(9)), ("ner-2", "champion", 85.5, at(5)),
                                         ("ner-3", "challenger", 84.0, at(1))):
        execute(conn, "INSERT INTO model_registry (version, kind, path, metrics, status, created) "
                      "VALUES (%s, 'ner', '/m', %s, %s, %s)", (version, json.dumps(ner_metrics(f1)), status, created))
    for version, against, action, reasons, when in (
        ("ner-2", "ner-1", "promote", ["micro F1 85.50 vs champion 80.00: gain +5.50"], at(5)),
        ("ner-3", "ner-2", "reject", ["micro F1 84.00 vs champion 85.50: gain -1.50 < margin 0.30"], at(1)),
    ):
        execute(conn, "INSERT INTO model_decisions (kind, version, against, action, reasons, decided_at) "
                      "VALUES ('ner', %s, %s, %s, %s, %s)", (version, against, action, json.dumps(reasons), when))
    conn.commit()


def test_every_section_matches_what_was_stored(pg: Any, graph: Any, settings: Any) -> None:
    fill_postgres(pg)
    graph.write("UNWIND ['PMID:1', 'PMID:2'] AS id CREATE (:Document {pmid: id})")
    graph.write("CREATE (:Assertion {id: 'a1'}), (:Run {id: 'night-a'}), (:Run {id: 'night-b'})")

    o = read_overview(settings, today=TODAY)

    assert [(s.source, s.window, s.run_id, s.run_status, s.documents) for s in o.sources] == [
        ("medline", "pubmed20n0014.xml.gz", "night-a", "succeeded", 4),
        ("pubmed", "2026-11-29..2026-11-30|edat|", "night-b", "succeeded", 2),
    ]  # the in-window cursor is progress, not a refresh
    assert len(o.nights) == 30 and o.nights[0].day == TODAY - dt.timedelta(days=29) and o.nights[-1].day == TODAY
    busy = {n.day: (n.documents, n.mentions, n.assertions, n.quarantined) for n in o.nights if any(
        (n.documents, n.mentions, n.assertions, n.quarantined))}
    assert busy == {TODAY - dt.timedelta(days=2): (3, 4, 2, 1), TODAY: (2, 1, 0, 3)}
    # every figure equals a count over the table it comes from
    in_window = fetch_all(pg, "SELECT count(*) AS n FROM staged_documents WHERE staged_at >= %s", (at(29),))[0]["n"]
    assert sum(n.documents for n in o.nights) == in_window
    assert o.quarantined_total == 3 == fetch_all(
        pg, "SELECT count(*) AS n FROM quarantine WHERE status = 'quarantined'")[0]["n"]
    assert [(q.reason, q.records, q.examples) for q in o.quarantine] == [
        ("expect_column_values_to_not_be_null", 3, ("medline:q3", "medline:q2", "medline:q1")),
        ("expect_column_values_to_be_between", 1, ("medline:q2",)),
    ]
    (champ,) = o.champions
    assert (champ.kind, champ.version, champ.primary, champ.scores["f1"]) == ("ner", "ner-2", "CDR_DevelopmentSet", 85.5)
    (last,) = o.decisions
    assert (last.version, last.against, last.action) == ("ner-3", "ner-2", "reject")
    assert "gain -1.50" in last.reasons[0]
    assert o.graph is not None and (o.graph.documents, o.graph.assertions, o.graph.runs, o.graph.last_run) == (
        2, 1, 2, "night-b")
    assert set(o.notes) == {"diagnosis"}


def test_empty_stores_give_notes_not_errors(pg: Any, graph: Any, settings: Any) -> None:
    o = read_overview(settings, today=TODAY)
    assert o.sources == () and o.champions == () and o.decisions == () and o.diagnosis is None
    assert all(n.documents == n.mentions == n.assertions == n.quarantined == 0 for n in o.nights)
    assert {"sources", "champions", "decisions", "diagnosis", "quarantine"} <= set(o.notes)
    assert "no champion model" in o.notes["champions"]
    assert o.graph is not None and o.graph.documents == 0 and o.graph.last_run is None


def test_a_graph_that_is_down_is_a_note(pg: Any, settings: Any) -> None:
    from dataclasses import replace

    from medkb.settings import Neo4jTarget

    down = replace(settings, neo4j=Neo4jTarget(uri="bolt://127.0.0.1:1", user="neo4j", password="x"))
    o = read_overview(down, today=TODAY)
    assert o.graph is None and "could not be read" in o.notes["graph"]


def test_the_postgres_session_refuses_writes(pg: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def writes(conn: Any) -> list:
        execute(conn, "INSERT INTO source_watermarks (source, position, run_id) VALUES ('x', 'y', 'z')")
        return []

    monkeypatch.setattr(overview, "_sources", writes)
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        read_overview(settings, today=TODAY, with_graph=False)
    assert fetch_all(pg, "SELECT count(*) AS n FROM source_watermarks")[0]["n"] == 0


def test_primary_scores_of_both_metric_layouts() -> None:
    assert primary_scores(ner_metrics(81.0)) == ("CDR_DevelopmentSet", {"precision": 80.0, "recall": 82.0, "f1": 81.0})
    assert primary_scores({"f1": 0.7, "auc": 0.9, "note": "x", "early": True}) == (None, {"f1": 0.7, "auc": 0.9})


def test_the_last_diagnosis_run_from_the_rules_own_tables(pg: Any, settings: Any) -> None:
    for run, finished, evaluated in (("diagnose-a", at(2), 30), ("diagnose-b", at(1), 4), ("diagnose-c", None, 9)):
        execute(pg, "INSERT INTO diagnosis_runs (run_id, ruleset_version, started_at, finished_at, counts) "
                    "VALUES (%s, 'v1', %s, %s, %s)", (run, at(3), finished,
                                                      json.dumps({"evaluated": evaluated, "diffs": {"new": 9}})))
    for run, change in (("diagnose-a", "new"), ("diagnose-b", "new"), ("diagnose-b", "withdrawn"), ("diagnose-c", "new")):
        execute(pg, "INSERT INTO diagnosis_diffs (run_id, source, case_key, suggestion_key, change, reason) "
                    "VALUES (%s, 'fhir', 'k', 'rule:anaemia', %s, 'record_changed')", (run, change))
    pg.commit()
    d = read_overview(settings, today=TODAY, with_graph=False).diagnosis
    # the last finished run (c is still running); results changed are its rows in diagnosis_diffs
    assert d is not None and (d.run_id, d.cases_evaluated, d.results_changed) == ("diagnose-b", 4, 2)


@pytest.mark.parametrize("counts, expected", [
    ({"evaluated": 12, "changed": 3, "skipped": 40}, (12, 3)),
    ({"re_evaluated": 5, "diffs": {"new": 1, "changed": 2, "withdrawn": 1}}, (5, 4)),
])
def test_without_the_rules_tables_the_pipeline_run_counts(pg: Any, settings: Any, counts: dict, expected: tuple,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = overview._table_exists
    monkeypatch.setattr(overview, "_table_exists", lambda conn, name: name != "diagnosis_runs" and real(conn, name))
    for run, status, finished, c in (("diagnose-1", "succeeded", at(3), {"evaluated": 99, "changed": 99}),
                                     ("diagnose-2", "succeeded", at(1), counts),
                                     ("diagnose-3", "failed", at(0), {"evaluated": 1})):
        execute(pg, "INSERT INTO pipeline_runs (run_id, kind, started_at, finished_at, status, counts) "
                    "VALUES (%s, 'diagnose', %s, %s, %s, %s)", (run, finished, finished, status, json.dumps(c)))
    pg.commit()
    d = read_overview(settings, today=TODAY, with_graph=False).diagnosis
    assert d is not None and (d.run_id, d.cases_evaluated, d.results_changed) == ("diagnose-2", *expected)
