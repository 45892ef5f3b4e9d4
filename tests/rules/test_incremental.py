"""Results and incremental re-runs against the real Postgres and Neo4j: change one assertion in the
graph, and only the cases that touch it are re-evaluated; the diff says what changed."""

from __future__ import annotations

import json

import pytest

from medkb.db.postgres import execute, fetch_all
from medkb.kb.concepts import ConceptRow, write_concepts
from medkb.kb.loader import load_extractions
from medkb.rules.incremental import rerun_changed
from medkb.rules.results import load_results
from medkb.rules.ruleset import load_rulesets
from medkb.rules.store import load_cases
from tests.kb.factories import assertion, mention

pytestmark = pytest.mark.integration

LISINOPRIL, IBUPROFEN, ANEMIA, HYPERTENSION = "MESH:D017706", "MESH:D007052", "MESH:D000740", "MESH:D006973"


def _stage(conn, key: str, records: list[tuple], gender: str = "female") -> None:
    execute(conn, "INSERT INTO staged_cases (source, case_key, version, gender, birth_year, content_hash, run_id) "
            "VALUES ('fhir', %s, 1, %s, 1960, %s, 't')", (key, gender, f"h-{key}"))
    for i, (rtype, system, code, display, value, unit, when) in enumerate(records):
        execute(conn, """INSERT INTO staged_clinical_records (source, record_key, version, case_key, resource_type,
                 code_system, code, display, value, unit, effective_at, payload, content_hash, run_id)
                 VALUES ('fhir', %s, 1, %s, %s, %s, %s, %s, %s, %s, %s, '{}', %s, 't')""",
                (f"{key}-{i}", key, rtype, system, code, display, value, unit, when, f"h-{key}-{i}-{value}"))


@pytest.fixture
def world(pg, graph, settings):
    write_concepts(graph, [
        ConceptRow(LISINOPRIL, "Chemical", "Lisinopril", "mesh", "t"),
        ConceptRow(IBUPROFEN, "Chemical", "Ibuprofen", "mesh", "t"),
        ConceptRow(ANEMIA, "Disease", "Anemia", "mesh", "t", synonyms=("Anaemia",)),
        ConceptRow(HYPERTENSION, "Disease", "Hypertension", "mesh", "t"),
        ConceptRow("HP:0001903", "Phenotype", "Anemia", "hpo", "t", xrefs=("SNOMEDCT_US:271737000",)),
    ], "seed-test")
    load_extractions(graph, [mention("PMID:11", 0, LISINOPRIL), mention("PMID:11", 30, ANEMIA, "Disease")],
                     [assertion("PMID:11", LISINOPRIL, ANEMIA, 0, 0.7, sentence="Lisinopril caused anemia in two.")],
                     "L1", as_of="2026-11-01")
    # A: lisinopril, then anaemia (an ADE the graph supports); C: ibuprofen, then hypertension; B: labs only
    _stage(pg, "case-A-0001", [
        ("MedicationRequest", "rxnorm", "314076", "lisinopril 10 MG Oral Tablet", None, None, "2020-01-05"),
        ("Condition", "snomed", "271737000", "Anemia (disorder)", None, None, "2021-03-01"),
        ("Observation", "loinc", "718-7", "Hemoglobin", 10.2, "g/dL", "2021-03-01")])
    _stage(pg, "case-B-0002", [("Observation", "loinc", "718-7", "Hemoglobin", 14.1, "g/dL", "2022-01-01")])
    _stage(pg, "case-C-0003", [
        ("MedicationRequest", "rxnorm", "198405", "Ibuprofen 100 MG Oral Tablet", None, None, "2019-01-01"),
        ("Condition", "snomed", "59621000", "Essential hypertension (disorder)", None, None, "2022-02-02")], "male")
    pg.commit()
    return settings


def _reasons(summary) -> dict:
    return dict(summary.reasons)


def test_first_run_evaluates_all_then_nothing_and_explains_the_ade(world, pg):
    first = rerun_changed(world, rank=False)
    assert first.evaluated == 3 and _reasons(first) == {"new_case": 3} and not first.failed
    res = load_results(pg, "fhir", "case-A-0001")
    ade = {s["suggestion_key"]: s for s in res["suggestions"]}[f"ade:{LISINOPRIL}|{ANEMIA}"]
    assert ade["kind"] == "adverse_drug_event"
    ev = ade["explanation"]["evidence"][0]
    assert ev["pmid"] == "11" and "Lisinopril caused anemia" in ev["sentence"]
    assert ade["explanation"]["graph"]["edges"][0]["type"] == "INDUCES"
    assert "PMID 11" in ade["text"]
    assert LISINOPRIL in res["touched"] and ANEMIA in res["touched"] and "HP:0001903" in res["touched"]
    linked = fetch_all(pg, "SELECT hpo_id, evidence, run_id FROM case_phenotypes WHERE case_key = 'case-A-0001'")
    assert [r["hpo_id"] for r in linked] == ["HP:0001903"] and linked[0]["evidence"].startswith("snomed:271737000")
    assert linked[0]["run_id"] == first.run_id
    again = rerun_changed(world, rank=False)
    assert again.evaluated == 0 and again.unchanged == 3


def test_one_changed_assertion_re_evaluates_only_the_cases_that_touch_it(world, pg, graph):
    rerun_changed(world, rank=False)
    # new evidence for ibuprofen INDUCES hypertension: only C touches those two concepts
    load_extractions(graph, [mention("PMID:12", 0, IBUPROFEN), mention("PMID:12", 30, HYPERTENSION, "Disease")],
                     [assertion("PMID:12", IBUPROFEN, HYPERTENSION, 0, 0.9, sentence="NSAIDs raise blood pressure.")],
                     "L2", as_of="2026-11-02")
    s = rerun_changed(world, rank=False)
    assert _reasons(s) == {"graph_changed": 1} and s.unchanged == 2
    diffs = fetch_all(pg, "SELECT case_key, suggestion_key, change, reason FROM diagnosis_diffs WHERE run_id = %s",
                      (s.run_id,))
    assert [(d["case_key"], d["suggestion_key"], d["change"]) for d in diffs] == [
        ("case-C-0003", f"ade:{IBUPROFEN}|{HYPERTENSION}", "new")]
    # a second document for lisinopril -> anaemia: only A, and its suggestion 'changed' (new evidence)
    load_extractions(graph, [mention("PMID:13", 0, LISINOPRIL), mention("PMID:13", 30, ANEMIA, "Disease")],
                     [assertion("PMID:13", LISINOPRIL, ANEMIA, 0, 0.95, sentence="ACE inhibitor anaemia, reported.")],
                     "L3", as_of="2026-11-03")
    s3 = rerun_changed(world, rank=False)
    assert _reasons(s3) == {"graph_changed": 1} and s3.diffs == {"new": 0, "changed": 1, "withdrawn": 0}
    res = load_results(pg, "fhir", "case-A-0001")
    ade = {x["suggestion_key"]: x for x in res["suggestions"]}[f"ade:{LISINOPRIL}|{ANEMIA}"]
    assert ade["explanation"]["evidence"][0]["pmid"] == "13"  # the strongest sentence first


def test_a_changed_record_and_a_changed_rule_set(world, pg, tmp_path):
    rerun_changed(world, rank=False)
    execute(pg, "UPDATE staged_clinical_records SET value = 9.5, content_hash = 'h-new' WHERE case_key = 'case-B-0002'")
    pg.commit()
    s = rerun_changed(world, rank=False)
    assert _reasons(s) == {"record_changed": 1}
    assert s.diffs["new"] == 1  # B is anaemic now
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "one.yaml").write_text("""
rules:
  - id: anaemia
    version: 2
    diagnosis: {name: Anaemia, snomed: "271737000", icd10cm: D64.9}
    strength: possible
    recommendation: Check.
    when: {kind: medkb.rule.threshold.v1, loinc: "718-7", op: "<", value: 9, unit: g/dL}
""", encoding="utf-8")
    s2 = rerun_changed(world, load_rulesets([rules], strict=True), rank=False)
    assert _reasons(s2) == {"ruleset_changed": 3}
    assert s2.diffs["withdrawn"] >= 2  # no rule suggests anaemia at 9.5 and 10.2 any more


def test_a_rolled_back_run_re_evaluates_the_cases_it_touched(world, pg, graph):
    from medkb.kb.rollback import rollback_run

    load_extractions(graph, [mention("PMID:12", 0, IBUPROFEN), mention("PMID:12", 30, HYPERTENSION, "Disease")],
                     [assertion("PMID:12", IBUPROFEN, HYPERTENSION, 0, 0.9)], "L2", as_of="2026-11-02")
    rerun_changed(world, rank=False)
    rollback_run(graph, "L2")
    s = rerun_changed(world, rank=False)
    assert _reasons(s) == {"graph_changed": 1}
    assert s.diffs["withdrawn"] == 1


def test_cases_load_from_staging_with_phenotypes_linked(world, pg):
    cases = {c.case_key: c for c in load_cases(pg)}
    assert set(cases) == {"case-A-0001", "case-B-0002", "case-C-0003"}
    a = cases["case-A-0001"]
    assert [m.code for m in a.medications] == ["314076"] and a.observations[0].unit == "g/dL"
    assert json.dumps([o.fact() for o in a.observations])  # facts are plain JSON
