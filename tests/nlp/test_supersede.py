"""Current and superseded extraction rows in Postgres (sql/0060, nlp/supersede.py)."""

from __future__ import annotations

import pytest

from medkb.db.postgres import fetch_all
from medkb.nlp.extract import DocExtraction
from medkb.nlp.extracted import ExtractedAssertion, Mention
from medkb.nlp.store import read_extractions, write_extractions
from medkb.nlp.supersede import current_models, extraction_history, revert_run

pytestmark = pytest.mark.integration


def result(doc: str, model: str, n: int = 2, assertions: bool = True) -> DocExtraction:
    ms = tuple(Mention(doc, i * 10, i * 10 + 5, "abcde", "Chemical", f"MESH:D{i}", 0.9, model) for i in range(n))
    a = (ExtractedAssertion("MESH:D0", "INDUCES", "MESH:D1", 0.7, doc, "s", 0, 20, model),) if assertions else ()
    return DocExtraction(doc, ms, a)


def _rows(pg) -> list[tuple]:
    return [tuple(r.values()) for r in fetch_all(
        pg, """SELECT doc_id, model, run_id, superseded_by_run, superseded_by_model FROM extracted_mentions
               UNION SELECT doc_id, model, run_id, superseded_by_run, superseded_by_model FROM extracted_assertions
               ORDER BY 1, 2""")]


def test_a_newer_models_rows_supersede_the_older_ones_in_the_same_transaction(pg):
    write_extractions(pg, [result("PMID:1", "m1"), result("PMID:2", "m1")], "run-1", "m1")
    pg.commit()
    written = write_extractions(pg, [result("PMID:1", "m2", n=1)], "run-2", "m2")
    assert written == {"mentions": 1, "assertions": 1, "superseded_rows": 3, "superseded_documents": 1}
    pg.rollback()  # not committed: the document is as it was, nothing half-superseded
    assert current_models(pg, ["PMID:1", "PMID:2"]) == {"PMID:1": "m1", "PMID:2": "m1"}
    write_extractions(pg, [result("PMID:1", "m2", n=1)], "run-2", "m2")
    pg.commit()
    assert _rows(pg) == [("PMID:1", "m1", "run-1", "run-2", "m2"), ("PMID:1", "m2", "run-2", None, None),
                         ("PMID:2", "m1", "run-1", None, None)]
    mentions, assertions = read_extractions(pg, doc_ids=["PMID:1", "PMID:2"])
    assert {(m.doc_id, m.model) for m in mentions} == {("PMID:1", "m2"), ("PMID:2", "m1")}
    assert {(a.doc_id, a.model) for a in assertions} == {("PMID:1", "m2"), ("PMID:2", "m1")}
    assert [h["model"] for h in extraction_history(pg, "PMID:1")] == ["m2", "m1"]


def test_a_document_the_newer_model_finds_nothing_in_still_has_a_current_extraction(pg):
    write_extractions(pg, [result("PMID:1", "m1")], "run-1", "m1")
    write_extractions(pg, [result("PMID:1", "m2", n=0, assertions=False)], "run-2", "m2")
    assert current_models(pg, ["PMID:1"]) == {"PMID:1": "m2"}
    assert read_extractions(pg, doc_ids=["PMID:1"]) == ([], [])


def test_reverting_a_run_makes_what_it_superseded_current_again(pg):
    write_extractions(pg, [result("PMID:1", "m1"), result("PMID:2", "m1")], "run-1", "m1")
    before = _rows(pg)
    write_extractions(pg, [result("PMID:1", "m2"), result("PMID:2", "m2")], "run-2", "m2")
    assert revert_run(pg, "run-2") == {"deleted_rows": 6, "deleted_documents": 2, "restored_rows": 6,
                                       "restored_documents": 2}
    assert _rows(pg) == before
    assert current_models(pg, ["PMID:1", "PMID:2"]) == {"PMID:1": "m1", "PMID:2": "m1"}


def test_the_older_model_extracting_again_is_current_again(pg):
    write_extractions(pg, [result("PMID:1", "m1")], "run-1", "m1")
    write_extractions(pg, [result("PMID:1", "m2")], "run-2", "m2")
    write_extractions(pg, [result("PMID:1", "m1")], "run-3", "m1")
    assert current_models(pg, ["PMID:1"]) == {"PMID:1": "m1"}
    assert _rows(pg) == [("PMID:1", "m1", "run-3", None, None), ("PMID:1", "m2", "run-2", "run-3", "m1")]
