"""`medkb kb rollback RUN`: remove exactly what a run added and restore what it changed.

Order matters: derived facts are recomputed last, from the evidence as it stood before the run.
Each step works in bounded batches and is idempotent, so an interrupted rollback is re-run.
A run that a later run built on (evidence or mentions attached to what it created, or changes to
what it created) is refused until that later run is rolled back first, unless forced.
"""

from __future__ import annotations

from typing import LiteralString

from medkb.kb import provenance
from medkb.kb.client import GraphClient
from medkb.kb.documents import record_run
from medkb.kb.summary import recompute

STEP = 10000


class RollbackError(RuntimeError):
    """The run cannot be rolled back; the message says why and what to do."""


_AFFECTED: LiteralString = """
CALL () { MATCH ()-[e:EVIDENCE {run: $run}]->() RETURN DISTINCT startNode(e).id AS id
  UNION MATCH (a:Assertion {created_run: $run}) RETURN a.id AS id
  UNION MATCH (ch:Change {change_run: $run}) WHERE ch.rel_type = 'EVIDENCE' RETURN DISTINCT ch.from_id AS id
  UNION MATCH (ch:Change {change_run: $run}) WHERE ch.change_label = 'Assertion' RETURN ch.id AS id }
RETURN id
"""

# Runs (other than $run, and not rolled back) that built on what $run created: relationships they
# attached to its nodes, or change records of theirs holding a before-image that $run made.
_DEPENDENTS: LiteralString = """
CALL () {
  MATCH (:Assertion {created_run: $run})-[e]-() WHERE e.run <> $run RETURN DISTINCT e.run AS other
  UNION MATCH (:Document {created_run: $run})-[e]-() WHERE e.run <> $run RETURN DISTINCT e.run AS other
  UNION MATCH (:Concept {created_run: $run})-[e]-() WHERE e.run <> $run RETURN DISTINCT e.run AS other
  UNION MATCH (ch:Change) WHERE ch.change_run <> $run AND (ch.created_run = $run OR ch.run = $run)
        RETURN DISTINCT ch.change_run AS other
}
MATCH (r:Run {id: other}) WHERE coalesce(r.status, '') <> 'rolled_back'
RETURN other ORDER BY other
"""

# Deletions in steps of STEP rows, each its own transaction (a 100k-row run never needs one huge one).
_DELETE_STEPS: tuple[LiteralString, ...] = (
    "MATCH ()-[e:EVIDENCE {run: $run}]->() WITH e LIMIT 10000 DELETE e",
    "MATCH ()-[m:MENTIONS {run: $run}]->() WITH m LIMIT 10000 DELETE m",
    "MATCH (n:Assertion {created_run: $run}) WITH n LIMIT 10000 DETACH DELETE n",
    "MATCH (n:Document {created_run: $run}) WITH n LIMIT 10000 DETACH DELETE n",
    "MATCH (n:Concept {created_run: $run}) WITH n LIMIT 10000 DETACH DELETE n",
)

_RESTORE_NODES: tuple[LiteralString, ...] = (
    # Assertions the run deleted (with the SUBJECT/OBJECT edges they were created with)
    "MATCH (ch:Change {change_run: $run, change_kind: 'node_deleted', change_label: 'Assertion'}) "
    "MERGE (a:Assertion {id: ch.id}) SET a = " + provenance.BEFORE_IMAGE + " "
    "WITH a MATCH (s:Concept {id: a.subject}) MATCH (o:Concept {id: a.object}) "
    "MERGE (a)-[r1:SUBJECT]->(s) ON CREATE SET r1.run = a.created_run "
    "MERGE (a)-[r2:OBJECT]->(o) ON CREATE SET r2.run = a.created_run",
    "MATCH (ch:Change {change_run: $run, change_kind: 'node_changed', change_label: 'Document'}) "
    "MATCH (d:Document {id: ch.id}) SET d = " + provenance.BEFORE_IMAGE,
)

_RESTORE_RELS: tuple[LiteralString, ...] = (
    "MATCH (ch:Change {change_run: $run, change_kind: 'rel_deleted', rel_type: 'EVIDENCE'}) "
    "MATCH (a:Assertion {id: ch.from_id}) MATCH (d:Document {id: ch.to_id}) "
    "MERGE (a)-[e:EVIDENCE {start: ch.start, model: ch.model}]->(d) SET e = " + provenance.BEFORE_IMAGE,
    "MATCH (ch:Change {change_run: $run, change_kind: 'rel_changed', rel_type: 'EVIDENCE'}) "
    "MATCH (a:Assertion {id: ch.from_id})-[e:EVIDENCE {start: ch.start, model: ch.model}]->(d:Document {id: ch.to_id}) "
    "SET e = " + provenance.BEFORE_IMAGE,
    "MATCH (ch:Change {change_run: $run, change_kind: 'rel_deleted', rel_type: 'MENTIONS'}) "
    "MATCH (d:Document {id: ch.from_id}) MATCH (c:Concept {id: ch.to_id}) "
    "MERGE (d)-[m:MENTIONS {model: ch.model}]->(c) SET m = " + provenance.BEFORE_IMAGE,
    "MATCH (ch:Change {change_run: $run, change_kind: 'rel_changed', rel_type: 'MENTIONS'}) "
    "MATCH (d:Document {id: ch.from_id})-[m:MENTIONS {model: ch.model}]->(c:Concept {id: ch.to_id}) "
    "SET m = " + provenance.BEFORE_IMAGE,
)


def _repeat(client: GraphClient, query: LiteralString, run_id: str) -> int:
    total = 0
    while True:
        c = client.write(query, {"run": run_id})
        n = c["relationships_deleted"] + c["nodes_deleted"]
        total += n
        if n == 0:
            return total


def dependent_runs(client: GraphClient, run_id: str) -> list[str]:
    """Later runs that built on what `run_id` created (they must be rolled back first)."""
    return [r["other"] for r in client.read(_DEPENDENTS, {"run": run_id})]


def rollback_run(client: GraphClient, run_id: str, batch_size: int = 5000, force: bool = False) -> dict[str, int]:
    """Undo one run; return what was removed and restored.

    Refuses (RollbackError) when another run built on this one, since deleting what this run
    created would silently take that run's evidence with it; `force` rolls back anyway.
    """
    run = client.read("MATCH (r:Run {id: $run}) RETURN r.status AS status", {"run": run_id})
    if not run:
        raise RollbackError(
            f"run {run_id!r} is not in the graph; `medkb query runs` lists the runs that are"
        )
    later = dependent_runs(client, run_id)
    if later and not force:
        raise RollbackError(
            f"run {run_id!r} cannot be rolled back first: run(s) {', '.join(later)} added to or changed what it "
            f"created; roll {'them' if len(later) > 1 else 'it'} back first (`medkb kb rollback RUN`), "
            "or pass --force to take their additions on those items with it"
        )
    affected = {r["id"] for r in client.read(_AFFECTED, {"run": run_id})}
    counts = {"deleted": sum(_repeat(client, q, run_id) for q in _DELETE_STEPS)}
    restored = 0
    for q in (*_RESTORE_NODES, *_RESTORE_RELS):
        c = client.write(q, {"run": run_id})
        restored += c["nodes_created"] + c["relationships_created"] + (1 if c["properties_set"] else 0)
    counts["restore_statements_with_effect"] = restored
    counts["recomputed"] = recompute(client, affected, run_id, batch_size=batch_size)
    counts["change_records"] = _repeat(
        client, "MATCH (ch:Change {change_run: $run}) WITH ch LIMIT 10000 DELETE ch", run_id
    )
    record_run(client, run_id, {"status": "rolled_back"})
    return counts
