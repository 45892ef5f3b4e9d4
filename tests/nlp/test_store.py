from __future__ import annotations

import pytest

from medkb.db.postgres import fetch_all
from medkb.nlp.extract import DocExtraction
from medkb.nlp.records import ExtractedAssertion, Mention
from medkb.nlp.store import write_extractions

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
    assert again == {"mentions": 1, "assertions": 1}
    assert fetch_all(pg, "SELECT count(*) AS n FROM extracted_assertions")[0]["n"] == 2
