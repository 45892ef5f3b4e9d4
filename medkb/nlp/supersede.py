"""Current and superseded extractions in Postgres (sql/0060): a document's latest extraction counts.

`record_extractions` runs inside the caller's transaction, right after the new rows are written
(nlp/store.py): the rows and the extraction records of these documents from other models are
marked superseded by (run, model), and the new extraction becomes the document's current one.
Nothing is deleted, so the older model's rows stay as history; the loader reads current rows only.
`revert_run` undoes one run's extractions (used when that run is rolled back).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg2.extras

from medkb.db.postgres import fetch_all

_SUPERSEDE = {
    "extracted_mentions": """UPDATE extracted_mentions SET superseded_by_run = %(run)s, superseded_by_model = %(model)s,
                                    superseded_at = now()
                             WHERE doc_id = ANY(%(docs)s) AND model <> %(model)s AND superseded_by_run IS NULL""",
    "extracted_assertions": """UPDATE extracted_assertions SET superseded_by_run = %(run)s, superseded_by_model = %(model)s,
                                      superseded_at = now()
                               WHERE doc_id = ANY(%(docs)s) AND model <> %(model)s AND superseded_by_run IS NULL""",
    "document_extractions": """UPDATE document_extractions SET superseded_by_run = %(run)s, superseded_by_model = %(model)s,
                                      superseded_at = now()
                               WHERE doc_id = ANY(%(docs)s) AND model <> %(model)s AND superseded_by_run IS NULL""",
}

# The run's own rows go first, so that the document's previous extraction can be current again
# without two current records (document_extractions_one_current).
_REVERT = (
    ("deleted_rows", "DELETE FROM extracted_mentions WHERE run_id = %(run)s"),
    ("deleted_rows", "DELETE FROM extracted_assertions WHERE run_id = %(run)s"),
    ("deleted_documents", "DELETE FROM document_extractions WHERE run_id = %(run)s"),
    ("restored_rows", "UPDATE extracted_mentions SET superseded_by_run = NULL, superseded_by_model = NULL, "
                      "superseded_at = NULL WHERE superseded_by_run = %(run)s"),
    ("restored_rows", "UPDATE extracted_assertions SET superseded_by_run = NULL, superseded_by_model = NULL, "
                      "superseded_at = NULL WHERE superseded_by_run = %(run)s"),
    ("restored_documents", "UPDATE document_extractions SET superseded_by_run = NULL, superseded_by_model = NULL, "
                           "superseded_at = NULL WHERE superseded_by_run = %(run)s"),
)


def record_extractions(conn: Any, counts: Sequence[tuple[str, int, int]], run_id: str, model: str) -> dict[str, int]:
    """(doc id, mentions, assertions) per document just extracted by `model` in `run_id`: older
    models' rows and records of these documents become superseded; these become current.
    Returns how many rows and documents were superseded. Does not commit."""
    if not counts:
        return {"superseded_rows": 0, "superseded_documents": 0}
    params = {"run": run_id, "model": model, "docs": sorted({d for d, _, _ in counts})}
    superseded = {}
    with conn.cursor() as cur:
        for table, sql in _SUPERSEDE.items():
            cur.execute(sql, params)
            superseded[table] = cur.rowcount
        psycopg2.extras.execute_values(
            cur,
            """INSERT INTO document_extractions (doc_id, model, run_id, mentions, assertions) VALUES %s
               ON CONFLICT (doc_id, model) DO UPDATE SET run_id = EXCLUDED.run_id, mentions = EXCLUDED.mentions,
                   assertions = EXCLUDED.assertions, extracted_at = now(), superseded_by_run = NULL,
                   superseded_by_model = NULL, superseded_at = NULL""",
            sorted({d: (d, model, run_id, m, a) for d, m, a in counts}.values()),
            page_size=1000,
        )
    return {"superseded_rows": superseded["extracted_mentions"] + superseded["extracted_assertions"],
            "superseded_documents": superseded["document_extractions"]}


def current_models(conn: Any, doc_ids: Sequence[str]) -> dict[str, str]:
    """The model of each document's current extraction (documents without one are left out)."""
    if not doc_ids:
        return {}
    rows = fetch_all(
        conn,
        "SELECT doc_id, model FROM document_extractions WHERE doc_id = ANY(%s) AND superseded_by_run IS NULL",
        (list(doc_ids),),
    )
    return {r["doc_id"]: r["model"] for r in rows}


def extraction_history(conn: Any, doc_id: str) -> list[dict[str, Any]]:
    """Every extraction of one document, newest first, with what superseded it."""
    return fetch_all(
        conn,
        """SELECT doc_id, model, run_id, mentions, assertions, extracted_at, superseded_by_run,
                  superseded_by_model, superseded_at
           FROM document_extractions WHERE doc_id = %s ORDER BY extracted_at DESC, model""",
        (doc_id,),
    )


def revert_run(conn: Any, run_id: str) -> dict[str, int]:
    """Undo one run's extractions: its rows and records go, what it superseded is current again.
    Rows that the run replaced for the same model (a document re-extracted by the model that had
    extracted it) cannot come back; `medkb kb reextract` never replaces a current extraction.
    Does not commit."""
    out = dict.fromkeys(("deleted_rows", "deleted_documents", "restored_rows", "restored_documents"), 0)
    with conn.cursor() as cur:
        for key, sql in _REVERT:
            cur.execute(sql, {"run": run_id})
            out[key] += cur.rowcount
    return out
