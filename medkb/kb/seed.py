"""`medkb kb seed`: every vocabulary in, in dependency order, each as its own recorded seed run.

Seeding is idempotent (MERGE by CURIE, properties overwritten with the same values), so it is
safe to re-run after an interruption or a package upgrade. A complete seed (no --limit or
--icd-prefix) stamps each source's edges with a content hash of its release and deletes that
source's edges from other releases: what a newer vocabulary dropped leaves the graph. Concept
nodes are kept (extracted evidence may point at them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from medkb.kb.client import GraphClient
from medkb.kb.concepts import EdgeRow, write_edges
from medkb.kb.documents import record_run
from medkb.kb.seed_hpo import seed_hpo, seed_hpo_xrefs
from medkb.kb.seed_icd import seed_icd
from medkb.kb.seed_mesh import seed_mesh
from medkb.sources.mesh import fetch_mesh_files
from medkb.sources.ontologies import OntologyError, fetch_hpo_files

log = logging.getLogger(__name__)

PARTS = ("hpo", "mesh", "icd", "xrefs")


def name_xref_rows(client: GraphClient) -> list[EdgeRow]:
    """MeSH disease -> HPO phenotype where the MeSH name or a synonym equals the HPO name (case-folded)."""
    phenos = client.read("MATCH (p:Phenotype) WHERE p.id STARTS WITH 'HP:' RETURN p.id AS id, p.name AS name")
    by_name: dict[str, list[str]] = {}
    for p in phenos:
        by_name.setdefault((p["name"] or "").casefold(), []).append(p["id"])
    mesh = client.read(
        "MATCH (d:Disease) WHERE d.id STARTS WITH 'MESH:' RETURN d.id AS id, d.name AS name, d.synonyms AS syn"
    )
    edges = set()
    for d in mesh:
        for text in [d["name"] or "", *(d["syn"] or [])]:
            for pid in by_name.get(text.casefold(), []):
                edges.add((d["id"], pid))
    return [EdgeRow(a, b, "name-match", (("via", "exact name or synonym"),)) for a, b in sorted(edges)]


def seed_all(
    client: GraphClient,
    data_dir: Path,
    parts: tuple[str, ...] = PARTS,
    limit: int | None = None,
    icd_prefix: str | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> dict[str, int]:
    """Seed the chosen parts; `limit`/`icd_prefix` take a small subset (tests, demos)."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown seed part(s) {sorted(unknown)}; choose from {PARTS}")
    counts: dict[str, int] = {}
    files = fetch_hpo_files(data_dir) if {"hpo", "xrefs"} & set(parts) else {}
    mesh_files = None
    if "mesh" in parts:
        try:
            mesh_files = fetch_mesh_files(data_dir)
        except OntologyError as exc:
            log.warning("MeSH tables unavailable (%s): seeding the packages' MeSH concepts only", exc)
    steps: list[tuple[str, Callable[[], dict[str, int]]]] = [
        ("hpo", lambda: seed_hpo(client, files, "seed-hpo", limit=limit)),
        ("mesh", lambda: seed_mesh(client, "seed-mesh", limit=limit, mesh_files=mesh_files)),
        ("icd", lambda: seed_icd(client, "seed-icd10cm", prefix=icd_prefix)),
        ("xrefs", lambda: {
            "hpo_xrefs": seed_hpo_xrefs(client, files, "seed-xrefs", limit=limit),
            "name_xrefs": write_edges(client, "XREF", name_xref_rows(client), "seed-xrefs",
                                      complete=("name-match",) if limit is None else ()),
        }),
    ]
    for name, step in steps:
        if name not in parts:
            continue
        progress(f"seeding {name}")
        part_counts = step()
        counts.update(part_counts)
        run_id = {"hpo": "seed-hpo", "mesh": "seed-mesh", "icd": "seed-icd10cm", "xrefs": "seed-xrefs"}[name]
        record_run(client, run_id, {"kind": "seed", "status": "succeeded", **part_counts})
    return counts


def graph_counts(client: GraphClient) -> dict[str, dict[str, int]]:
    """Nodes per label and relationships per type (bookkeeping labels included, so nothing hides)."""
    labels = client.read("CALL db.labels() YIELD label CALL (label) { "
                         "MATCH (n) WHERE label IN labels(n) RETURN count(n) AS n } RETURN label, n ORDER BY label")
    rels = client.read("MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type")
    return {"labels": {r["label"]: r["n"] for r in labels}, "relationships": {r["type"]: r["n"] for r in rels}}
