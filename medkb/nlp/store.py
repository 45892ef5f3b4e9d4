"""Write extraction results to Postgres (sql/0002) for the graph loader.

A document's rows for one model are replaced as a whole, so re-extracting is idempotent.
"""

from __future__ import annotations

from typing import Any

import psycopg2.extras

from medkb.nlp.extract import DocExtraction


def write_extractions(conn: Any, results: list[DocExtraction], run_id: str, model: str) -> dict[str, int]:
    """Replace the rows of these documents for `model`; return the counts written."""
    if not results:
        return {"mentions": 0, "assertions": 0}
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
    return {"mentions": len(mentions), "assertions": len(assertions)}
