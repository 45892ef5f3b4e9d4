"""Undo one night in both stores: `medkb kb rollback RUN`.

The graph side is `medkb.kb.rollback.rollback_run` (what the run added goes, what it changed comes
back). The Postgres side makes the next night do the work again: the staged documents whose graph
state the run created or changed go back from `loaded` to `extracted` (their extractions are still
in `extracted_*`, so the next load takes them as they are), the retractions the run applied are
pending again (the next night applies them, as it did before nights took only pending ones), and
the run's record says it was rolled back, when, and with which counts. Which documents those are
is read from the graph *before* it is rolled back; a run that later runs built on is refused (by
the graph side) before anything changes.
"""

from __future__ import annotations

import json
import logging
from typing import Any, LiteralString

from medkb.db.postgres import connect, execute, fetch_all
from medkb.kb.client import GraphClient
from medkb.kb.rollback import rollback_run
from medkb.settings import Settings
from medkb.vocabulary import pmid_of

log = logging.getLogger(__name__)

# Documents the run created, changed, or attached mentions/evidence to.
_TOUCHED: LiteralString = """
CALL () {
  MATCH (d:Document {created_run: $run}) RETURN d.id AS id
  UNION MATCH (ch:Change {change_run: $run, change_label: 'Document'}) RETURN ch.id AS id
  UNION MATCH (d:Document)-[:MENTIONS {run: $run}]->() RETURN DISTINCT d.id AS id
  UNION MATCH ()-[:EVIDENCE {run: $run}]->(d:Document) RETURN DISTINCT d.id AS id
}
RETURN id ORDER BY id
"""

# The newest loaded version of each key goes back to `extracted`: the next load takes it again.
_REQUEUE = """
UPDATE staged_documents AS d SET state = 'extracted', updated_at = now()
WHERE d.state = 'loaded' AND d.source_key = ANY(%s)
  AND d.version = (SELECT max(x.version) FROM staged_documents x
                   WHERE x.source = d.source AND x.source_key = d.source_key)
"""


def documents_of_run(graph: GraphClient, run_id: str) -> list[str]:
    """Document ids whose graph state `run_id` created or changed."""
    return [r["id"] for r in graph.read(_TOUCHED, {"run": run_id})]


def rollback_night(settings: Settings, run_id: str, force: bool = False) -> dict[str, Any]:
    """Roll `run_id` back in Neo4j, then in Postgres; return both sides' counts.

    Raises RollbackError (nothing changed anywhere) when a later run built on this one and not `force`.
    Re-running it is safe: the graph side is idempotent and there is nothing `loaded` left to requeue.
    """
    with GraphClient(settings.neo4j) as graph:
        docs = documents_of_run(graph, run_id)
        counts: dict[str, Any] = dict(rollback_run(graph, run_id, force=force))
    pmids = sorted({pmid_of(d) for d in docs})
    with connect(settings) as conn:
        counts["documents_requeued"] = execute(conn, _REQUEUE, (pmids,)) if pmids else 0
        # the retractions the run took are pending again: the next night drops their evidence anew
        counts["retractions_pending_again"] = execute(
            conn, "UPDATE staged_documents SET graph_retracted_run = NULL WHERE graph_retracted_run = %s", (run_id,))
        counts["pipeline_run_recorded"] = execute(
            conn,
            "UPDATE pipeline_runs SET status = 'rolled_back', rolled_back_at = now(), rollback = %s "
            "WHERE run_id = %s",
            (json.dumps({**counts, "forced": force}, sort_keys=True), run_id),
        )
    log.info("rollback %s: %s", run_id, counts)
    return counts


def run_record(settings: Settings, run_id: str) -> dict[str, Any] | None:
    with connect(settings) as conn:
        rows = fetch_all(conn, "SELECT run_id, status, rolled_back_at, rollback FROM pipeline_runs "
                         "WHERE run_id = %s", (run_id,))
    return rows[0] if rows else None
