"""The extraction hand-off (sql/0002): the extract stage writes `extracted_*`, the load stage reads
them back here as typed records. This module is the only one that touches those tables.

A document's rows for one model are replaced as a whole, so re-extracting is idempotent. Rows of
the document from other models stay as history, marked superseded in the same transaction
(nlp/supersede.py, sql/0060); `read_extractions` returns current rows only, so a later load never
reads a superseded row again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg2.extras

from medkb.db.postgres import fetch_all
from medkb.nlp.extract import DocExtraction
from medkb.nlp.extracted import ExtractedAssertion, Mention
from medkb.nlp.supersede import record_extractions


def write_extractions(conn: Any, results: list[DocExtraction], run_id: str, model: str) -> dict[str, int]:
    """Replace the rows of these documents for `model`, and make them the documents' current
    extraction (other models' rows become superseded); return the counts written. Does not commit."""
    if not results:
        return {"mentions": 0, "assertions": 0, "superseded_rows": 0, "superseded_documents": 0}
    doc_ids = [r.doc_id for r in results]
    with conn.cursor() as cur:
        cur.execute("DELETE FROM extracted_mentions WHERE doc_id = ANY(%s) AND model = %s", (doc_ids, model))
        cur.execute("DELETE FROM extracted_assertions WHERE doc_id = ANY(%s) AND model = %s", (doc_ids, model))
        mentions = [
            (m.doc_id, m.start, m.end, m.text, m.type, m.concept_id, m.score, m.model, run_id)
            for r in results for m in r.mentions
        ]
        assertions = [
            (a.doc_id, a.subject_id, a.predicate, a.object_id, a.sentence, a.start, a.end, a.score, a.model, run_id)
            for r in results for a in r.assertions
        ]
        if mentions:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO extracted_mentions (doc_id, start_off, end_off, text, type, concept_id, score, model, run_id) "
                "VALUES %s",
                mentions, page_size=1000,
            )
        if assertions:
            psycopg2.extras.execute_values(
                cur,
                "INSERT INTO extracted_assertions (doc_id, subject_id, predicate, object_id, sentence, start_off, end_off, "
                "score, model, run_id) VALUES %s",
                assertions, page_size=1000,
            )
    superseded = record_extractions(conn, [(r.doc_id, len(r.mentions), len(r.assertions)) for r in results],
                                    run_id, model)
    return {"mentions": len(mentions), "assertions": len(assertions), **superseded}


def read_extractions(
    conn: Any, run_id: str | None = None, doc_ids: Sequence[str] | None = None
) -> tuple[list[Mention], list[ExtractedAssertion]]:
    """The current extraction rows (sql/0002, sql/0060) for a run, or of given documents, ordered by key."""
    if (run_id is None) == (doc_ids is None):
        raise ValueError("read_extractions: give exactly one of run_id or doc_ids")
    params = {"run": run_id, "docs": list(doc_ids) if doc_ids is not None else None}
    mrows = fetch_all(
        conn,
        """SELECT doc_id, start_off, end_off, text, type, concept_id, score, model FROM extracted_mentions
           WHERE (%(run)s::text IS NULL OR run_id = %(run)s) AND (%(docs)s::text[] IS NULL OR doc_id = ANY(%(docs)s))
             AND superseded_by_run IS NULL
           ORDER BY doc_id, start_off, end_off, type, model""",
        params,
    )
    arows = fetch_all(
        conn,
        """SELECT doc_id, subject_id, predicate, object_id, sentence, start_off, end_off, score, model
           FROM extracted_assertions
           WHERE (%(run)s::text IS NULL OR run_id = %(run)s) AND (%(docs)s::text[] IS NULL OR doc_id = ANY(%(docs)s))
             AND superseded_by_run IS NULL
           ORDER BY doc_id, subject_id, predicate, object_id, start_off, model""",
        params,
    )
    mentions = [
        Mention(doc_id=r["doc_id"], start=r["start_off"], end=r["end_off"], text=r["text"], type=r["type"],
                concept_id=r["concept_id"], score=float(r["score"]), model=r["model"])
        for r in mrows
    ]
    assertions = [
        ExtractedAssertion(subject_id=r["subject_id"], predicate=r["predicate"], object_id=r["object_id"],
                           score=float(r["score"]), doc_id=r["doc_id"], sentence=r["sentence"],
                           start=r["start_off"], end=r["end_off"], model=r["model"])
        for r in arows
    ]
    return mentions, assertions
