"""Case codes to graph concepts: RxNorm drugs to MeSH chemicals, SNOMED CT conditions to MeSH
diseases and HPO terms.

No package here maps across these vocabularies, so the order is: the curated table
(library/mappings.yaml) for the codes the rules use; hp.obo's SNOMED CT cross-references (the
graph's Phenotype `xrefs`); then exact, case-folded names and synonyms in the graph (a drug's
ingredient names parsed from its RxNorm name; a condition's name without its SNOMED semantic tag),
and from an HPO term to MeSH diseases through the graph's XREF edges. Each answer says how it was
found, so an explanation can cite it. One mapper per run caches every lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from medkb.kb.client import GraphClient
from medkb.rules.case import Coded

LIBRARY = Path(__file__).resolve().parent / "library"
_SALTS = {"hydrochloride", "sodium", "potassium", "calcium", "maleate", "besylate", "succinate", "tartrate",
          "citrate", "sulfate", "phosphate", "acetate", "bromide", "mesylate", "fumarate", "hyclate", "monohydrate",
          "dihydrate", "hcl", "magnesium"}
_FORM_WORDS = re.compile(r"\b(oral|tablet|capsule|injection|solution|suspension|extended|release|chewable|"
                         r"auto-injector|prefilled|syringe|topical|cream|inhaler|patch|kit|pack)\b.*$", re.I)
_TAG = re.compile(r"\s*\((disorder|finding|situation|morphologic abnormality|procedure)\)\s*$", re.I)


@dataclass(frozen=True)
class Mapped:
    concept_id: str
    name: str
    via: str  # curated | hp.obo snomed xref | name | synonym | xref from HPO


@lru_cache(maxsize=1)
def curated() -> dict[str, dict[str, list[str]]]:
    data = yaml.safe_load((LIBRARY / "mappings.yaml").read_text(encoding="utf-8")) or {}
    out: dict[str, dict[str, list[str]]] = {}
    for system in ("rxnorm", "snomed"):
        out[system] = {str(k): ([v] if isinstance(v, str) else list(v)) for k, v in (data.get(system) or {}).items()}
    return out


def ingredient_names(display: str) -> list[str]:
    """RxNorm clinical drug names to ingredient names, most specific first:
    'Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet' -> ['amoxicillin', 'clavulanate'];
    '24 HR Metformin hydrochloride 500 MG ...' -> ['metformin hydrochloride', 'metformin']."""
    text = re.sub(r"^\s*(\d+\s*HR|NDA\d+|\d+(\.\d+)?\s*(ML|MG|ACTUAT))\s+", "", display, flags=re.I)
    text = re.sub(r"^\s*\d+(\.\d+)?\s*(ML|MG|ACTUAT)\s+", "", text, flags=re.I)
    names: list[str] = []
    for part in re.split(r"\s/\s|\s+and\s+", text):
        part = _FORM_WORDS.sub("", part)
        part = re.split(r"\s\d", part, maxsplit=1)[0]
        part = re.sub(r"\[.*?\]|\(.*?\)", "", part).strip(" ,.-").casefold()
        if not part or part[0].isdigit():
            continue
        names.append(part)
        bare = " ".join(w for w in part.split() if w not in _SALTS)
        if bare and bare != part:
            names.append(bare)
    return list(dict.fromkeys(names))


def condition_name(display: str) -> str:
    return _TAG.sub("", display).strip().casefold()


_LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/]|&&|\|\|)')

_BY_NAME = """
CALL db.index.fulltext.queryNodes('concept_names', $q) YIELD node, score
WITH node, score LIMIT 50
WHERE $label IN labels(node) AND node.id STARTS WITH $prefix
WITH node, toLower(node.name) = $name AS exact, $name IN [s IN coalesce(node.synonyms, []) | toLower(s)] AS syn
WHERE exact OR syn
RETURN node.id AS id, node.name AS name, exact ORDER BY exact DESC, id LIMIT 5
"""


class ConceptMapper:
    """Maps case codes to graph concept ids; every lookup is cached for the mapper's lifetime."""

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph
        self._names: dict[tuple[str, str], list[Mapped]] = {}
        self._snomed_hpo: dict[str, list[Mapped]] | None = None
        self._hpo_mesh: dict[str, list[Mapped]] = {}
        self._known: dict[str, str | None] = {}

    def _name(self, concept_id: str) -> str | None:
        if concept_id not in self._known:
            rows = self.graph.read("MATCH (c:Concept {id: $id}) RETURN c.name AS name", {"id": concept_id})
            self._known[concept_id] = (rows[0]["name"] or concept_id) if rows else None
        return self._known[concept_id]

    def _by_name(self, name: str, label: str, prefix: str) -> list[Mapped]:
        key = (f"{label}:{prefix}", name)
        if key not in self._names:
            q = '"' + _LUCENE_SPECIAL.sub(r"\\\1", name) + '"'
            rows = self.graph.read(_BY_NAME, {"q": q, "label": label, "prefix": prefix, "name": name})
            self._names[key] = [Mapped(r["id"], r["name"], "name" if r["exact"] else "synonym") for r in rows]
        return self._names[key]

    def _curated(self, system: str, code: str | None, prefix: str) -> list[Mapped]:
        out = []
        for cid in curated()[system].get(code or "", []):
            if cid.startswith(prefix) and (name := self._name(cid)) is not None:
                out.append(Mapped(cid, name, "curated"))
        return out

    def chemicals(self, med: Coded) -> list[Mapped]:
        """MeSH chemicals for one medication (its ingredients)."""
        found = self._curated("rxnorm", med.code, "MESH:")
        if found:
            return found
        out: list[Mapped] = []
        for name in ingredient_names(med.display):
            hits = self._by_name(name, "Chemical", "MESH:")
            if hits:
                out.extend(hits[:1])
        return list(dict.fromkeys(out))

    def snomed_phenotypes(self, code: str | None) -> list[Mapped]:
        """HPO terms whose hp.obo record cross-references this SNOMED CT concept."""
        if self._snomed_hpo is None:
            rows = self.graph.read(
                "MATCH (p:Phenotype) WHERE any(x IN coalesce(p.xrefs, []) WHERE x STARTS WITH 'SNOMEDCT_US:') "
                "RETURN p.id AS id, p.name AS name, [x IN p.xrefs WHERE x STARTS WITH 'SNOMEDCT_US:'] AS xs")
            table: dict[str, list[Mapped]] = {}
            for r in rows:
                for x in r["xs"]:
                    table.setdefault(x.split(":", 1)[1], []).append(Mapped(r["id"], r["name"], "hp.obo snomed xref"))
            self._snomed_hpo = table
        return self._snomed_hpo.get(code or "", [])

    def _mesh_of_hpo(self, hpo_id: str) -> list[Mapped]:
        if hpo_id not in self._hpo_mesh:
            rows = self.graph.read("MATCH (d:Disease)-[:XREF]-(p:Phenotype {id: $id}) WHERE d.id STARTS WITH 'MESH:' "
                                   "RETURN DISTINCT d.id AS id, d.name AS name ORDER BY id", {"id": hpo_id})
            self._hpo_mesh[hpo_id] = [Mapped(r["id"], r["name"], "xref from HPO") for r in rows]
        return self._hpo_mesh[hpo_id]

    def condition_concepts(self, cond: Coded) -> tuple[list[Mapped], list[Mapped]]:
        """(MeSH diseases, HPO terms) for one SNOMED CT condition."""
        diseases = self._curated("snomed", cond.code, "MESH:")
        phenos = self._curated("snomed", cond.code, "HP:")
        if not phenos:
            phenos = list(self.snomed_phenotypes(cond.code))
        name = condition_name(cond.display)
        if not phenos and name:
            phenos = self._by_name(name, "Phenotype", "HP:")[:1]
        if not diseases and name:
            diseases = self._by_name(name, "Disease", "MESH:")[:1]
        if not diseases:
            for p in phenos:
                diseases.extend(self._mesh_of_hpo(p.concept_id))
        return list(dict.fromkeys(diseases)), list(dict.fromkeys(phenos))


def coverage(mapper: ConceptMapper, meds: list[Coded], conds: list[Coded]) -> dict[str, Any]:
    """How much of a cohort's drugs and conditions reach the graph: distinct codes and records."""
    def share(items: list[Coded], hit: Any) -> dict[str, Any]:
        codes: dict[str, bool] = {}
        for it in items:
            key = it.code or it.display
            if key not in codes:
                codes[key] = bool(hit(it))
        n_rec = sum(1 for it in items if codes[it.code or it.display])
        return {"codes": len(codes), "codes_mapped": sum(codes.values()),
                "code_share": round(sum(codes.values()) / len(codes), 3) if codes else None,
                "records": len(items), "record_share": round(n_rec / len(items), 3) if items else None}

    return {"rxnorm_to_mesh_chemical": share(meds, mapper.chemicals),
            "snomed_to_mesh_disease": share(conds, lambda c: mapper.condition_concepts(c)[0]),
            "snomed_to_hpo": share(conds, lambda c: mapper.condition_concepts(c)[1])}
