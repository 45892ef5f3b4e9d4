"""The ontology sync: re-seed HPO, MeSH and ICD-10-CM and report what a new release added and pruned.

Run monthly by `dags/medkb_ontology_sync.py`. Seeding (`medkb.kb.seed.seed_all`) is idempotent; a
complete seed deletes the edges that a newer release dropped and keeps concept nodes (extracted
evidence may point at them). This module frames it: a snapshot of concept ids and edge keys before
and after, and the difference as counts plus a few example ids (vocabulary ids, never patient data).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from medkb.kb.client import GraphClient
from medkb.kb.schema import init_schema
from medkb.kb.seed import PARTS, seed_all
from medkb.pipelines import run_status
from medkb.settings import Settings

log = logging.getLogger(__name__)
KIND = "ontology_sync"
EXAMPLES = 5

_IDS = "MATCH (c:Concept) RETURN c.id AS id, labels(c) AS labels"
_EDGE_TYPES = "MATCH (:Concept)-[r]->(:Concept) RETURN DISTINCT type(r) AS type ORDER BY type"
# one type at a time (a label or type formatted into Cypher comes from the graph's own catalogue)
_EDGES = "MATCH (a:Concept)-[r]->(b:Concept) WHERE type(r) = $type RETURN a.id AS a, b.id AS b"


@dataclass(frozen=True)
class Snapshot:
    """Concept ids per label, and per edge type a set of hashed (start, end) keys (compact in memory;
    compared only within one process)."""

    concepts: dict[str, frozenset[str]]
    edges: dict[str, frozenset[int]] = field(default_factory=dict)


def snapshot(client: GraphClient) -> Snapshot:
    concepts: dict[str, set[str]] = {}
    for row in client.read(_IDS):
        for label in row["labels"]:
            if label != "Concept":
                concepts.setdefault(label, set()).add(row["id"])
    edges = {
        r["type"]: frozenset(hash((e["a"], e["b"])) for e in client.read(_EDGES, {"type": r["type"]}))
        for r in client.read(_EDGE_TYPES)
    }
    return Snapshot({k: frozenset(v) for k, v in concepts.items()}, edges)


def diff(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """What the release added and pruned: per label and per edge type, counts and example ids."""
    report: dict[str, Any] = {"concepts_added": {}, "concepts_removed": {}, "edges_added": {},
                              "edges_pruned": {}, "examples_added": {}}
    for label in sorted(set(before.concepts) | set(after.concepts)):
        old, new = before.concepts.get(label, frozenset()), after.concepts.get(label, frozenset())
        if new - old:
            report["concepts_added"][label] = len(new - old)
            report["examples_added"][label] = sorted(new - old)[:EXAMPLES]
        if old - new:
            report["concepts_removed"][label] = len(old - new)
    for rel in sorted(set(before.edges) | set(after.edges)):
        old_e, new_e = before.edges.get(rel, frozenset()), after.edges.get(rel, frozenset())
        if new_e - old_e:
            report["edges_added"][rel] = len(new_e - old_e)
        if old_e - new_e:
            report["edges_pruned"][rel] = len(old_e - new_e)
    report["totals"] = {k: sum(report[k].values()) for k in
                        ("concepts_added", "concepts_removed", "edges_added", "edges_pruned")}
    return report


def begin(settings: Settings, run_id: str, params: dict[str, Any] | None = None) -> str:
    return run_status.start(settings, run_id, KIND, params)


def sync(settings: Settings, run_id: str, parts: Iterable[str] = PARTS, limit: int | None = None,
         icd_prefix: str | None = None) -> dict[str, Any]:
    """Re-seed the chosen parts (all by default; `limit`/`icd_prefix` take a subset, which never
    prunes) and return the seed's counts and the difference it made."""
    with GraphClient(settings.neo4j) as client:
        init_schema(client)  # idempotent; without the id constraints every MERGE scans its label
        before = snapshot(client)
        counts = seed_all(client, settings.data_dir, tuple(parts), limit=limit, icd_prefix=icd_prefix,
                          progress=log.info)
        after = snapshot(client)
    report = diff(before, after)
    log.info("ontology sync %s: %s", run_id, report["totals"])
    return {"seed": counts, "complete": limit is None and icd_prefix is None, **report}


def finish(settings: Settings, run_id: str, counts: dict[str, Any]) -> dict[str, Any]:
    run_status.finish(settings, run_id, counts)
    return counts.get("totals", {})


STAGES = (begin, sync, finish)
