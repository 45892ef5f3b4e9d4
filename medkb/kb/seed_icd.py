"""ICD-10-CM (package `simple-icd-10-cm`) into the graph: every chapter, block and code as a
`Disease` with a `kind`, and IS_A from each item to its parent.

Chapters are numbered ("4"), so their CURIE is `ICD10CM:4` with kind "chapter"; blocks keep their
range ("ICD10CM:E08-E13"), codes their dotted form ("ICD10CM:E11.9").
"""

from __future__ import annotations

import importlib.metadata

from medkb.kb.client import GraphClient
from medkb.kb.concepts import ConceptRow, EdgeRow, write_concepts, write_edges

SOURCE = "icd10cm"


def _kind(icd: object, code: str) -> str:
    if icd.is_chapter(code):  # type: ignore[attr-defined]
        return "chapter"
    if icd.is_block(code):  # type: ignore[attr-defined]
        return "block"
    return "category" if icd.is_category(code) else "subcategory"  # type: ignore[attr-defined]


def icd_concepts(prefix: str | None = None) -> tuple[list[ConceptRow], list[EdgeRow]]:
    """All items, or (for tests) only codes starting with `prefix` plus their ancestors."""
    import simple_icd_10_cm as icd  # slow import (parses the XML): only when seeding

    version = importlib.metadata.version("simple-icd-10-cm")
    codes = icd.get_all_codes(True)
    if prefix is not None:
        chosen = {c for c in codes if c.startswith(prefix) and not icd.is_chapter_or_block(c)}
        for c in list(chosen):
            chosen.update(icd.get_ancestors(c))
        codes = [c for c in codes if c in chosen]
    concepts, edges = [], []
    for code in codes:
        cid = f"ICD10CM:{code}"
        concepts.append(
            ConceptRow(
                id=cid, label="Disease", name=icd.get_description(code), source=SOURCE, version=version,
                synonyms=tuple(icd.get_inclusion_term(code)), extra=(("kind", _kind(icd, code)),),
            )
        )
        parent = icd.get_parent(code)
        if parent:
            edges.append(EdgeRow(cid, f"ICD10CM:{parent}", SOURCE))
    return concepts, edges


def seed_icd(client: GraphClient, run_id: str, prefix: str | None = None, batch_size: int = 5000) -> dict[str, int]:
    concepts, edges = icd_concepts(prefix)
    return {
        "icd10cm": write_concepts(client, concepts, run_id, batch_size),
        "icd10cm_is_a": write_edges(client, "IS_A", edges, run_id, complete=(SOURCE,) if prefix is None else ()),
    }
