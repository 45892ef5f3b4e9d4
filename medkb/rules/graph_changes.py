"""Which graph concepts each graph run touched, read through run provenance (kb/provenance.py):
what a run created carries its id (`created_run` on nodes, `run` on relationships), what it changed
or deleted left a `(:Change {change_run})` copy, and extracted evidence names its assertion's
subject and object. `diagnose --changed` intersects these with the concepts each case touches.

A seed run (kind 'seed') may rewrite any concept, so it is reported as touching everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString

from medkb.kb.client import GraphClient

_RUNS: LiteralString = "MATCH (r:Run) RETURN r.id AS id, coalesce(r.status, '') AS status, r.kind AS kind ORDER BY id"

_QUERIES: tuple[LiteralString, ...] = (
    # evidence this run added or changed: the assertion's two ends
    "MATCH (a:Assertion)-[e:EVIDENCE]->() WHERE e.run = $run OR e.changed_run = $run "
    "RETURN DISTINCT a.subject AS a, a.object AS b",
    # what this run changed or deleted (change records): relationships' ends, nodes' ids
    "MATCH (ch:Change {change_run: $run}) RETURN DISTINCT ch.from_id AS a, coalesce(ch.to_id, ch.id) AS b",
    # concepts this run created
    "MATCH (c:Concept) WHERE c.created_run = $run RETURN c.id AS a, null AS b",
    # ontology and summary edges this run created
    "MATCH (x:Concept)-[r:HAS_PHENOTYPE|XREF|IS_A]->(y:Concept) WHERE r.run = $run RETURN x.id AS a, y.id AS b",
)


@dataclass(frozen=True)
class GraphRun:
    id: str
    status: str
    kind: str | None


def graph_runs(client: GraphClient) -> list[GraphRun]:
    return [GraphRun(r["id"], r["status"], r["kind"]) for r in client.read(_RUNS)]


def touched_by(client: GraphClient, run: GraphRun) -> tuple[bool, set[str]]:
    """(everything, concept ids) that one run touched."""
    if run.kind == "seed":
        return True, set()
    ids: set[str] = set()
    for q in _QUERIES:
        for r in client.read(q, {"run": run.id}):
            for v in (r["a"], r["b"]):
                if not v:
                    continue
                # an Assertion id names both ends: 'MESH:D1|INDUCES|MESH:D2'
                ids.update(part for part in str(v).split("|") if ":" in part) if "|" in str(v) else ids.add(str(v))
    return False, ids
