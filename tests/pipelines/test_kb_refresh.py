"""The KB refresh load stage: staged + extracted rows in Postgres -> knowledge in Neo4j, retractions."""

from __future__ import annotations

import pytest

from medkb.kb.dump import canonical_dump
from medkb.pipelines.kb_refresh import load_graph

pytestmark = pytest.mark.integration


def _stage(pg, pmid: str, state: str = "extracted", retracted: bool = False) -> None:
    with pg.cursor() as cur:
        cur.execute(
            "INSERT INTO staged_documents (source, source_key, version, title, content_hash, state, retracted, run_id) "
            "VALUES ('medline', %s, 1, %s, %s, %s, %s, 'R0')",
            (pmid, f"title {pmid}", f"h{pmid}", state, retracted),
        )
        cur.execute(
            "INSERT INTO extracted_mentions VALUES (%s, 0, 7, 'lithium', 'Chemical', 'MESH:D008094', 0.9, 'm1', 'R0'),"
            " (%s, 20, 26, 'tremor', 'Disease', 'MESH:D014202', 0.8, 'm1', 'R0')",
            (f"PMID:{pmid}", f"PMID:{pmid}"),
        )
        cur.execute(
            "INSERT INTO extracted_assertions VALUES (%s, 'MESH:D008094', 'INDUCES', 'MESH:D014202', "
            "'Lithium induced tremor.', 0, 24, 0.7, 'm1', 'R0')",
            (f"PMID:{pmid}",),
        )
    pg.commit()


def test_load_graph_loads_knowledge_then_applies_retractions(settings, pg, graph):
    _stage(pg, "11")
    _stage(pg, "12")
    counts = load_graph(settings, "N1")
    assert counts["documents"] == 2 and counts["kb_evidence"] == 2
    edge = graph.read("MATCH (:Chemical {id: 'MESH:D008094'})-[i:INDUCES]->(:Disease) RETURN i.docs AS n")
    assert edge == [{"n": 2}]
    title = graph.read("MATCH (d:Document {id: 'PMID:11'}) RETURN d.title AS t, d.created_run AS r")
    assert title == [{"t": "title 11", "r": "N1"}]
    before = canonical_dump(graph)
    assert load_graph(settings, "N1")["documents"] == 0  # nothing left in `extracted`: a re-run is a no-op
    assert canonical_dump(graph) == before

    with pg.cursor() as cur:
        cur.execute("UPDATE staged_documents SET retracted = true WHERE source_key = '12'")
    pg.commit()
    counts = load_graph(settings, "N2")
    assert counts["kb_retracted_documents"] == 1
    assert graph.read("MATCH (:Chemical {id: 'MESH:D008094'})-[i:INDUCES]->() RETURN i.docs AS n") == [{"n": 1}]
    assert graph.read("MATCH (d:Document {id: 'PMID:12'}) RETURN d.retracted AS r") == [{"r": True}]


def test_a_record_the_graph_cannot_hold_goes_to_quarantine_and_the_rest_loads(settings, pg, graph):
    from medkb.staging import quarantine

    _stage(pg, "21")
    with pg.cursor() as cur:  # a second assertion in the same document with an impossible score
        cur.execute(
            "INSERT INTO extracted_assertions VALUES ('PMID:21', 'MESH:D008094', 'INDUCES', 'MESH:D003920', "
            "'Lithium and diabetes.', 30, 51, 5.0, 'm1', 'R0')"
        )
    pg.commit()
    counts = load_graph(settings, "N1")
    assert counts["kb_quarantined"] == 1 and counts["kb_evidence"] == 1
    entries = quarantine.list_entries(pg, source="extraction")
    assert len(entries) == 1
    entry = quarantine.get(pg, entries[0]["id"])
    assert entry["stage"] == "load" and "score 5.0 outside 0..1" in str(entry["reasons"])
    assert entry["payload"]["object_id"] == "MESH:D003920" and entry["payload"]["score"] == 5.0
    assert graph.read("MATCH (:Chemical)-[i:INDUCES]->(d:Disease) RETURN d.id AS d") == [{"d": "MESH:D014202"}]


def test_a_night_applies_the_retractions_since_the_last_load_only(settings, pg, graph):
    """Issue 13: a night no longer re-applies every retraction ever staged; a retraction still
    takes effect in the night after it is staged, later nights leave it alone, and rolling that
    night back makes it pending again (the next night applies it anew, as nights used to)."""
    from medkb.db.postgres import fetch_all
    from medkb.pipelines.undo import rollback_night
    from medkb.sources.citations import Retraction
    from medkb.staging.documents import pending_retractions, retract

    def induces() -> list[dict]:
        return graph.read("MATCH (:Chemical {id: 'MESH:D008094'})-[i:INDUCES]->() RETURN i.docs AS n")

    for pmid in ("31", "32", "33"):
        _stage(pg, pmid)
    load_graph(settings, "N1")
    assert induces() == [{"n": 3}]
    assert retract(pg, [Retraction("medline", "32"), Retraction("medline", "99")], "N2-ingest") == 2
    pg.commit()
    assert pending_retractions(pg) == ["32"]  # 99 was never staged: nothing of it can be in the graph
    counts = load_graph(settings, "N2")
    assert counts["kb_retracted_documents"] == 1 and counts["kb_relationships_removed"] >= 2
    assert induces() == [{"n": 2}]
    assert graph.read("MATCH (d:Document {id: 'PMID:32'}) RETURN d.retracted AS r") == [{"r": True}]
    pg.rollback()
    assert pending_retractions(pg) == []
    assert fetch_all(pg, "SELECT DISTINCT graph_retracted_run AS r FROM staged_documents WHERE retracted") == [
        {"r": "N2"}]
    after = canonical_dump(graph)

    again = load_graph(settings, "N3")  # the retraction is taken: this night does not touch it
    assert (again["documents"], again["kb_retracted_documents"]) == (0, 0)
    assert canonical_dump(graph) == after

    rollback_night(settings, "N2")  # the evidence of 32 comes back, and its retraction is pending again
    assert induces() == [{"n": 3}]
    pg.rollback()
    assert pending_retractions(pg) == ["32"]
    assert load_graph(settings, "N4")["kb_retracted_documents"] == 1
    assert induces() == [{"n": 2}]
    assert graph.read("MATCH (d:Document {id: 'PMID:32'}) RETURN d.retracted AS r") == [{"r": True}]

    _stage(pg, "34", retracted=True)  # retracted before it was ever loaded: never in the graph
    n5 = load_graph(settings, "N5")
    assert (n5["documents"], n5["kb_retracted_documents"]) == (0, 1)
    assert graph.read("MATCH (d:Document {id: 'PMID:34'}) RETURN d.id AS id") == []
