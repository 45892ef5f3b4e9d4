"""Every named query against a small graph with known facts."""

from __future__ import annotations

import pytest

from medkb.kb.analyst import run_named
from medkb.kb.concepts import ConceptRow, EdgeRow, write_concepts, write_edges
from medkb.kb.loader import load_extractions
from medkb.kb.queries import QueryError, all_queries, get_query

from .factories import assertion, input_a, mention

pytestmark = pytest.mark.integration

LITHIUM, HALOPERIDOL, TREMOR, CISPLATIN, NEPHRO = (
    "MESH:D008094", "MESH:D006220", "MESH:D014202", "MESH:D002945", "MESH:D007674")


@pytest.fixture
def kb(graph):
    write_concepts(graph, [
        ConceptRow(LITHIUM, "Chemical", "Lithium", "drug-ner", "t", synonyms=("Li",), xrefs=("DRUGBANK:DB01356",)),
        ConceptRow(HALOPERIDOL, "Chemical", "Haloperidol", "drug-ner", "t"),
        ConceptRow(CISPLATIN, "Chemical", "Cisplatin", "drug-ner", "t"),
        ConceptRow(TREMOR, "Disease", "Tremor", "mesh-diseases", "t", synonyms=("Tremors", "Trembling")),
        ConceptRow(NEPHRO, "Disease", "Kidney Diseases", "mesh-diseases", "t"),
        ConceptRow("HP:0001337", "Phenotype", "Tremor", "hpo", "t"),
        ConceptRow("HP:0001250", "Phenotype", "Seizure", "hpo", "t"),
        ConceptRow("HP:0012638", "Phenotype", "Abnormal nervous system physiology", "hpo", "t"),
        ConceptRow("HP:0000707", "Phenotype", "Abnormality of the nervous system", "hpo", "t"),
        ConceptRow("OMIM:1", "Disease", "Shaky syndrome", "hpoa", "t"),
        ConceptRow("OMIM:2", "Disease", "Fits syndrome", "hpoa", "t"),
    ], "seed-test")
    write_edges(graph, "IS_A", [EdgeRow("HP:0001250", "HP:0012638", "hpo"), EdgeRow("HP:0001337", "HP:0012638", "hpo"),
                                EdgeRow("HP:0012638", "HP:0000707", "hpo")], "seed-test")
    write_edges(graph, "HAS_PHENOTYPE", [
        EdgeRow("OMIM:1", "HP:0001337", "hpoa", (("frequency", "HP:0040281"), ("onset", ""), ("evidence", ["TAS"]))),
        EdgeRow("OMIM:1", "HP:0001250", "hpoa", (("frequency", "1/2"), ("onset", ""), ("evidence", ["PCS"]))),
        EdgeRow("OMIM:2", "HP:0001250", "hpoa", (("frequency", ""), ("onset", ""), ("evidence", ["IEA"]))),
    ], "seed-test")
    write_edges(graph, "XREF", [EdgeRow(TREMOR, "HP:0001337", "name-match")], "seed-test")
    load_extractions(graph, *input_a(), "A", as_of="2026-11-01")
    load_extractions(
        graph,
        [mention("PMID:5", 0, CISPLATIN), mention("PMID:5", 9, TREMOR, "Disease")],
        [assertion("PMID:5", CISPLATIN, TREMOR, 0, 0.3), assertion("PMID:5", CISPLATIN, NEPHRO, 50, 0.85),
         assertion("PMID:5", LITHIUM, NEPHRO, 90, 0.6, predicate="TREATS")],
        "B", as_of="2026-11-10",
    )
    return graph


def test_at_least_ten_documented_queries():
    queries = all_queries()
    assert len(queries) >= 10
    for q in queries.values():
        assert q.description and "$" in q.text
        for p in q.params:
            assert f"${p.name}" in q.text, f"{q.name} documents {p.name} but does not use it"


def test_missing_and_unknown_parameters_are_named():
    q = get_query("induced_diseases")
    with pytest.raises(QueryError, match="missing --param chemical"):
        q.bind({})
    with pytest.raises(QueryError, match="unknown parameter"):
        q.bind({"chemical": "x", "colour": 1})
    assert q.bind({"chemical": "x"})["limit"] == 25
    with pytest.raises(QueryError, match="available: "):
        get_query("nope")


def test_induced_diseases(kb):
    rows = run_named(kb, "induced_diseases", {"chemical": LITHIUM})
    assert [(r["disease"], r["docs"]) for r in rows] == [(TREMOR, 2)]
    assert sorted(e["pmid"] for e in rows[0]["evidence"]) == ["1", "2"]
    assert all("induces" in e["sentence"] for e in rows[0]["evidence"])


def test_new_assertions_since(kb):
    rows = run_named(kb, "new_assertions_since", {"since": "2026-11-05"})
    assert sorted(r["assertion"] for r in rows) == sorted(
        [f"{CISPLATIN}|INDUCES|{TREMOR}", f"{CISPLATIN}|INDUCES|{NEPHRO}", f"{LITHIUM}|TREATS|{NEPHRO}"])


def test_strongest_pairs(kb):
    rows = run_named(kb, "strongest_pairs", {"limit": 2})
    assert (rows[0]["chemical"], rows[0]["disease"], rows[0]["docs"]) == (LITHIUM, TREMOR, 2)
    assert len(rows) == 2
    assert [r["chemical"] for r in run_named(kb, "strongest_pairs", {"min_docs": 2})] == [LITHIUM]


def test_shared_induced_diseases(kb):
    rows = run_named(kb, "shared_induced_diseases", {"chemical": LITHIUM})
    assert {r["chemical"]: r["shared"] for r in rows} == {CISPLATIN: [TREMOR], HALOPERIDOL: [TREMOR]}


def test_disease_phenotypes(kb):
    rows = run_named(kb, "disease_phenotypes", {"disease": "OMIM:1"})
    assert [(r["phenotype"], r["frequency"]) for r in rows] == [("HP:0001250", "1/2"), ("HP:0001337", "HP:0040281")]


def test_diseases_for_phenotypes(kb):
    rows = run_named(kb, "diseases_for_phenotypes", {"phenotypes": ["HP:0001250", "HP:0001337"]})
    assert [(r["disease"], r["matched_count"]) for r in rows] == [("OMIM:1", 2), ("OMIM:2", 1)]


def test_concept_synonyms(kb):
    (row,) = run_named(kb, "concept_synonyms", {"id": TREMOR})
    assert row["synonyms"] == ["Trembling", "Tremors"] and row["linked"] == ["HP:0001337"]
    assert row["kind"] == ["Disease"]
    (lith,) = run_named(kb, "concept_synonyms", {"id": LITHIUM})
    assert lith["xrefs"] == ["DRUGBANK:DB01356"]


def test_single_document_assertions(kb):
    rows = run_named(kb, "single_document_assertions", {})
    assert [r["assertion"] for r in rows][0] == f"{CISPLATIN}|INDUCES|{TREMOR}"  # weakest (0.3) first
    assert f"{LITHIUM}|INDUCES|{TREMOR}" not in {r["assertion"] for r in rows}  # two documents


def test_run_added(kb):
    rows = {r["kind"]: r["n"] for r in run_named(kb, "run_added", {"run": "B"})}
    assert rows == {"assertions": 3, "evidence": 3, "mentions": 2, "documents": 1, "concepts": 0}


def test_runs(kb):
    assert [(r["run"], r["status"]) for r in run_named(kb, "runs", {})] == [("A", "loaded"), ("B", "loaded")]


def test_concept_search(kb):
    kb.write("CALL db.awaitIndexes(60)")
    rows = run_named(kb, "concept_search", {"text": "trembling"})
    assert rows[0]["id"] == TREMOR


def test_treatments(kb):
    assert [(r["chemical"], r["docs"]) for r in run_named(kb, "treatments", {"disease": NEPHRO})] == [(LITHIUM, 1)]


def test_phenotype_ancestors(kb):
    rows = run_named(kb, "phenotype_ancestors", {"phenotype": "HP:0001250"})
    assert [(r["ancestor"], r["distance"]) for r in rows] == [("HP:0012638", 1), ("HP:0000707", 2)]
