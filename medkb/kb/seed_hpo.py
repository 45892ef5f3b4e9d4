"""HPO into the graph: Phenotype terms, IS_A, OMIM/ORPHA/DECIPHER diseases, HAS_PHENOTYPE, xrefs.

`phenotype.hpoa` has one row per (disease, term, reference); the graph keeps one HAS_PHENOTYPE
edge per (disease, term), with the first non-empty frequency and onset and every evidence code.
Negated rows (qualifier NOT) are counted, not loaded: the edge means "has", never "has not".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from medkb.kb.client import GraphClient
from medkb.kb.concepts import ConceptRow, EdgeRow, existing_ids, write_concepts, write_edges
from medkb.sources.ontologies import HpoAnnotation, OboTerm, read_hpoa, read_obo

# hp.obo xref prefixes that name a vocabulary in the graph, and the CURIE prefix used there.
XREF_PREFIXES = {"ORPHA": "ORPHA", "ICD-10": "ICD10CM", "ICD10": "ICD10CM"}


def phenotype_rows(terms: Iterable[OboTerm]) -> list[ConceptRow]:
    return [
        ConceptRow(
            id=t.id, label="Phenotype", name=t.name, source=t.source, version=t.version,
            synonyms=t.synonyms, definition=t.definition, xrefs=t.xrefs,
            extra=(("alt_ids", sorted(t.alt_ids)),),
        )
        for t in terms
    ]


def is_a_rows(terms: Iterable[OboTerm]) -> list[EdgeRow]:
    return [EdgeRow(t.id, parent, t.source) for t in terms for parent in t.parents]


def xref_rows(terms: Iterable[OboTerm]) -> list[EdgeRow]:
    out = []
    for t in terms:
        for x in t.xrefs:
            prefix, _, local = x.partition(":")
            if prefix in XREF_PREFIXES and local:
                out.append(EdgeRow(t.id, f"{XREF_PREFIXES[prefix]}:{local}", "hpo", (("via", x),)))
    return out


def disease_rows(annotations: Iterable[HpoAnnotation]) -> list[ConceptRow]:
    seen: dict[str, ConceptRow] = {}
    for a in annotations:
        if a.disease_id not in seen:
            seen[a.disease_id] = ConceptRow(
                id=a.disease_id, label="Disease", name=a.disease_name, source=a.source, version=a.version
            )
    return list(seen.values())


def has_phenotype_rows(annotations: Iterable[HpoAnnotation]) -> tuple[list[EdgeRow], int]:
    """Aggregate rows per (disease, term); return the edges and the number of negated rows skipped."""
    grouped: dict[tuple[str, str], list[HpoAnnotation]] = defaultdict(list)
    negated = 0
    for a in annotations:
        if a.negated:
            negated += 1
            continue
        grouped[(a.disease_id, a.hpo_id)].append(a)
    edges = []
    for (disease, term), rows in grouped.items():
        rows.sort(key=lambda r: (r.reference, r.frequency, r.onset))
        frequency = next((r.frequency for r in rows if r.frequency), "")
        onset = next((r.onset for r in rows if r.onset), "")
        props = (
            ("frequency", frequency),
            ("onset", onset),
            ("evidence", sorted({r.evidence for r in rows if r.evidence})),
            ("aspect", rows[0].aspect),
            ("references", sorted({r.reference for r in rows if r.reference})),
            ("version", rows[0].version),
        )
        edges.append(EdgeRow(disease, term, rows[0].source, props))
    return edges, negated


def seed_hpo(
    client: GraphClient, files: dict[str, Path], run_id: str, limit: int | None = None, batch_size: int = 5000
) -> dict[str, int]:
    """Load HPO; `limit` keeps the first N terms (and the annotations that use them) for tests."""
    terms = list(read_obo(files["hp.obo"]))
    if limit is not None:
        terms = terms[:limit]
    term_ids = {t.id for t in terms}
    annotations = [a for a in read_hpoa(files["phenotype.hpoa"]) if a.hpo_id in term_ids]
    counts = {"phenotypes": write_concepts(client, phenotype_rows(terms), run_id, batch_size)}
    counts["diseases"] = write_concepts(client, disease_rows(annotations), run_id, batch_size)
    isa = [e for e in is_a_rows(terms) if e.end in term_ids]
    complete = ("hpo",) if limit is None else ()
    counts["is_a"] = write_edges(client, "IS_A", isa, run_id, batch_size * 2, complete=complete)
    edges, counts["negated_skipped"] = has_phenotype_rows(annotations)
    counts["has_phenotype"] = write_edges(client, "HAS_PHENOTYPE", edges, run_id, batch_size * 2,
                                          complete=("hpoa",) if limit is None else ())
    return counts


def seed_hpo_xrefs(client: GraphClient, files: dict[str, Path], run_id: str, limit: int | None = None) -> int:
    """Cross-references from HPO terms to ORPHA and ICD-10-CM nodes; run after every vocabulary is in."""
    terms = list(read_obo(files["hp.obo"]))
    if limit is not None:
        terms = terms[:limit]
    rows = xref_rows(terms)
    present = existing_ids(client, [r.end for r in rows] + [r.start for r in rows])
    rows = [r for r in rows if r.start in present and r.end in present]
    return write_edges(client, "XREF", rows, run_id, complete=("hpo",) if limit is None else ())
