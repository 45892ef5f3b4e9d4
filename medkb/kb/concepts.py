"""Writing ontology concepts and the edges between them; the seeders hand rows to these.

A concept row is a frozen record with its provenance (source, version); the writer knows nothing of
where it came from. Every concept node carries `Concept` plus its kind, and `created_run`: the
run (a seed or a nightly refresh) that first wrote it, so a rollback can remove exactly that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, LiteralString

from medkb.kb.client import GraphClient
from medkb.kb.schema import CONCEPT_LABELS


@dataclass(frozen=True)
class ConceptRow:
    id: str  # CURIE
    label: str  # one of CONCEPT_LABELS
    name: str
    source: str  # "hpo", "mesh-diseases", "drug-ner", "icd10cm"
    version: str
    synonyms: tuple[str, ...] = ()
    definition: str = ""
    xrefs: tuple[str, ...] = ()
    extra: tuple[tuple[str, Any], ...] = field(default=())  # e.g. (("tree_numbers", [...]),)

    def __post_init__(self) -> None:
        if self.label not in CONCEPT_LABELS:
            raise ValueError(f"concept {self.id}: label {self.label!r} is not one of {CONCEPT_LABELS}")
        if ":" not in self.id:
            raise ValueError(f"concept {self.id!r} ({self.source}): id is not a CURIE (PREFIX:local)")

    def as_row(self) -> dict[str, Any]:
        synonyms = sorted({s for s in self.synonyms if s and s != self.name})
        props: dict[str, Any] = {
            "name": self.name,
            "synonyms": synonyms,
            "synonyms_text": " | ".join(synonyms),
            "source": self.source,
            "version": self.version,
            "xrefs": sorted(set(self.xrefs)),
        }
        if self.definition:
            props["definition"] = self.definition
        props.update(dict(self.extra))
        return {"id": self.id, "label": self.label, "props": props}


@dataclass(frozen=True)
class EdgeRow:
    """An ontology edge between two concepts (by id); props are the edge's properties."""

    start: str
    end: str
    source: str
    props: tuple[tuple[str, Any], ...] = ()

    def as_row(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "props": {"source": self.source, **dict(self.props)}}


_MERGE_CONCEPTS: LiteralString = """
UNWIND $rows AS row
MERGE (c:Concept {id: row.id})
ON CREATE SET c.created_run = $run
SET c:$(row.label)
SET c += row.props
"""

# One literal statement per edge type: Cypher cannot take a relationship type as a parameter.
_EDGE_STATEMENTS: dict[str, LiteralString] = {
    "IS_A": """
UNWIND $rows AS row
MATCH (a:Concept {id: row.start}) MATCH (b:Concept {id: row.end})
MERGE (a)-[r:IS_A]->(b) ON CREATE SET r.run = $run
SET r += row.props
""",
    "HAS_PHENOTYPE": """
UNWIND $rows AS row
MATCH (a:Concept {id: row.start}) MATCH (b:Concept {id: row.end})
MERGE (a)-[r:HAS_PHENOTYPE]->(b) ON CREATE SET r.run = $run
SET r += row.props
""",
    "XREF": """
UNWIND $rows AS row
MATCH (a:Concept {id: row.start}) MATCH (b:Concept {id: row.end})
MERGE (a)-[r:XREF]->(b) ON CREATE SET r.run = $run
SET r += row.props
""",
}
EDGE_TYPES = tuple(_EDGE_STATEMENTS)

# After a complete seed of one source: its edges of that type not stamped with this release are
# ones the new vocabulary release dropped. One literal statement per type (see above).
_PRUNE_STATEMENTS: dict[str, LiteralString] = {
    "IS_A": "MATCH ()-[r:IS_A {source: $source}]->() WHERE coalesce(r.release, '') <> $release "
            "WITH r LIMIT 10000 DELETE r",
    "HAS_PHENOTYPE": "MATCH ()-[r:HAS_PHENOTYPE {source: $source}]->() WHERE coalesce(r.release, '') <> $release "
                     "WITH r LIMIT 10000 DELETE r",
    "XREF": "MATCH ()-[r:XREF {source: $source}]->() WHERE coalesce(r.release, '') <> $release "
            "WITH r LIMIT 10000 DELETE r",
}


def release_of(rows: list[dict[str, Any]]) -> str:
    """A short content hash of one source's edge rows: re-seeding the same release gives the same
    stamp (the graph stays identical), a changed release a new one."""
    blob = json.dumps(rows, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def write_concepts(
    client: GraphClient, concepts: Iterable[ConceptRow], run_id: str, batch_size: int = 5000
) -> int:
    """Merge concept nodes (sorted by id, so parallel writers lock in the same order); return how many."""
    rows = sorted((c.as_row() for c in concepts), key=lambda r: r["id"])
    client.write_batches(_MERGE_CONCEPTS, rows, batch_size=batch_size, run=run_id)
    return len(rows)


def write_edges(
    client: GraphClient, rel_type: str, edges: Iterable[EdgeRow], run_id: str, batch_size: int = 10000,
    complete: Iterable[str] = (),
) -> int:
    """Merge edges of one type between existing concepts; edges to unknown ids are skipped by MATCH.

    `complete` names the sources whose edges of this type are all here (a full seed, not a
    --limit subset). Their edges are stamped with the source's release (release_of), and their
    edges of this type from another release, which a newer vocabulary dropped, are deleted.
    """
    if rel_type not in _EDGE_STATEMENTS:
        raise ValueError(f"edge type {rel_type!r} is not one of {EDGE_TYPES}")
    rows = sorted((e.as_row() for e in edges), key=lambda r: (r["start"], r["end"]))
    by_source: dict[str, list[dict[str, Any]]] = {src: [] for src in complete}
    for r in rows:
        if r["props"]["source"] in by_source:
            by_source[r["props"]["source"]].append(r)
    releases = {src: release_of(part) for src, part in by_source.items()}
    for r in rows:
        if r["props"]["source"] in releases:
            r["props"]["release"] = releases[r["props"]["source"]]
    client.write_batches(_EDGE_STATEMENTS[rel_type], rows, batch_size=batch_size, run=run_id)
    for source, release in sorted(releases.items()):
        while client.write(_PRUNE_STATEMENTS[rel_type], {"source": source, "release": release})["relationships_deleted"]:
            pass
    return len(rows)


def existing_ids(client: GraphClient, ids: Iterable[str]) -> set[str]:
    """Which of these concept ids are in the graph (for cross-references that need both ends)."""
    wanted = sorted(set(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 20000):
        rows = client.read(
            "UNWIND $ids AS id MATCH (c:Concept {id: id}) RETURN c.id AS id", {"ids": wanted[start : start + 20000]}
        )
        found.update(r["id"] for r in rows)
    return found
