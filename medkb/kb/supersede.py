"""Current and superseded evidence: what a document says is what its latest extraction says.

A load that brings a document's extraction by models M marks every EVIDENCE and MENTIONS
relationship of that document from a model outside M, still current, as superseded:
`superseded_by_run`, `superseded_by_model` (the models of the new extraction, joined by "+") and
`superseded_at` (the run's as-of day). The loader runs these statements in the same transaction
as the new evidence of the same batch of documents (loader.write_batch), so no document is ever
seen with neither extraction, or with both counting. Superseded relationships stay as history
(the `fact_history` query); summaries count current evidence only (kb/summary.py).

Each mark is preceded by a change record (kb/provenance.py), so rolling back the superseding run
removes its evidence and writes the older relationships back exactly as they were. A document
this run created holds nothing older and is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, LiteralString

from medkb.kb import provenance
from medkb.kb.client import GraphClient

# The filter every "current evidence" query uses (named queries, summaries, docs/analyst.md).
CURRENT: LiteralString = "superseded_by_run IS NULL"
SUPERSEDED_FIELDS: tuple[str, ...] = ("superseded_by_run", "superseded_by_model", "superseded_at")

SUPERSEDE_EVIDENCE: LiteralString = (
    """
UNWIND $groups AS g
MATCH (d:Document {id: g.doc}) WHERE coalesce(d.created_run, '') <> $run
MATCH (d)<-[e:EVIDENCE]-(a)
WHERE e.superseded_by_run IS NULL AND NOT e.model IN g.models
"""
    + provenance.rel_touched("rel_changed", "e", "EVIDENCE", "a", "d")
    + "SET e.superseded_by_run = $run, e.superseded_by_model = g.by, e.superseded_at = $as_of"
)

SUPERSEDE_MENTIONS: LiteralString = (
    """
UNWIND $groups AS g
MATCH (d:Document {id: g.doc}) WHERE coalesce(d.created_run, '') <> $run
MATCH (d)-[m:MENTIONS]->(c)
WHERE m.superseded_by_run IS NULL AND NOT m.model IN g.models
"""
    + provenance.rel_touched("rel_changed", "m", "MENTIONS", "d", "c")
    + "SET m.superseded_by_run = $run, m.superseded_by_model = g.by, m.superseded_at = $as_of"
)

# Fragments for the loader's MERGE statements: a relationship that an extraction brings again
# (the champion was rolled back to an older model, whose evidence had been superseded) is current again.
IS_SUPERSEDED: dict[str, LiteralString] = {"e": "e.superseded_by_run IS NOT NULL", "m": "m.superseded_by_run IS NOT NULL"}
MAKE_CURRENT: dict[str, LiteralString] = {
    "e": "e.superseded_by_run = null, e.superseded_by_model = null, e.superseded_at = null",
    "m": "m.superseded_by_run = null, m.superseded_by_model = null, m.superseded_at = null",
}


def extraction_groups(models_by_doc: Mapping[str, Iterable[str]], docs: Iterable[str]) -> list[dict[str, Any]]:
    """One `{doc, models, by}` row per document of a batch: the models of its new extraction."""
    groups = []
    for d in docs:
        models = sorted(set(models_by_doc.get(d, ())))
        if models:
            groups.append({"doc": d, "models": models, "by": "+".join(models)})
    return groups


def statements(groups: list[dict[str, Any]]) -> list[tuple[LiteralString, dict[str, Any]]]:
    """The supersede statements for one batch, for the loader's transaction (nothing when empty)."""
    if not groups:
        return []
    return [(SUPERSEDE_EVIDENCE, {"groups": groups}), (SUPERSEDE_MENTIONS, {"groups": groups})]


def assertions_of_documents(client: GraphClient, doc_ids: Iterable[str]) -> set[str]:
    """Assertions with evidence (current or superseded) in these documents: the ones whose summary a
    load of the documents can change."""
    rows = client.read(
        "UNWIND $docs AS doc MATCH (:Document {id: doc})<-[:EVIDENCE]-(a:Assertion) RETURN DISTINCT a.id AS id",
        {"docs": sorted(set(doc_ids))},
    )
    return {r["id"] for r in rows}


def deleted_evidence_assertions(client: GraphClient, run_id: str) -> set[str]:
    """Assertions that lost evidence to this run outright (a document re-extracted by the same model
    no longer supports them): no relationship leads back to them from the document any more."""
    rows = client.read(
        "MATCH (ch:Change {change_run: $run}) WHERE ch.change_kind = 'rel_deleted' AND ch.rel_type = 'EVIDENCE' "
        "RETURN DISTINCT ch.from_id AS id",
        {"run": run_id},
    )
    return {r["id"] for r in rows}
