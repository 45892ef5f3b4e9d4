"""A canonical dump of the knowledge in the graph: counts and a hash of sorted properties.

Two graphs with the same dump hold the same facts, whatever their internal ids or the order the
facts arrived in. Bookkeeping nodes (Run, Change) are left out: a rollback keeps its Run node
(status rolled_back) on purpose.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from medkb.kb.client import GraphClient

_NODES = """
MATCH (n) WHERE NOT n:Run AND NOT n:Change
RETURN labels(n) AS labels, properties(n) AS props
"""
_RELS = """
MATCH (a)-[r]->(b) WHERE NOT a:Run AND NOT a:Change AND NOT b:Run AND NOT b:Change
RETURN type(r) AS type, a.id AS start, b.id AS end, properties(r) AS props
"""


def _line(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def dump_lines(client: GraphClient) -> list[str]:
    nodes = [_line({"labels": sorted(r["labels"]), "props": r["props"]}) for r in client.read(_NODES)]
    rels = [_line(r) for r in client.read(_RELS)]
    return sorted(nodes) + sorted(rels)


def canonical_dump(client: GraphClient) -> dict[str, Any]:
    """{"labels": {label: n}, "relationships": {type: n}, "sha256": hash of the sorted lines}."""
    labels: dict[str, int] = {}
    rels: dict[str, int] = {}
    digest = hashlib.sha256()
    for line in dump_lines(client):
        obj = json.loads(line)
        if "labels" in obj:
            for lab in obj["labels"]:
                labels[lab] = labels.get(lab, 0) + 1
        else:
            rels[obj["type"]] = rels.get(obj["type"], 0) + 1
        digest.update(line.encode())
        digest.update(b"\n")
    return {"labels": dict(sorted(labels.items())), "relationships": dict(sorted(rels.items())),
            "sha256": digest.hexdigest()}
