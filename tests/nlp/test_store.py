from __future__ import annotations

import pytest

from medkb.db.postgres import fetch_all
from medkb.nlp.extract import DocExtraction
from medkb.nlp.extracted import ExtractedAssertion, Mention
from medkb.nlp.store import read_extractions, write_extractions

pytestmark = pytest.mark.integration


def result(doc: str, n: int) -> DocExtraction:
    ms = tuple(Mention(doc, i * 10, i * 10 + 5, "abcde", "Chemical", f"MESH:D{i}", 0.9, "m1") for i in range(n))
    a = (ExtractedAssertion("MESH:D0", "INDUCES", "MESH:D1", 0.7, doc, "s", 0, 20, "m1"),)
    return DocExtraction(doc, ms, a)


def test_rewriting_a_document_replaces_its_rows(pg):
    write_extractions(pg, [result("PMID:1", 3), result("PMID:2", 2)], "run-1", "m1")
    write_extractions(pg, [result("PMID:1", 1)], "run-2", "m1")
    rows = fetch_all(pg, "SELECT doc_id, count(*) AS n FROM extracted_mentions GROUP BY doc_id ORDER BY doc_id")
    assert [(r["doc_id"], r["n"]) for r in rows] == [("PMID:1", 1), ("PMID:2", 2)]
    again = write_extractions(pg, [result("PMID:1", 1)], "run-2", "m1")
    assert again == {"mentions": 1, "assertions": 1, "superseded_rows": 0, "superseded_documents": 0}
    assert fetch_all(pg, "SELECT count(*) AS n FROM extracted_assertions")[0]["n"] == 2


def test_read_extractions_from_postgres(pg):
    with pg.cursor() as cur:
        cur.execute(
            "INSERT INTO extracted_mentions VALUES ('PMID:9', 0, 7, 'lithium', 'Chemical', 'MESH:D008094', 0.9, 'm1', 'R1'),"
            " ('PMID:9', 10, 16, 'tremor', 'Disease', NULL, 0.4, 'm1', 'R1'),"
            " ('PMID:8', 0, 7, 'lithium', 'Chemical', 'MESH:D008094', 0.9, 'm1', 'R0')"
        )
        cur.execute(
            "INSERT INTO extracted_assertions VALUES ('PMID:9', 'MESH:D008094', 'INDUCES', 'MESH:D014202', "
            "'Lithium induces tremor.', 0, 23, 0.8, 'm1', 'R1')"
        )
    mentions, assertions = read_extractions(pg, run_id="R1")
    assert [(m.doc_id, m.start, m.concept_id) for m in mentions] == [("PMID:9", 0, "MESH:D008094"), ("PMID:9", 10, None)]
    assert assertions == [ExtractedAssertion("MESH:D008094", "INDUCES", "MESH:D014202", pytest.approx(0.8), "PMID:9",
                                             "Lithium induces tremor.", 0, 23, "m1")]
    by_doc, _ = read_extractions(pg, doc_ids=["PMID:8"])
    assert [m.doc_id for m in by_doc] == ["PMID:8"]
    with pytest.raises(ValueError, match="exactly one"):
        read_extractions(pg)
