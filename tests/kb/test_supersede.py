"""Current and superseded evidence in the graph: a newer model's load of a document supersedes the
older model's evidence; summaries and the named queries count current evidence only."""

from __future__ import annotations

import pytest

from medkb.kb.analyst import run_named
from medkb.kb.dump import canonical_dump
from medkb.kb.loader import load_extractions
from medkb.kb.rollback import rollback_run

from .factories import MODEL, assertion, input_a, mention

pytestmark = pytest.mark.integration

NEW = "ner-test-2"
LITHIUM, HALOPERIDOL, TREMOR = "MESH:D008094", "MESH:D006220", "MESH:D014202"


def pmid2_by_new_model():
    """PMID:2 re-extracted by the newer model: lithium -> tremor again (new score), haloperidol not."""
    mentions = [mention("PMID:2", 0, LITHIUM, model=NEW), mention("PMID:2", 30, TREMOR, "Disease", model=NEW)]
    assertions = [assertion("PMID:2", LITHIUM, TREMOR, 0, 0.95, model=NEW, sentence="Lithium caused tremor.")]
    return mentions, assertions


def _evidence(graph, doc):
    return graph.read(
        "MATCH (a:Assertion)-[e:EVIDENCE]->(:Document {id: $doc}) "
        "RETURN a.id AS a, e.model AS model, e.superseded_by_run AS by_run, e.superseded_by_model AS by_model, "
        "e.superseded_at AS at ORDER BY a, model", {"doc": doc})


def test_a_newer_models_load_supersedes_the_older_evidence_of_that_document_only(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, *pmid2_by_new_model(), "B", as_of="2026-11-02")
    assert _evidence(graph, "PMID:2") == [
        {"a": f"{HALOPERIDOL}|INDUCES|{TREMOR}", "model": MODEL, "by_run": "B", "by_model": NEW, "at": "2026-11-02"},
        {"a": f"{LITHIUM}|INDUCES|{TREMOR}", "model": MODEL, "by_run": "B", "by_model": NEW, "at": "2026-11-02"},
        {"a": f"{LITHIUM}|INDUCES|{TREMOR}", "model": NEW, "by_run": None, "by_model": None, "at": None},
    ]
    assert all(r["by_run"] is None for r in _evidence(graph, "PMID:1"))  # another document: untouched
    mentions = graph.read("MATCH (:Document {id: 'PMID:2'})-[m:MENTIONS]->() "
                          "RETURN m.model AS model, m.superseded_by_run AS by ORDER BY model, by")
    assert {(r["model"], r["by"]) for r in mentions} == {(MODEL, "B"), (NEW, None)}


def test_summaries_count_current_evidence_and_name_their_models(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, *pmid2_by_new_model(), "B", as_of="2026-11-02")
    edges = {r["c"]: r["p"] for r in graph.read(
        "MATCH (c:Chemical)-[i:INDUCES]->(:Disease {id: $t}) RETURN c.id AS c, properties(i) AS p", {"t": TREMOR})}
    # haloperidol -> tremor rested on PMID:2 alone: no current evidence, no summary edge, history kept
    assert set(edges) == {LITHIUM}
    assert edges[LITHIUM]["docs"] == 2 and edges[LITHIUM]["score"] == pytest.approx(0.95)
    assert edges[LITHIUM]["models"] == [MODEL, NEW] and edges[LITHIUM]["runs"] == ["A", "B"]
    (hal,) = graph.read("MATCH (a:Assertion {id: $id}) RETURN a.docs AS docs, a.models AS models",
                        {"id": f"{HALOPERIDOL}|INDUCES|{TREMOR}"})
    assert hal == {"docs": 0, "models": []}


def test_the_history_query_returns_superseded_evidence_and_the_default_queries_do_not(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, *pmid2_by_new_model(), "B", as_of="2026-11-02")
    history = run_named(graph, "fact_history", {"subject": HALOPERIDOL, "object": TREMOR})
    assert [(h["model"], h["pmid"], h["status"], h["superseded_by_model"]) for h in history] == [
        (MODEL, "2", "superseded", NEW)]
    assert "induces" in history[0]["sentence"]
    lith = run_named(graph, "fact_history", {"subject": LITHIUM, "object": TREMOR})
    assert [(h["model"], h["pmid"], h["status"]) for h in lith] == [
        (MODEL, "1", "current"), (MODEL, "2", "superseded"), (NEW, "2", "current")]
    (induced,) = run_named(graph, "induced_diseases", {"chemical": LITHIUM})
    assert sorted((e["pmid"], e["sentence"]) for e in induced["evidence"]) == [
        ("1", f"{LITHIUM} induces {TREMOR} in PMID:1."), ("2", "Lithium caused tremor.")]
    assert run_named(graph, "induced_diseases", {"chemical": HALOPERIDOL}) == []
    single = {r["assertion"]: r["sentence"] for r in run_named(graph, "single_document_assertions", {})}
    assert f"{HALOPERIDOL}|INDUCES|{TREMOR}" not in single


def test_rolling_back_the_superseding_run_restores_the_older_evidence_exactly(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    after_a = canonical_dump(graph)
    load_extractions(graph, *pmid2_by_new_model(), "B", as_of="2026-11-02")
    rollback_run(graph, "B")
    assert canonical_dump(graph) == after_a


def test_a_document_the_newer_model_finds_nothing_in_loses_its_older_evidence_to_history(graph):
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(graph, [], [], "B", as_of="2026-11-02", current={"PMID:1": [NEW]})
    assert {r["by_run"] for r in _evidence(graph, "PMID:1")} == {"B"}
    (lith,) = graph.read("MATCH (:Chemical {id: $c})-[i:INDUCES]->(:Disease {id: $t}) RETURN i.docs AS docs",
                         {"c": LITHIUM, "t": TREMOR})
    assert lith["docs"] == 1  # PMID:2 only


def test_the_older_model_extracting_again_makes_its_evidence_current_again(graph):
    """A champion rolled back to the older model: its extraction is the current one again."""
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    after_a = canonical_dump(graph)
    load_extractions(graph, *pmid2_by_new_model(), "B", as_of="2026-11-02")
    mentions, assertions = input_a()
    load_extractions(graph, [m for m in mentions if m.doc_id == "PMID:2"],
                     [a for a in assertions if a.doc_id == "PMID:2"], "C", as_of="2026-11-03")
    rows = _evidence(graph, "PMID:2")
    assert {(r["model"], r["by_run"], r["by_model"]) for r in rows} == {(MODEL, None, None), (NEW, "C", MODEL)}
    edges = graph.read("MATCH (c:Chemical)-[i:INDUCES]->() RETURN c.id AS c, i.models AS models ORDER BY c")
    assert edges == [{"c": HALOPERIDOL, "models": [MODEL]}, {"c": LITHIUM, "models": [MODEL]}]
    rollback_run(graph, "C")
    rollback_run(graph, "B")
    assert canonical_dump(graph) == after_a
