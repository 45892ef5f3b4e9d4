"""Document nodes: one per staged citation that reached the graph, keyed `vocabulary.doc_id(pmid)`.

Every statement that merges a Document lives here."""

from __future__ import annotations

from typing import Any, LiteralString

from medkb.kb import provenance
from medkb.kb.client import GraphClient
from medkb.vocabulary import doc_id

# A document changed by a later run is copied into a change record first (kb/provenance.py),
# so rolling that run back restores the earlier version's properties. A new version of a retracted
# citation (PubMed re-issues some) is live again: the flag goes, and its new extractions load.
_MERGE_DOCUMENTS: LiteralString = (
    """
UNWIND $rows AS row
MERGE (d:Document {id: row.id})
ON CREATE SET d.pmid = row.pmid, d.created_run = $run
WITH d, row
WHERE d.content_hash IS NULL OR d.content_hash <> row.content_hash
"""
    + provenance.node_changed("d", "Document")
    + """
SET d.title = row.title, d.year = row.year, d.journal = row.journal,
    d.version = row.version, d.content_hash = row.content_hash, d.run = $run,
    d.retracted = null
"""
)

# The loader's batches (kb/loader.py) merge their documents in their own transaction, before the
# documents' relationships: only the id and pmid, the properties above come from merge_documents.
# Returns the documents this run created (now, or in an interrupted attempt): they hold nothing
# from earlier runs, so their relationships take the loader's plain statements.
MERGE_EVIDENCE_DOCUMENTS: LiteralString = """
CYPHER replan=skip
UNWIND $rows AS row
MERGE (d:Document {id: row.id})
ON CREATE SET d.created_run = $run, d.pmid = row.pmid, d.run = $run
WITH d WHERE d.created_run = $run
RETURN collect(d.id) AS fresh
"""


def document_rows(staged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [
        {
            "id": doc_id(r["source_key"]),
            "pmid": r["source_key"],
            "title": r["title"],
            "year": r["pub_year"],
            "journal": r["journal"],
            "version": r["version"],
            "content_hash": r["content_hash"],
        }
        for r in staged
    ]
    return sorted(rows, key=lambda r: r["id"])


def merge_documents(client: GraphClient, staged: list[dict[str, Any]], run_id: str, batch_size: int = 2000) -> dict[str, int]:
    """Create or update Document nodes; unchanged documents keep the run that last changed them."""
    return client.write_batches(_MERGE_DOCUMENTS, document_rows(staged), batch_size=batch_size, run=run_id)


def record_run(client: GraphClient, run_id: str, props: dict[str, Any]) -> None:
    """A Run node per refresh, carrying its windows, model version, counts and status."""
    client.write(
        "MERGE (r:Run {id: $id}) SET r += $props",
        {"id": run_id, "props": {k: v for k, v in props.items() if v is not None}},
    )
