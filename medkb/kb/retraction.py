"""Retracted or withdrawn citations: their evidence and mentions leave the graph.

The Document node stays, marked `retracted`, so analysts can see why a fact disappeared.
Affected assertions are recomputed; those left with no evidence are deleted. Everything removed
gets a change record first, so rolling back the retracting run restores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

from medkb.kb import provenance
from medkb.kb.client import GraphClient
from medkb.kb.summary import changed_evidence_assertions, recompute

_RETRACT: tuple[LiteralString, ...] = (
    "UNWIND $rows AS row MATCH (d:Document {id: row})<-[e:EVIDENCE]-(a) "
    + provenance.rel_touched("rel_deleted", "e", "EVIDENCE", "a", "d") + "DELETE e",
    "UNWIND $rows AS row MATCH (d:Document {id: row})-[m:MENTIONS]->(c) "
    + provenance.rel_touched("rel_deleted", "m", "MENTIONS", "d", "c") + "DELETE m",
    "UNWIND $rows AS row MATCH (d:Document {id: row}) WHERE d.retracted IS NULL "
    + provenance.node_changed("d", "Document") + "SET d.retracted = true, d.run = $run",
)


def retract_documents(
    client: GraphClient, doc_ids: Sequence[str], run_id: str, batch_size: int = 2000
) -> dict[str, int]:
    """Remove the evidence and mentions of these documents (ids `PMID:<pmid>`); idempotent."""
    ids = sorted(set(doc_ids))
    removed = 0
    for start in range(0, len(ids), batch_size):
        for q in _RETRACT:
            c = client.write(q, {"rows": ids[start : start + batch_size], "run": run_id})
            removed += c["relationships_deleted"]
    client.write(
        "MERGE (r:Run {id: $run}) ON CREATE SET r.kind = 'retraction', r.status = 'succeeded' "
        "SET r.retracted_documents = $n",
        {"run": run_id, "n": len(ids)},
    )
    affected = changed_evidence_assertions(client, run_id)
    recompute(client, affected, run_id)
    return {"retracted_documents": len(ids), "relationships_removed": removed, "assertions_recomputed": len(affected)}
