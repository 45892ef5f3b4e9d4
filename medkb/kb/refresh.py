"""The graph side of a nightly refresh: staged documents in Postgres -> the knowledge graph.

Called by `medkb.nightly.load_graph`; kept here so the nightly module stays a list of stages.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from medkb.db.postgres import fetch_all
from medkb.kb.client import GraphClient
from medkb.kb.loader import Rejected, check_records, load_extractions, read_extractions
from medkb.kb.retraction import retract_documents
from medkb.nlp.records import Mention
from medkb.staging import quarantine


def doc_id(row: dict[str, Any]) -> str:
    return f"PMID:{row['source_key']}"


def load_documents_knowledge(
    conn: Any, graph: GraphClient, run_id: str, staged_rows: list[dict[str, Any]],
    as_of: str | None = None, batch_size: int = 5000,
) -> dict[str, int]:
    """Load the mentions and assertions the extraction stage stored for these documents."""
    ids = sorted({doc_id(r) for r in staged_rows})
    if not ids:
        return {"mentions": 0, "evidence": 0}
    mentions, assertions = read_extractions(conn, doc_ids=ids)
    mentions, assertions, rejected = check_records(mentions, assertions)
    held = quarantine_rejected(conn, rejected, run_id)
    counts = load_extractions(graph, mentions, assertions, run_id, as_of=as_of, batch_size=batch_size)
    return {**counts, "quarantined": held}


def quarantine_rejected(conn: Any, rejected: list[Rejected], run_id: str) -> int:
    """Records the graph cannot hold go to the quarantine with the record as payload; the rest loads."""
    entries = []
    for record, reason in rejected:
        if isinstance(record, Mention):
            key = f"{record.doc_id}|mention|{record.start}-{record.end}|{record.type}|{record.model}"
        else:
            key = f"{record.doc_id}|assertion|{record.key}|{record.start}|{record.model}"
        entries.append(quarantine.QuarantineEntry(
            source="extraction", key=key, version=1, stage="load",
            reasons=[{"expectation": "graph_loadable", "message": reason}], payload=asdict(record),
        ))
    return quarantine.put(conn, entries, run_id)


def apply_retractions(conn: Any, graph: GraphClient, run_id: str) -> dict[str, int]:
    """Every retracted citation loses its evidence in the graph (a no-op for ones already handled)."""
    rows = fetch_all(conn, "SELECT DISTINCT source_key FROM staged_documents WHERE retracted ORDER BY source_key")
    if not rows:
        return {"retracted_documents": 0}
    return retract_documents(graph, [doc_id(r) for r in rows], run_id)
